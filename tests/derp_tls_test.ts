import assert from "node:assert/strict";
import { toHex } from "../src/bytes/hex.ts";
import { dialDerp } from "../src/derp/dial.ts";
import { generateSelfSignedCert } from "../src/derp/selfsigned_cert.ts";
import { recvType, startTestServer } from "../src/derp/testing.ts";
import { unpem } from "../src/derp/der.ts";
import { generateNodePrivate, publicFromPrivate } from "../src/key/node_key.ts";
import { generateMetaCert, withMetaCert } from "../src/derp/meta_cert.ts";
import { PROTOCOL_VERSION } from "../src/derp/constants.ts";

const cert = await generateSelfSignedCert("derp.test");
const ipCert = await generateSelfSignedCert("127.0.0.1");

Deno.test("generateSelfSignedCert() makes a PEM pair whose pin is the DER's SHA-256", async () => {
  const der = unpem(cert.certPem, "CERTIFICATE");
  assert.deepEqual(der, cert.der);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(der)));
  assert.equal(
    cert.pin,
    "sha256-raw:" + toHex(digest),
  );
  assert.match(cert.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
});

Deno.test("TLS with a pinned self-signed certificate: right pin connects, wrong pin fails", async () => {
  const ts = startTestServer({ tls: { cert: cert.certPem, key: cert.keyPem } });
  try {
    const a = await dialDerp(ts.url, { privateKey: generateNodePrivate(), certName: cert.pin });
    const b = await dialDerp(ts.url, { privateKey: generateNodePrivate(), certName: cert.pin });
    try {
      await recvType(b, "serverInfo");
      await a.send(b.publicKey, new TextEncoder().encode("over tls"));
      assert.equal(new TextDecoder().decode((await recvType(b, "packet")).data), "over tls");
    } finally {
      a.close();
      b.close();
    }
    const wrong = "sha256-raw:" + "00".repeat(32);
    await assert.rejects(
      () => dialDerp(ts.url, { privateKey: generateNodePrivate(), certName: wrong }),
      /does not match the pinned one/,
    );
    // Normal verification refuses a self-signed certificate.
    await assert.rejects(() => dialDerp(ts.url, { privateKey: generateNodePrivate() }));
  } finally {
    await ts.close();
  }
});

Deno.test("TLS insecure-for-tests and CA-verified modes both connect", async () => {
  const ts = startTestServer({ tls: { cert: ipCert.certPem, key: ipCert.keyPem } });
  try {
    const a = await dialDerp(ts.url, { privateKey: generateNodePrivate(), insecureForTests: true });
    assert.equal((await recvType(a, "serverInfo")).type, "serverInfo");
    a.close();
    const b = await dialDerp(ts.url, {
      privateKey: generateNodePrivate(),
      caCerts: [ipCert.certPem],
    });
    assert.equal((await recvType(b, "serverInfo")).type, "serverInfo");
    b.close();
  } finally {
    await ts.close();
  }
});

Deno.test("HTTPS endpoints work on the TLS listener", async () => {
  const ts = startTestServer({ tls: { cert: ipCert.certPem, key: ipCert.keyPem } });
  const client = Deno.createHttpClient({ caCerts: [ipCert.certPem] });
  try {
    const r = await fetch(`https://127.0.0.1:${ts.port}/derp/latency-check`, { client });
    await r.body?.cancel();
    assert.equal(r.status, 200);
  } finally {
    client.close();
    await ts.close();
  }
});

Deno.test("TLS 1.3 with a meta certificate: the pinned client fast-starts and traffic flows", async () => {
  const privateKey = generateNodePrivate();
  const meta = await generateMetaCert(publicFromPrivate(privateKey), PROTOCOL_VERSION);
  const ts = startTestServer({
    privateKey,
    tls: { cert: withMetaCert(cert.certPem, meta), key: cert.keyPem },
  });
  try {
    const a = await dialDerp(ts.url, { privateKey: generateNodePrivate(), certName: cert.pin });
    const b = await dialDerp(ts.url, { privateKey: generateNodePrivate(), certName: cert.pin });
    try {
      assert.deepEqual(a.serverPublic, publicFromPrivate(privateKey));
      await recvType(a, "serverInfo");
      await recvType(b, "serverInfo");
      assert.equal(ts.server.metrics.fastStarts, 2);
      await a.send(b.publicKey, new TextEncoder().encode("fast"));
      assert.equal(new TextDecoder().decode((await recvType(b, "packet")).data), "fast");
    } finally {
      a.close();
      b.close();
    }
  } finally {
    await ts.close();
  }
});

Deno.test("TLS without a meta certificate: the client does the 101 exchange", async () => {
  const ts = startTestServer({ tls: { cert: cert.certPem, key: cert.keyPem } });
  try {
    const a = await dialDerp(ts.url, { privateKey: generateNodePrivate(), certName: cert.pin });
    assert.equal((await recvType(a, "serverInfo")).type, "serverInfo");
    assert.equal(ts.server.metrics.fastStarts, 0);
    a.close();
  } finally {
    await ts.close();
  }
});
