/**
 * The HPACK Huffman code (RFC 7541 Appendix B) and its decoder. The code is
 * canonical (codes of one length are consecutive, shorter codes first, ties by
 * symbol), so the table is just each symbol's code length; the codes follow.
 *
 * @module
 */
import { ErrorCode, H2Error } from "./frame.ts";

/**
 * Code length of symbols 0–256 (256 is EOS), one character each: `A` = 5 bits
 * … `Z` = 30 bits.
 */
const CODE_LENGTHS = "ISXXXXXXXTZXXZXXXXXXXXZXXXXXXXXXBFFHIBDGFFDGDBBBAAABBBBBBBCDKBHF" +
  "IBCCCCCCCCCCCCCCCCCCCCCCDCDIOIJBKABABABBBACCBBBABCBAABCCCCCKGJIX" +
  "PRPPRRRSRSSSSSTSTTRSTSSSSQRSRSSTRQPRRSSQSRRTQRSSQQRQSRSSPRRRSRRS" +
  "VVPORSRUVVVWWVTUOQVWWVWTQQVVXWWWPTPQRQQSRRUUTTVSVWVVWWWWWXWWWWWV" +
  "Z";

const EOS = 256;
const MAX_LEN = 30;

/** Symbols sorted by (code length, symbol), and per length the first code and its index there. */
const sorted: number[] = [];
const count = new Int32Array(MAX_LEN + 1);
const firstCode = new Int32Array(MAX_LEN + 1);
const firstIndex = new Int32Array(MAX_LEN + 1);
/** Each symbol's code and length, for the encoder. */
const codes = new Uint32Array(EOS + 1);
const lengths = new Uint8Array(EOS + 1);
{
  for (let s = 0; s <= EOS; s++) lengths[s] = CODE_LENGTHS.charCodeAt(s) - 65 + 5;
  for (let len = 1; len <= MAX_LEN; len++) {
    firstIndex[len] = sorted.length;
    for (let s = 0; s <= EOS; s++) if (lengths[s] === len) sorted.push(s);
    count[len] = sorted.length - firstIndex[len];
  }
  let code = 0;
  for (let len = 1; len <= MAX_LEN; len++) {
    firstCode[len] = code;
    for (let i = 0; i < count[len]; i++) codes[sorted[firstIndex[len] + i]] = code + i;
    code = (code + count[len]) << 1;
  }
}

/**
 * Decodes a Huffman-coded string literal.
 *
 * @throws {H2Error} COMPRESSION_ERROR on EOS inside the string, padding over 7
 *   bits, or padding that is not the EOS prefix (all ones)
 */
export function huffmanDecode(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(src.length * 8 / 5));
  let n = 0;
  let code = 0;
  let len = 0;
  for (const byte of src) {
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1);
      len++;
      const i = code - firstCode[len];
      if (i >= 0 && i < count[len]) {
        const sym = sorted[firstIndex[len] + i];
        if (sym === EOS) throw huffmanError("EOS inside a string");
        out[n++] = sym;
        code = 0;
        len = 0;
      } else if (len === MAX_LEN) {
        throw huffmanError("invalid code");
      }
    }
  }
  if (len > 7) throw huffmanError("padding longer than 7 bits");
  if (code !== (1 << len) - 1) throw huffmanError("padding is not all ones");
  return out.subarray(0, n);
}

/** Huffman-codes `src` (the client does not need it; tests and peers do). */
export function huffmanEncode(src: Uint8Array): Uint8Array {
  let bits = 0;
  for (const b of src) bits += lengths[b];
  const out = new Uint8Array(Math.ceil(bits / 8)).fill(0xff);
  let pos = 0;
  for (const b of src) {
    const c = codes[b];
    for (let k = lengths[b] - 1; k >= 0; k--, pos++) {
      if (((c >>> k) & 1) === 0) out[pos >> 3] &= ~(0x80 >> (pos & 7));
    }
  }
  return out;
}

function huffmanError(what: string): H2Error {
  return new H2Error(ErrorCode.COMPRESSION_ERROR, `hpack: bad Huffman string: ${what}`);
}
