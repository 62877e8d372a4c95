/**
 * X25519 (RFC 7748) in warren's WebAssembly module: no allocation, no native
 * handles. The DERP server uses it (through {@link ./nacl_box.ts}) because
 * node:crypto's X25519 goes through KeyObjects, and 10,000 handshakes in a
 * burst left ~15 MiB of resident memory behind them. It is slower than
 * node:crypto's (~95 against ~62 µs per shared secret here, measured by
 * `deno run -A bench/_x25519.ts`), so WireGuard and Noise keep {@link ./x25519.ts}.
 *
 * @module
 */
import { cryptoWasm } from "./wasm/instance.ts";

// The scalar and point go in the last 64 bytes of the associated-data scratch,
// which the AEADs and NaCl boxes use only from the front and only within one
// synchronous call.
const SCALAR_FROM_END = 64;
const POINT_FROM_END = 32;

/**
 * Computes X25519(scalar, point) into wasm memory at outAddr (32 bytes). The
 * scalar is clamped inside and wiped from the scratch afterwards.
 *
 * @throws {RangeError} if a key is not 32 bytes, or the result is all zero (a
 *   low-order point, RFC 7748 §6.1); out then holds zeros
 */
export function x25519WasmInto(outAddr: number, scalar: Uint8Array, point: Uint8Array): void {
  if (scalar.length !== 32 || point.length !== 32) {
    throw new RangeError("X25519 keys must be 32 bytes");
  }
  const w = cryptoWasm();
  const end = w.adScratch + w.adScratchSize;
  w.bytes.set(scalar, end - SCALAR_FROM_END);
  w.bytes.set(point, end - POINT_FROM_END);
  const rc = w.fn.x25519(outAddr, end - SCALAR_FROM_END, end - POINT_FROM_END);
  w.bytes.fill(0, end - SCALAR_FROM_END, end);
  if (rc !== 0) throw new RangeError("X25519 gave an all-zero secret: low-order public key");
}

/**
 * X25519(scalar, point) as a new array; with point = 9 ‖ 0…, the public key.
 *
 * @example
 * ```ts
 * const base = new Uint8Array(32);
 * base[0] = 9;
 * const pub = x25519Wasm(crypto.getRandomValues(new Uint8Array(32)), base);
 * console.assert(pub.length === 32);
 * ```
 *
 * @throws {RangeError} as {@link x25519WasmInto}
 */
export function x25519Wasm(scalar: Uint8Array, point: Uint8Array): Uint8Array {
  const w = cryptoWasm();
  const out = w.adScratch;
  try {
    x25519WasmInto(out, scalar, point);
    return w.bytes.slice(out, out + 32);
  } finally {
    w.bytes.fill(0, out, out + 32);
  }
}
