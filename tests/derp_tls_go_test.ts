/**
 * warren's TLS 1.3 DERP server against Go's crypto/tls, the TLS stack of tailscaled's DERP
 * client (tests/testdata/go_tls_probe, built with the Debian Go toolchain): the default
 * handshake, one where Go offers a P-256 key share first (the server asks again for X25519),
 * derper's meta certificate after the chain, HTTP over the connection, and a TLS 1.2-only
 * client refused with protocol_version.
 */
import assert from "node:assert/strict";
import { generateSelfSignedCert } from "../src/derp/selfsigned_cert.ts";
import { startTestServer } from "../src/derp/testing.ts";
import { generateMetaCert, withMetaCert } from "../src/derp/meta_cert.ts";
import { PROTOCOL_VERSION } from "../src/derp/constants.ts";
import { generateNodePrivate, publicFromPrivate } from "../src/key/node_key.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import { buildGo, goSkip } from "./_go.ts";

const PROBE_SRC = new URL("./testdata/go_tls_probe/", import.meta.url).pathname;

interface ProbeLine {
  config: string;
  error?: string;
  version?: number;
  suite?: string;
  certs?: string[];
  status?: number;
}

testOrSkip(import.meta, goSkip(), {
  name:
    "Go's crypto/tls client completes TLS 1.3 with warren's DERP server, with and without a HelloRetryRequest",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "warren-go-tls-" });
    const cert = await generateSelfSignedCert("127.0.0.1");
    const privateKey = generateNodePrivate();
    // As `warren tun derp` serves it: derper's meta certificate after the chain.
    const chain = withMetaCert(
      cert.certPem,
      await generateMetaCert(publicFromPrivate(privateKey), PROTOCOL_VERSION),
    );
    const ts = startTestServer({ privateKey, tls: { cert: chain, key: cert.keyPem } });
    try {
      const bin = await buildGo(PROBE_SRC, dir, "go_tls_probe");
      const out = await new Deno.Command(bin, {
        args: [`127.0.0.1:${ts.port}`, "/derp/probe"],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(30_000),
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const lines = new TextDecoder().decode(out.stdout).trim().split("\n")
        .map((l) => JSON.parse(l) as ProbeLine);
      const byConfig = Object.fromEntries(lines.map((l) => [l.config, l]));
      for (const name of ["default", "p256-first"]) {
        const r = byConfig[name];
        assert.equal(r.error, undefined, `${name}: ${r.error}`);
        assert.equal(r.version, 0x0304, `${name}: TLS 1.3`);
        assert.match(r.suite ?? "", /^TLS_(CHACHA20_POLY1305|AES_128_GCM)_SHA256$/);
        assert.equal(r.status, 200, `${name}: /derp/probe over the connection`);
        assert.equal(r.certs?.length, 2, `${name}: the chain and derper's meta certificate`);
        assert.match(r.certs![1], /^derpkey[0-9a-f]{64}$/);
      }
      assert.match(byConfig["tls12-only"].error ?? "", /protocol version not supported/);
    } finally {
      await ts.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
