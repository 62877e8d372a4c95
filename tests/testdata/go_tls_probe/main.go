// Command go_tls_probe dials a TLS server with Go's crypto/tls — the TLS stack tailscaled's
// DERP client uses — and prints one JSON line per configuration: the version and suite
// agreed, the certificates received (derper's meta certificate follows the chain), and the
// status of an HTTP request over the connection. Written for tests/derp_tls_go_test.ts.
//
// Usage: go_tls_probe HOST:PORT PATH
package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"time"
)

type result struct {
	Config  string   `json:"config"`
	Error   string   `json:"error,omitempty"`
	Version uint16   `json:"version,omitempty"`
	Suite   string   `json:"suite,omitempty"`
	Certs   []string `json:"certs,omitempty"`
	Status  int      `json:"status,omitempty"`
}

func main() {
	addr, path := os.Args[1], os.Args[2]
	configs := []struct {
		name string
		cfg  *tls.Config
	}{
		{"default", &tls.Config{}},
		// A P-256 key share first: the server must ask again for X25519 (HelloRetryRequest).
		{"p256-first", &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP256, tls.X25519}}},
		{"tls12-only", &tls.Config{MaxVersion: tls.VersionTLS12}},
	}
	enc := json.NewEncoder(os.Stdout)
	for _, c := range configs {
		c.cfg.InsecureSkipVerify = true // the test pins nothing; it checks the handshake
		r := result{Config: c.name}
		conn, err := tls.DialWithDialer(&netDialer, "tcp", addr, c.cfg)
		if err != nil {
			r.Error = err.Error()
			enc.Encode(r)
			continue
		}
		st := conn.ConnectionState()
		r.Version, r.Suite = st.Version, tls.CipherSuiteName(st.CipherSuite)
		for _, cert := range st.PeerCertificates {
			r.Certs = append(r.Certs, cert.Subject.CommonName)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		req, _ := http.NewRequest("GET", "https://derp"+path, nil)
		if err := req.Write(conn); err != nil {
			r.Error = err.Error()
		} else if resp, err := http.ReadResponse(bufio.NewReader(conn), req); err != nil {
			r.Error = err.Error()
		} else {
			r.Status = resp.StatusCode
		}
		conn.Close()
		enc.Encode(r)
	}
}

var netDialer = net.Dialer{Timeout: 5 * time.Second}
