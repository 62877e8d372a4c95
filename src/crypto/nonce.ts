/**
 * The 12-byte ChaCha20-Poly1305 nonces of WireGuard/Noise and of Tailscale's controlbase,
 * apart from either AEAD so neither has to load the other.
 *
 * @module
 */
import { badCounter } from "./_aead_checks.ts";

/**
 * Writes WireGuard's / Noise's 12-byte nonce: 4 zero bytes then `counter` as
 * a 64-bit little-endian integer. Reuse `out` on the hot path.
 *
 * @example
 * ```ts
 * console.assert(wgNonce(1)[4] === 1);
 * ```
 */
export function wgNonce(counter: number, out: Uint8Array = new Uint8Array(12)): Uint8Array {
  return writeNonce(counter, out, true);
}

/**
 * Writes Tailscale controlbase's 12-byte nonce: 4 zero bytes then `counter`
 * as a 64-bit big-endian integer.
 *
 * @example
 * ```ts
 * console.assert(beNonce(1)[11] === 1);
 * ```
 */
export function beNonce(counter: number, out: Uint8Array = new Uint8Array(12)): Uint8Array {
  return writeNonce(counter, out, false);
}

/** 4 zero bytes, then `counter` as a 64-bit integer in the given byte order. */
function writeNonce(counter: number, out: Uint8Array, littleEndian: boolean): Uint8Array {
  if (!Number.isSafeInteger(counter) || counter < 0) throw badCounter(counter);
  const lo = counter % 0x1_0000_0000;
  const hi = (counter - lo) / 0x1_0000_0000;
  out.fill(0, 0, 4);
  if (littleEndian) {
    put32(out, 4, lo, true);
    put32(out, 8, hi, true);
  } else {
    put32(out, 4, hi, false);
    put32(out, 8, lo, false);
  }
  return out;
}

function put32(out: Uint8Array, at: number, v: number, littleEndian: boolean): void {
  for (let i = 0; i < 4; i++) out[littleEndian ? at + i : at + 3 - i] = (v >>> (8 * i)) & 0xff;
}
