/**
 * The crypto wasm module's ChaCha20-Poly1305 parts, timed apart: chacha20_xor, poly1305_mac,
 * aead_seal and aead_open, per call, at 64, 1312 (MTU 1280 + 32) and 1420 bytes. With extra
 * arguments it times other builds of the module beside the committed one, in one run, so a
 * change can be judged against its base on a busy machine:
 *
 *   git show main:src/crypto/wasm/module_wasm.ts > /tmp/old_module_wasm.ts
 *   deno run -A --v8-flags=--no-liftoff bench/_aead_parts.ts /tmp/old_module_wasm.ts
 *
 * An argument is a module_wasm.ts (its base64 is used) or a raw .wasm file. Each trial runs
 * every case once per module, back to back, so they see the same load; printed are the fastest
 * trial, the median, and the median of each trial's ratio to the first module. `--no-liftoff`
 * compiles with the optimising tier at once: otherwise V8 tiers up in the background, and on a
 * loaded machine early trials can time baseline code.
 *
 * Env: LENS (comma-separated bytes), TRIALS (default 30), ONLY (comma-separated part names).
 *
 * @module
 */
import { CRYPTO_WASM_BASE64 } from "../src/crypto/wasm/module_wasm.ts";

type Fn = (...args: number[]) => number;
interface Module {
  name: string;
  fn: Record<string, Fn>;
  key: number;
  src: number;
}

async function wasmBytes(path: string): Promise<Uint8Array<ArrayBuffer>> {
  if (!path.endsWith(".ts")) return await Deno.readFile(path);
  const url = new URL(path, `file://${Deno.cwd()}/`).href;
  const mod = await import(url) as { CRYPTO_WASM_BASE64: string };
  return Uint8Array.fromBase64(mod.CRYPTO_WASM_BASE64);
}

function load(name: string, code: Uint8Array<ArrayBuffer>): Module {
  const ex = new WebAssembly.Instance(new WebAssembly.Module(code), {}).exports as
    & Record<string, Fn>
    & { memory: WebAssembly.Memory; __heap_base: WebAssembly.Global };
  const base = ((ex.__heap_base.value as number) + 63) & ~63;
  const bytes = new Uint8Array(ex.memory.buffer);
  crypto.getRandomValues(bytes.subarray(base, base + 32 + 4096));
  return { name, fn: ex, key: base, src: base + 64 };
}

const modules = [load("committed", Uint8Array.fromBase64(CRYPTO_WASM_BASE64))];
for (const path of Deno.args) modules.push(load(path, await wasmBytes(path)));

const lens = (Deno.env.get("LENS") ?? "64,1312,1420").split(",").map(Number);
const trials = Number(Deno.env.get("TRIALS") ?? 30);
const only = Deno.env.get("ONLY")?.split(",");

// Message at src, its sealed copy at src + 8192 (opened into src + 16384, so it stays valid).
const parts: Record<string, (m: Module, len: number, i: number) => void> = {
  chacha20_xor: (m, len, i) => m.fn.chacha20_xor(m.key, 1, 0, i, 0, m.src, len, m.src),
  poly1305_mac: (m, len) => m.fn.poly1305_mac(m.key, m.src, len, m.src + 4096),
  aead_seal: (m, len, i) => m.fn.aead_seal(m.key, 0, i, 0, 0, 0, m.src, len, m.src),
  aead_open: (m, len) => {
    if (m.fn.aead_open(m.key, 0, 7, 0, 0, 0, m.src + 8192, len, m.src + 16384) !== 0) {
      throw new Error(`${m.name}: aead_open rejected its own seal`);
    }
  },
};

const times = new Map<string, number[]>();
for (let t = -3; t < trials; t++) { // three warm-up trials
  for (const len of lens) {
    const calls = Math.max(50, Math.round(2e5 / (len + 100)));
    for (const [part, run] of Object.entries(parts)) {
      if (only && !only.includes(part)) continue;
      for (const [mi, m] of modules.entries()) {
        m.fn.aead_seal(m.key, 0, 7, 0, 0, 0, m.src, len, m.src + 8192);
        const start = performance.now();
        for (let i = 0; i < calls; i++) run(m, len, i);
        const ns = (performance.now() - start) * 1e6 / calls;
        const k = `${part} ${len} ${mi}`;
        if (t >= 0) times.set(k, [...times.get(k) ?? [], ns]);
      }
    }
  }
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
console.log(`ns per call, ${trials} trials; ratio = median of per-trial time / module 0's`);
for (const [k, xs] of times) {
  const [part, len, mi] = k.split(" ");
  const first = times.get(`${part} ${len} 0`)!;
  const ratio = median(xs.map((x, i) => x / first[i]));
  console.log(
    `${part.padEnd(13)} ${len.padStart(5)} B  ${modules[Number(mi)].name.padEnd(28)} ` +
      `min ${Math.min(...xs).toFixed(0).padStart(5)}  median ${median(xs).toFixed(0).padStart(5)}` +
      `  ratio ${ratio.toFixed(3)}`,
  );
}
