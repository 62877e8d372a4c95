import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { generateSelfSignedCert } from "../derp/selfsigned_cert.ts";
import { answerClientHello, type HelloRetry, type ServerFlight } from "./server_handshake.ts";
import { tlsServerIdentity } from "./server_identity.ts";
import { AlertCode, parseClientHello, TlsAlert } from "./messages.ts";
import { TLS_AES_128_GCM_SHA256 } from "./record.ts";
import * as V from "./_rfc8448.ts";

const cert = await generateSelfSignedCert("derp.test");
const id = tlsServerIdentity(cert.certPem, cert.keyPem);

function flight(f: ServerFlight | HelloRetry): ServerFlight {
  assert.ok(!("helloRetryRequest" in f), "expected a full answer, got a HelloRetryRequest");
  return f;
}

Deno.test("parseClientHello() reads RFC 8448's ClientHello", () => {
  const h = parseClientHello(fromHex(V.CLIENT_HELLO).subarray(4));
  assert.equal(h.tls13, true);
  assert.deepEqual(h.suites, [0x1301, 0x1303, 0x1302]);
  assert.equal(
    toHex(h.x25519!),
    "99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c",
  );
  assert.ok(h.sigAlgs.includes(0x0403));
  assert.equal(h.sessionId.length, 0);
});

Deno.test("answerClientHello() makes RFC 8448's ServerHello and handshake secrets", () => {
  const f = flight(answerClientHello(id, fromHex(V.CLIENT_HELLO), {
    ephemeralPrivate: fromHex(V.SERVER_EPHEMERAL_PRIVATE),
    random: fromHex(V.SERVER_HELLO.slice(12, 76)),
    suites: [TLS_AES_128_GCM_SHA256],
  }));
  assert.equal(toHex(f.serverHello), V.SERVER_HELLO);
  assert.equal(toHex(f.clientHandshake), V.C_HS);
  assert.equal(toHex(f.serverHandshake), V.S_HS);
  // The flight: EncryptedExtensions, then our Certificate, CertificateVerify and Finished.
  assert.deepEqual([...f.encrypted.subarray(0, 6)], [8, 0, 0, 2, 0, 0]);
  assert.equal(f.encrypted[6], 11);
  assert.equal(f.clientFinished.length, 32);
});

Deno.test("answerClientHello() prefers ChaCha20-Poly1305 and refuses what it cannot do", () => {
  const ch = fromHex(V.CLIENT_HELLO);
  assert.equal(flight(answerClientHello(id, ch)).suite, 0x1303);
  // supported_versions 0x0304 → 0x0303: a TLS 1.2 client.
  const tls12 = fromHex(V.CLIENT_HELLO.replace("002b0003020304", "002b0003020303"));
  assert.throws(
    () => answerClientHello(id, tls12),
    (e) => e instanceof TlsAlert && e.code === AlertCode.ProtocolVersion,
  );
  // Only a P-256 key share, and no X25519 among the groups either.
  const share = (hex: string) => hex.replace("00260024001d0020", "0026002400170020");
  const noX25519 = fromHex(share(V.CLIENT_HELLO).replace("0012001d0017", "001200170017"));
  assert.throws(
    () => answerClientHello(id, noX25519),
    (e) => e instanceof TlsAlert && e.code === AlertCode.HandshakeFailure,
  );
  assert.throws(
    () => answerClientHello(id, ch.subarray(0, 60)),
    (e) => e instanceof TlsAlert && e.code === AlertCode.DecodeError,
  );
});

Deno.test("a client that can do X25519 but sent no share gets a HelloRetryRequest", () => {
  const ch1 = fromHex(V.CLIENT_HELLO.replace("00260024001d0020", "0026002400170020"));
  const r = answerClientHello(id, ch1);
  assert.ok("helloRetryRequest" in r);
  const hrr = r.helloRetryRequest;
  assert.equal(hrr[0], 2);
  assert.equal(
    toHex(hrr.subarray(6, 38)),
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c",
  );
  assert.match(toHex(hrr), /00330002001d$/); // key_share: selected_group x25519
  assert.equal(r.transcriptPrefix[0], 254); // message_hash
  // The second hello carries the share; still no share after a retry is a failure.
  assert.equal(
    flight(answerClientHello(id, fromHex(V.CLIENT_HELLO), {}, r.transcriptPrefix)).suite,
    0x1303,
  );
  assert.throws(
    () => answerClientHello(id, ch1, {}, r.transcriptPrefix),
    (e) => e instanceof TlsAlert && e.code === AlertCode.HandshakeFailure,
  );
});
