/**
 * X25519 shared secrets per second on one core: node:crypto (src/crypto/_x25519_node.ts)
 * against the wasm implementation warren uses (src/crypto/x25519_wasm.ts), side by side in
 * one run, plus the resident memory each leaves behind after a burst of
 * handshakes (what a DERP server sees when thousands of clients connect).
 *
 * Run: deno run -A bench/_x25519.ts [operations per round]
 *
 * @module
 */
import { publicKeyFrom } from "../src/crypto/x25519.ts";
import { nodeSharedSecret } from "../src/crypto/_x25519_node.ts";
import { x25519Wasm } from "../src/crypto/x25519_wasm.ts";

const ITERS = Number(Deno.args[0] ?? 2000);
const ROUNDS = 5;

const priv = crypto.getRandomValues(new Uint8Array(32));
const peers = Array.from(
  { length: 64 },
  () => publicKeyFrom(crypto.getRandomValues(new Uint8Array(32))),
);

function rssMiB(): number {
  const s = Deno.readTextFileSync("/proc/self/status");
  return Number(s.match(/VmRSS:\s+(\d+) kB/)![1]) / 1024;
}

function microsPerOp(dh: (k: Uint8Array, u: Uint8Array) => Uint8Array): number {
  const t0 = performance.now();
  for (let i = 0; i < ITERS; i++) dh(priv, peers[i & 63]);
  return ((performance.now() - t0) * 1000) / ITERS;
}

const impls: [string, (k: Uint8Array, u: Uint8Array) => Uint8Array][] = [
  ["node:crypto", nodeSharedSecret],
  ["wasm", x25519Wasm],
];
const times = new Map(impls.map(([n]) => [n, [] as number[]]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, dh] of impls) times.get(name)!.push(microsPerOp(dh));
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const [nodeUs, wasmUs] = impls.map(([n]) => median(times.get(n)!));
console.log(
  `shared secret: node:crypto ${nodeUs.toFixed(1)} µs, wasm ${wasmUs.toFixed(1)} µs ` +
    `(wasm/node ${(wasmUs / nodeUs).toFixed(2)}; median of ${ROUNDS} rounds of ${ITERS})`,
);

// Memory: one more burst of each in a fresh process would be cleaner; here the
// wasm burst runs first (it allocates only its results), then node:crypto's.
for (const [name, dh] of [...impls].reverse()) {
  const before = rssMiB();
  for (let i = 0; i < 10_000; i++) {
    dh(priv, peers[i & 63]);
    if (i % 500 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  await new Promise((r) => setTimeout(r, 1000));
  console.log(`10,000 shared secrets, ${name}: RSS +${(rssMiB() - before).toFixed(1)} MiB`);
}
