/**
 * BLAKE2s as WireGuard's handshake uses it, on one core: node:crypto's blake2s256
 * Hash and Hmac objects (what src/crypto/blake2s.ts used to call) against warren's
 * own TypeScript implementation, side by side in one run: the 32-byte digest of a
 * 148-byte handshake initiation, HMAC-BLAKE2s of 32 bytes, and the three-output
 * Noise KDF (two HMACs per output plus the extract).
 *
 * Rounds alternate between implementations and the median is printed.
 *
 * Run: deno run -A bench/_blake2s.ts
 *
 * @module
 */
import { createHash, createHmac } from "node:crypto";
import { blake2s, hmacBlake2s } from "../src/crypto/blake2s.ts";
import { noiseKdf } from "../src/crypto/noise_kdf.ts";

const ITERS = 20_000;
const ROUNDS = 5;
const msg = crypto.getRandomValues(new Uint8Array(148));
const key = crypto.getRandomValues(new Uint8Array(32));

const nodeHmac = (k: Uint8Array, ...parts: Uint8Array[]) => {
  const mac = createHmac("blake2s256", k);
  for (const p of parts) mac.update(p);
  return new Uint8Array(mac.digest());
};
const nodeKdf3 = (ck: Uint8Array, input: Uint8Array) => {
  const prk = nodeHmac(ck, input);
  const o1 = nodeHmac(prk, new Uint8Array([1]));
  const o2 = nodeHmac(prk, o1, new Uint8Array([2]));
  return [o1, o2, nodeHmac(prk, o2, new Uint8Array([3]))];
};

const cases: [string, () => unknown, () => unknown][] = [
  [
    "digest of 148 bytes",
    () => new Uint8Array(createHash("blake2s256").update(msg).digest()),
    () => blake2s(msg),
  ],
  ["HMAC of 32 bytes", () => nodeHmac(key, key), () => hmacBlake2s(key, key)],
  ["Noise KDF, 3 outputs", () => nodeKdf3(key, key), () => noiseKdf(key, key, 3)],
];

const microsPerOp = (f: () => unknown) => {
  const t0 = performance.now();
  for (let i = 0; i < ITERS; i++) f();
  return ((performance.now() - t0) * 1000) / ITERS;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

for (const [name, native, own] of cases) {
  const n: number[] = [], o: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    n.push(microsPerOp(native));
    o.push(microsPerOp(own));
  }
  console.log(
    `${name}: node:crypto ${median(n).toFixed(2)} µs, warren ${median(o).toFixed(2)} µs ` +
      `(warren/node ${(median(o) / median(n)).toFixed(2)}; median of ${ROUNDS} rounds of ${ITERS})`,
  );
}
