/**
 * The text form of WireGuard keys, as `wg(8)` and wg-quick configs write them:
 * standard base64 of exactly 32 bytes (44 characters ending in `=`).
 *
 * @module
 */

/** Length in bytes of a WireGuard key (private, public or preshared). */
export const WG_KEY_LEN = 32;

/** Length in characters of a WireGuard key's base64 text. */
export const WG_KEY_TEXT_LEN = 44;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/**
 * Parses a WireGuard key from base64. Like `wg(8)`, it accepts only the
 * canonical 44-character form: standard alphabet, one `=` of padding, and
 * zero bits in the unused low bits of the last character (anything else is a
 * corrupted key, not another spelling of one).
 *
 * The key text is never echoed in the error: it may be a private key.
 *
 * @param what names the key in the error message, e.g. "PrivateKey"
 * @example
 * ```ts
 * import { formatWgKey, parseWgKey } from "./wg_key.ts";
 * const k = parseWgKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
 * k.length; // 32
 * formatWgKey(k); // "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
 * ```
 * @throws {SyntaxError} saying what is wrong (length, character and position, padding)
 */
export function parseWgKey(s: string, what = "key"): Uint8Array {
  const fail = (reason: string) => new SyntaxError(`Cannot parse ${what}: ${reason}`);
  if (s.length !== WG_KEY_TEXT_LEN) {
    const hint = s.length === 64 && /^[0-9a-fA-F]+$/.test(s) ? " (this looks like hex)" : "";
    throw fail(`want ${WG_KEY_TEXT_LEN} base64 characters, got ${s.length}${hint}`);
  }
  if (s[43] !== "=") throw fail("want '=' as the 44th character (base64 of 32 bytes)");
  const vals = new Uint8Array(43);
  for (let i = 0; i < 43; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? DECODE[c] : -1;
    if (v < 0) {
      throw fail(
        s[i] === "="
          ? `unexpected '=' at position ${i + 1}`
          : `invalid base64 character at position ${i + 1}`,
      );
    }
    vals[i] = v;
  }
  if ((vals[42] & 0b11) !== 0) {
    throw fail("last character has non-zero unused bits (corrupted key)");
  }
  const out = new Uint8Array(WG_KEY_LEN);
  let o = 0;
  for (let i = 0; i < 40; i += 4) {
    const n = (vals[i] << 18) | (vals[i + 1] << 12) | (vals[i + 2] << 6) | vals[i + 3];
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  const n = (vals[40] << 18) | (vals[41] << 12) | (vals[42] << 6);
  out[30] = n >> 16;
  out[31] = (n >> 8) & 0xff;
  return out;
}

/**
 * Formats a 32-byte WireGuard key as base64, as `wg genkey`/`wg pubkey` print it.
 *
 * @example
 * ```ts
 * import { formatWgKey } from "./wg_key.ts";
 * formatWgKey(new Uint8Array(32).fill(0xff)); // "//////////////////////////////////////////8="
 * ```
 * @throws {TypeError} if `k` is not 32 bytes
 */
export function formatWgKey(k: Uint8Array): string {
  if (k.length !== WG_KEY_LEN) {
    throw new TypeError(`Cannot format WireGuard key of ${k.length} bytes, want ${WG_KEY_LEN}`);
  }
  let s = "";
  for (let i = 0; i < 30; i += 3) {
    const n = (k[i] << 16) | (k[i + 1] << 8) | k[i + 2];
    s += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
  }
  const n = (k[30] << 16) | (k[31] << 8);
  return s + ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + "=";
}
