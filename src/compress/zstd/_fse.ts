/**
 * FSE decoding tables (RFC 8878 §4.1): reading a table description (a normalized distribution)
 * and spreading it into the state table that the sequence and Huffman-weight decoders step
 * through.
 *
 * @module
 */
import { corrupt } from "./_errors.ts";
import { ForwardBits } from "./_forward_bits.ts";

/** One FSE decoding table: per state, the symbol, the bits to read and the next state's base. */
export class FseTable {
  /** Accuracy log: the table has `1 << log` states. */
  log = 0;
  /** Symbol decoded in each state. */
  readonly symbol: Uint8Array;
  /** Bits read to reach the next state. */
  readonly nbBits: Uint8Array;
  /** Added to those bits to give the next state. */
  readonly base: Uint16Array;

  /** A table with room for accuracy logs up to `maxLog`. */
  constructor(maxLog: number) {
    this.symbol = new Uint8Array(1 << maxLog);
    this.nbBits = new Uint8Array(1 << maxLog);
    this.base = new Uint16Array(1 << maxLog);
  }

  /** Makes this the one-state table of RLE mode: `symbol` forever, reading no bits. */
  setRle(symbol: number): void {
    this.log = 0;
    this.symbol[0] = symbol;
    this.nbBits[0] = 0;
    this.base[0] = 0;
  }
}

// Scratch shared by every build: builds never overlap (the decoder is synchronous).
const norm = new Int16Array(256);
const next = new Uint16Array(256);

/**
 * Reads the table description at `buf[pos, end)` (§4.1.1) into `table` and returns the offset
 * just past it.
 *
 * @throws {SyntaxError} if the description is malformed, truncated or exceeds the limits
 */
export function readFseTable(
  buf: Uint8Array,
  pos: number,
  end: number,
  maxSymbol: number,
  maxLog: number,
  table: FseTable,
  what: string,
): number {
  const r = new ForwardBits(buf, pos, end);
  const log = r.read(4) + 5;
  if (log > maxLog) throw corrupt(`${what} FSE accuracy log ${log} exceeds ${maxLog}`);
  let remaining = (1 << log) + 1;
  let threshold = 1 << log;
  let nbBits = log + 1;
  let sym = 0;
  let previousZero = false;
  while (remaining > 1) {
    if (previousZero) {
      // A zero probability is followed by 2-bit counts of further zeros; 3 means "and more".
      let flag: number;
      do {
        flag = r.read(2);
        for (let i = 0; i < flag; i++) {
          if (sym > maxSymbol) throw corrupt(`${what} FSE table lists too many symbols`);
          norm[sym++] = 0;
        }
      } while (flag === 3);
    }
    if (sym > maxSymbol) throw corrupt(`${what} FSE table lists too many symbols`);
    // Values below `max` fit in one bit fewer (§4.1.1).
    const max = 2 * threshold - 1 - remaining;
    const v = r.peek(nbBits);
    let count: number;
    if ((v & (threshold - 1)) < max) {
      count = v & (threshold - 1);
      r.skip(nbBits - 1);
    } else {
      count = v & (2 * threshold - 1);
      if (count >= threshold) count -= max;
      r.skip(nbBits);
    }
    count--; // -1 stands for "less than 1" and takes one cell.
    remaining -= count < 0 ? 1 : count;
    if (remaining < 1) throw corrupt(`${what} FSE probabilities exceed the table`);
    norm[sym++] = count;
    previousZero = count === 0;
    while (remaining < threshold) {
      nbBits--;
      threshold >>= 1;
    }
  }
  const used = r.bytesUsed;
  if (used > end - pos) throw corrupt(`${what} FSE table description is truncated`);
  buildFseTable(table, norm, sym, log, what);
  return pos + used;
}

/**
 * Spreads a normalized distribution of `symbols` symbols over `1 << log` states (§4.1.1) into
 * `table`.
 *
 * @throws {SyntaxError} if the probabilities do not fill the table exactly
 */
export function buildFseTable(
  table: FseTable,
  dist: Int16Array,
  symbols: number,
  log: number,
  what: string,
): void {
  const size = 1 << log;
  const symbol = table.symbol;
  let high = size - 1;
  let total = 0;
  // "Less than 1" symbols take the last cells, one each.
  for (let s = 0; s < symbols; s++) {
    const c = dist[s];
    if (c === -1) {
      if (high < 0) throw corrupt(`${what} FSE probabilities exceed the table`);
      symbol[high--] = s;
      next[s] = 1;
      total++;
    } else {
      next[s] = c;
      total += c;
    }
  }
  if (total !== size) throw corrupt(`${what} FSE probabilities sum to ${total}, not ${size}`);
  const step = (size >>> 1) + (size >>> 3) + 3;
  const mask = size - 1;
  let p = 0;
  for (let s = 0; s < symbols; s++) {
    for (let i = dist[s]; i > 0; i--) {
      symbol[p] = s;
      do p = (p + step) & mask; while (p > high);
    }
  }
  if (p !== 0) throw corrupt(`${what} FSE table does not spread evenly`);
  const nbBits = table.nbBits;
  const base = table.base;
  for (let u = 0; u < size; u++) {
    const state = next[symbol[u]]++;
    const nb = log - (31 - Math.clz32(state));
    nbBits[u] = nb;
    base[u] = (state << nb) - size;
  }
  table.log = log;
}
