/**
 * ChaCha20-Poly1305 packets/s on one core: node:crypto (src/crypto/aead.ts)
 * against the wasm implementation (src/crypto/aead_wasm.ts), side by side in
 * one run, for 1420-byte WireGuard-sized packets.
 *
 * Rounds alternate between implementations and the median is printed, so a
 * noisy neighbour hurts both alike. The wasm open figures include restoring
 * the 1436-byte sealed packet before each in-place open (a copy node's
 * openInto does not need), so they understate wasm slightly.
 *
 * Run: deno run -A bench/_aead.ts [packet bytes]
 *
 * @module
 */
import { ChaChaPoly, wgNonce } from "../src/crypto/aead.ts";
import { WasmChaChaPoly } from "../src/crypto/aead_wasm.ts";
import { allocPacketBuffer } from "../src/crypto/wasm/arena.ts";

const LEN = Number(Deno.args[0] ?? 1420);
const ITERS = 40_000;
const ROUNDS = 7;

const key = crypto.getRandomValues(new Uint8Array(32));
const native = new ChaChaPoly(key);
const wasm = new WasmChaChaPoly(key);
const nonce = new Uint8Array(12);

const plainBuf = new Uint8Array(LEN + 16); // ordinary JS memory
const wasmBuf = allocPacketBuffer(LEN + 16); // inside wasm memory
crypto.getRandomValues(plainBuf.subarray(0, LEN));
wasmBuf.set(plainBuf.subarray(0, LEN));
const sealed = native.seal(wgNonce(5), plainBuf.subarray(0, LEN));
const openDst = new Uint8Array(LEN);

const cases: Record<string, () => void> = {
  "node:crypto seal (sealInto, in place)": () => {
    const pt = plainBuf.subarray(0, LEN);
    for (let i = 0; i < ITERS; i++) native.sealInto(wgNonce(i, nonce), pt, plainBuf, 0);
  },
  "wasm seal (sealInPlace, wasm buffer, zero copy)": () => {
    for (let i = 0; i < ITERS; i++) wasm.sealInPlace(i, wasmBuf, 0, LEN);
  },
  "wasm seal (sealInPlace, JS buffer, copy in/out)": () => {
    for (let i = 0; i < ITERS; i++) wasm.sealInPlace(i, plainBuf, 0, LEN);
  },
  "node:crypto open (openInto)": () => {
    for (let i = 0; i < ITERS; i++) {
      if (native.openInto(wgNonce(5, nonce), sealed, openDst, 0) < 0) throw new Error("open");
    }
  },
  "wasm open (openInPlace, wasm buffer, + restore copy)": () => {
    for (let i = 0; i < ITERS; i++) {
      wasmBuf.set(sealed);
      if (wasm.openInPlace(5, wasmBuf, 0, LEN + 16) < 0) throw new Error("open");
    }
  },
  "wasm open (openInto, same API as node:crypto)": () => {
    for (let i = 0; i < ITERS; i++) {
      if (wasm.openInto(wgNonce(5, nonce), sealed, openDst, 0) < 0) throw new Error("open");
    }
  },
};

const results = new Map<string, number[]>();
for (const fn of Object.values(cases)) fn(); // warm up
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of Object.entries(cases)) {
    const t = performance.now();
    fn();
    const pps = ITERS / ((performance.now() - t) / 1000);
    results.set(name, [...results.get(name) ?? [], pps]);
  }
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
console.log(`ChaCha20-Poly1305, ${LEN}-byte packets, one core, median of ${ROUNDS} rounds`);
const base: Record<string, number> = {};
for (const [name, xs] of results) {
  const pps = median(xs);
  const op = name.includes("seal") ? "seal" : "open";
  if (name.startsWith("node")) base[op] = pps;
  const ratio = name.startsWith("node") ? "" : `  ×${(pps / base[op]).toFixed(2)} vs node`;
  const gbps = (pps * LEN * 8) / 1e9;
  console.log(
    `${name.padEnd(54)} ${Math.round(pps).toString().padStart(8)} pkt/s ` +
      `${gbps.toFixed(2).padStart(6)} Gbit/s${ratio}`,
  );
}
wasm.dispose();
