/**
 * TAI64N timestamps for handshake initiations (whitepaper §5.4.2): the
 * responder rejects an initiation whose timestamp is not newer than the last
 * one it accepted from that peer, which stops replayed initiations.
 *
 * @module
 */

/** Length of a TAI64N label in bytes: 8 seconds + 4 nanoseconds, big-endian. */
export const TAI64N_SIZE = 12;

// TAI64 labels count from 2^62; the extra 10 s is the TAI−UTC offset of 1970
// that wireguard-go and Linux both add (their label base is 0x400000000000000a).
const BASE_HIGH = 0x4000_0000;
const BASE_LOW = 10;
// Nanoseconds are rounded down to a multiple of 2^24 ns (~16.8 ms), as
// wireguard-go's "whitener" and Linux do: a precise clock reading is an info
// leak (timer fingerprinting) to whoever decrypts the initiation, and 2^24 ns
// is the largest power of two below the 20 ms spacing at which a peer may
// initiate at all (HANDSHAKE_INITIATION_RATE), so honest initiations still
// carry strictly increasing timestamps.
const WHITENER_MASK = 0x1_000_000 - 1;

/**
 * Encodes a Unix time in milliseconds as a whitened 12-byte TAI64N label.
 *
 * @example
 * ```ts
 * const t = tai64n(Date.now());
 * console.assert(t.length === 12 && t[0] === 0x40);
 * ```
 */
export function tai64n(nowMs: number): Uint8Array {
  if (!Number.isFinite(nowMs) || nowMs < 0) {
    throw new RangeError(`Cannot encode TAI64N timestamp: ${nowMs} is not a non-negative time`);
  }
  const secs = Math.floor(nowMs / 1000);
  const nanos = Math.floor((nowMs - secs * 1000) * 1e6);
  const low = secs % 0x1_0000_0000 + BASE_LOW;
  const high = BASE_HIGH + Math.floor(secs / 0x1_0000_0000) + Math.floor(low / 0x1_0000_0000);
  const out = new Uint8Array(TAI64N_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(0, high);
  view.setUint32(4, low % 0x1_0000_0000);
  view.setUint32(8, (nanos & ~WHITENER_MASK) >>> 0);
  return out;
}

/**
 * Compares two TAI64N labels: negative if `a` is earlier, 0 if equal,
 * positive if later (bytewise, which is chronological for big-endian labels).
 *
 * @example
 * ```ts
 * console.assert(compareTai64n(tai64n(1000), tai64n(2000)) < 0);
 * ```
 */
export function compareTai64n(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== TAI64N_SIZE || b.length !== TAI64N_SIZE) {
    throw new RangeError(
      `Cannot compare TAI64N timestamps of ${a.length} and ${b.length} bytes: expected 12`,
    );
  }
  for (let i = 0; i < TAI64N_SIZE; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return 0;
}
