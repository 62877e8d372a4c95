/**
 * The tree's one hex codec: lowercase on output, either case on input.
 *
 * @module
 */

const HEX = "0123456789abcdef";

/**
 * Encodes bytes as lowercase hex.
 *
 * @example
 * ```ts
 * import { toHex } from "./hex.ts";
 * toHex(new Uint8Array([1, 255])); // "01ff"
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX[b >> 4] + HEX[b & 15];
  return s;
}

/**
 * Decodes hex (either case). With `len`, the text must hold exactly `len`
 * bytes (a key, a MAC); without it, any whole number of bytes.
 *
 * @example
 * ```ts
 * import { fromHex } from "./hex.ts";
 * fromHex("01FF"); // Uint8Array [1, 255]
 * fromHex("0a0b", 2); // Uint8Array [10, 11]
 * ```
 * @throws {SyntaxError} on a non-hex character or a wrong (or odd) length
 */
export function fromHex(text: string, len?: number): Uint8Array {
  if (len === undefined) {
    if (text.length % 2 !== 0) {
      throw new SyntaxError(
        `Cannot parse hex "${text.slice(0, 80)}": odd length ${text.length}`,
      );
    }
    len = text.length / 2;
  } else if (text.length !== len * 2) {
    throw new SyntaxError(
      `Cannot parse hex "${text.slice(0, 80)}": want ${len * 2} characters, got ${text.length}`,
    );
  }
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    const hi = nibble(text.charCodeAt(2 * i));
    const lo = nibble(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      throw new SyntaxError(`Cannot parse hex "${text.slice(0, 80)}": not a hex character`);
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
