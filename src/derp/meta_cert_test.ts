import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { generateMetaCert, parseMetaCert, withMetaCert } from "./meta_cert.ts";
import { pem, unpem } from "./der.ts";
import { toHex } from "../bytes/hex.ts";

const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7);

Deno.test("generateMetaCert() is an X.509 certificate with derper's CN, serial and validity", async () => {
  const der = await generateMetaCert(key, 2);
  const x = new X509Certificate(pem("CERTIFICATE", der));
  assert.equal(x.subject, `CN=derpkey${toHex(key)}`);
  assert.equal(x.issuer, x.subject);
  assert.equal(parseInt(x.serialNumber, 16), 2);
  const day = 86_400_000;
  const from = Date.parse(x.validFrom), to = Date.parse(x.validTo);
  assert.ok(Math.abs(Date.now() - 30 * day - from) < day, x.validFrom);
  assert.ok(Math.abs(Date.now() + 30 * day - to) < day, x.validTo);
  assert.ok(x.verify(x.publicKey), "self-signed signature verifies");
  await assert.rejects(() => generateMetaCert(new Uint8Array(31), 2), RangeError);
});

Deno.test("withMetaCert() appends the meta certificate after the chain", async () => {
  const meta = await generateMetaCert(key, 2);
  const leaf = pem("CERTIFICATE", new Uint8Array([0x30, 0x00]));
  const chain = withMetaCert(leaf + "\n\n", meta);
  assert.ok(chain.startsWith(leaf.trimEnd() + "\n-----BEGIN CERTIFICATE-----"));
  assert.deepEqual(unpem(chain.slice(leaf.trimEnd().length), "CERTIFICATE"), meta);
});

Deno.test("parseMetaCert() finds the key like derphttp and refuses what it refuses", () => {
  const cn = `derpkey${toHex(key)}`;
  const leaf = { commonName: "derp.example.com", serialHex: "0A1B" };
  assert.deepEqual(parseMetaCert([leaf, { commonName: cn, serialHex: "02" }]), {
    serverPublic: key,
    version: 2,
  });
  assert.equal(parseMetaCert([{ commonName: cn.toUpperCase(), serialHex: "02" }]), null);
  assert.deepEqual(
    parseMetaCert([{ commonName: `derpkey${toHex(key).toUpperCase()}`, serialHex: "FF" }])
      ?.version,
    255,
  );
  for (const bad of ["00", "0100", "", "zz"]) {
    assert.equal(parseMetaCert([{ commonName: cn, serialHex: bad }]), null, `serial ${bad}`);
  }
  assert.equal(parseMetaCert([{ commonName: cn.slice(0, -2), serialHex: "02" }]), null);
  assert.equal(parseMetaCert([leaf]), null);
  assert.equal(parseMetaCert([]), null);
});
