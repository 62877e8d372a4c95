// An HTTP/2 server on Go's net/http (the same HTTP/2 server code, x/net/http2, that Headscale's
// control server runs) for tests/control_h2_go_test.ts: it makes a throwaway CA and a certificate
// for 127.0.0.1, prints {"port":…,"ca":"<PEM>"} on one line, and serves over TLS with ALPN h2:
//
//	POST /machine/register  echoes the body length, the Ts-Lb values and the protocol as JSON
//	POST /machine/map       streams 30 × 100,000 bytes, flushing each, then ends
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "warren test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, _ := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, _ := x509.CreateCertificate(rand.Reader, leaf, ca, &leafKey.PublicKey, caKey)

	mux := http.NewServeMux()
	mux.HandleFunc("/machine/register", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"proto": r.Proto, "n": len(b), "lb": r.Header.Values("Ts-Lb"), "host": r.Host,
		})
	})
	mux.HandleFunc("/machine/map", func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		chunk := strings.Repeat("m", 100000)
		for i := 0; i < 30; i++ {
			io.WriteString(w, chunk)
			w.(http.Flusher).Flush()
		}
	})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}},
		NextProtos:   []string{"h2"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	line, _ := json.Marshal(map[string]any{"port": ln.Addr().(*net.TCPAddr).Port, "ca": string(caPEM)})
	fmt.Println(string(line))
	fmt.Fprintln(os.Stderr, (&http.Server{Handler: mux}).Serve(ln))
}
