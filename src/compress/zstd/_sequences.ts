/**
 * The sequences section of a compressed block (RFC 8878 §3.1.1.3.2) and its execution
 * (§3.1.1.4): the header and table modes, then one pass that decodes each sequence from the
 * backward bitstream and at once copies its literals and match into the output.
 *
 * @module
 */
import { BackwardBits } from "./_backward_bits.ts";
import { corrupt } from "./_errors.ts";
import { buildFseTable, FseTable, readFseTable } from "./_fse.ts";
import type { DecoderState } from "./_state.ts";
import {
  LL_BASE,
  LL_BITS,
  LL_DEFAULT,
  LL_DEFAULT_LOG,
  LL_MAX_CODE,
  LL_ML_MAX_LOG,
  ML_BASE,
  ML_BITS,
  ML_DEFAULT,
  ML_DEFAULT_LOG,
  ML_MAX_CODE,
  OF_DEFAULT,
  OF_DEFAULT_LOG,
  OF_MAX_CODE,
  OF_MAX_LOG,
} from "./constants.ts";

function predefined(dist: Int16Array, log: number, what: string): FseTable {
  const t = new FseTable(log);
  buildFseTable(t, dist, dist.length, log, what);
  return t;
}

const LL_PREDEFINED = predefined(LL_DEFAULT, LL_DEFAULT_LOG, "literal length");
const OF_PREDEFINED = predefined(OF_DEFAULT, OF_DEFAULT_LOG, "offset");
const ML_PREDEFINED = predefined(ML_DEFAULT, ML_DEFAULT_LOG, "match length");

const bits = new BackwardBits();

/** Where the table description parser left off. */
let tablePos = 0;

/** Picks (and reads, if described) one symbol type's table per its 2-bit mode. */
function selectTable(
  mode: number,
  buf: Uint8Array,
  end: number,
  previous: FseTable | null,
  built: FseTable,
  fallback: FseTable,
  maxCode: number,
  maxLog: number,
  what: string,
): FseTable {
  switch (mode) {
    case 0:
      return fallback;
    case 1: {
      if (tablePos >= end) throw corrupt(`${what} RLE symbol is missing`);
      const s = buf[tablePos++];
      if (s > maxCode) throw corrupt(`${what} RLE symbol ${s} exceeds ${maxCode}`);
      built.setRle(s);
      return built;
    }
    case 2:
      tablePos = readFseTable(buf, tablePos, end, maxCode, maxLog, built, what);
      return built;
    default:
      if (previous === null) throw corrupt(`${what} table repeated with none before it`);
      return previous;
  }
}

/**
 * Decodes and executes the sequences section at `buf[pos, end)`, appending the block's output
 * (literals and matches) to `st.out` without passing `limit`.
 *
 * @throws {SyntaxError} if the section is malformed; what {@link DecoderState.overflow} says
 * if the output would pass `limit`
 */
export function decodeSequences(
  st: DecoderState,
  buf: Uint8Array,
  pos: number,
  end: number,
  limit: number,
): void {
  if (pos >= end) throw corrupt("block ends before its sequences section");
  let count = buf[pos++];
  if (count >= 128) {
    if (count < 255) {
      if (pos >= end) throw corrupt("sequence count is truncated");
      count = ((count - 128) << 8) + buf[pos++];
    } else {
      if (end - pos < 2) throw corrupt("sequence count is truncated");
      count = buf[pos] + (buf[pos + 1] << 8) + 0x7f00;
      pos += 2;
    }
  }
  if (count === 0) {
    if (pos !== end) throw corrupt("bytes follow an empty sequences section");
    copyRemainingLiterals(st, limit);
    return;
  }
  if (pos >= end) throw corrupt("sequence modes are missing");
  const modes = buf[pos++];
  if ((modes & 3) !== 0) throw corrupt("reserved bits of the sequence modes are set");
  tablePos = pos;
  const ll = selectTable(
    modes >>> 6,
    buf,
    end,
    st.llTable,
    st.llBuilt,
    LL_PREDEFINED,
    LL_MAX_CODE,
    LL_ML_MAX_LOG,
    "literal length",
  );
  const of = selectTable(
    (modes >>> 4) & 3,
    buf,
    end,
    st.ofTable,
    st.ofBuilt,
    OF_PREDEFINED,
    OF_MAX_CODE,
    OF_MAX_LOG,
    "offset",
  );
  const ml = selectTable(
    (modes >>> 2) & 3,
    buf,
    end,
    st.mlTable,
    st.mlBuilt,
    ML_PREDEFINED,
    ML_MAX_CODE,
    LL_ML_MAX_LOG,
    "match length",
  );
  st.llTable = ll;
  st.ofTable = of;
  st.mlTable = ml;
  execute(st, buf, tablePos, end, count, ll, of, ml, limit);
}

function execute(
  st: DecoderState,
  buf: Uint8Array,
  pos: number,
  end: number,
  count: number,
  ll: FseTable,
  of: FseTable,
  ml: FseTable,
  limit: number,
): void {
  const r = bits;
  r.init(buf, pos, end, "sequences");
  let llState = r.read(ll.log);
  let ofState = r.read(of.log);
  let mlState = r.read(ml.log);
  const llSym = ll.symbol, llNb = ll.nbBits, llBase = ll.base;
  const ofSym = of.symbol, ofNb = of.nbBits, ofBase = of.base;
  const mlSym = ml.symbol, mlNb = ml.nbBits, mlBase = ml.base;
  const out = st.out;
  const lits = st.litBuf;
  let litPos = st.litPos;
  const litEnd = st.litEnd;
  const frameStart = st.frameStart;
  let op = st.outPos;
  let rep0 = st.rep0, rep1 = st.rep1, rep2 = st.rep2;
  for (let i = 0;;) {
    // Extra bits come in the order offset, match length, literal length (§3.1.1.3.2.1.2).
    const ofCode = ofSym[ofState];
    const mlCode = mlSym[mlState];
    const llCode = llSym[llState];
    const ofValue = ofCode <= 25
      ? (1 << ofCode) + r.read(ofCode)
      : 2 ** ofCode + r.readLong(ofCode);
    const matchLen = ML_BASE[mlCode] + r.read(ML_BITS[mlCode]);
    const litLen = LL_BASE[llCode] + r.read(LL_BITS[llCode]);
    let offset: number;
    if (ofValue > 3) {
      offset = ofValue - 3;
      rep2 = rep1;
      rep1 = rep0;
      rep0 = offset;
    } else {
      // A repeat code; with no literals before it, it means the next older offset (§3.1.1.5).
      const idx = litLen === 0 ? ofValue : ofValue - 1;
      if (idx === 0) {
        offset = rep0;
      } else {
        if (idx === 1) offset = rep1;
        else {
          offset = idx === 2 ? rep2 : rep0 - 1;
          rep2 = rep1;
        }
        rep1 = rep0;
        rep0 = offset;
      }
      if (offset === 0) throw corrupt("a repeat offset of 0");
    }
    if (litLen > litEnd - litPos) throw corrupt("a sequence uses more literals than remain");
    const total = litLen + matchLen;
    if (op + total > limit) {
      st.outPos = op;
      throw st.overflow(op + total);
    }
    // Literals: a loop beats subarray()+set() (an allocation each) until runs are long.
    if (litLen < 64) {
      for (let k = 0; k < litLen; k++) out[op + k] = lits[litPos + k];
    } else {
      out.set(lits.subarray(litPos, litPos + litLen), op);
    }
    op += litLen;
    litPos += litLen;
    // Match.
    if (offset > op - frameStart) throw corrupt(`offset ${offset} reaches before the frame`);
    const src = op - offset;
    if (matchLen < 32) {
      for (let k = 0; k < matchLen; k++) out[op + k] = out[src + k];
    } else if (offset >= matchLen) {
      out.copyWithin(op, src, src + matchLen);
    } else {
      // Overlapping: the copied run repeats with period `offset`, doubling each round.
      let done = 0;
      while (done < matchLen) {
        const n = Math.min(matchLen - done, op + done - src);
        out.copyWithin(op + done, src, src + n);
        done += n;
      }
    }
    op += matchLen;
    if (++i === count) break;
    // States update in the order literal length, match length, offset.
    llState = llBase[llState] + r.read(llNb[llState]);
    mlState = mlBase[mlState] + r.read(mlNb[mlState]);
    ofState = ofBase[ofState] + r.read(ofNb[ofState]);
    if (r.bits < 0) throw corrupt("sequences bitstream ends before its sequences");
  }
  if (r.bits !== 0) throw corrupt("sequences bitstream is not consumed exactly");
  st.rep0 = rep0;
  st.rep1 = rep1;
  st.rep2 = rep2;
  st.outPos = op;
  st.litPos = litPos;
  copyRemainingLiterals(st, limit);
}

/** The literals no sequence used end the block (§3.1.1.4). */
function copyRemainingLiterals(st: DecoderState, limit: number): void {
  const n = st.litEnd - st.litPos;
  if (st.outPos + n > limit) throw st.overflow(st.outPos + n);
  st.out.set(st.litBuf.subarray(st.litPos, st.litEnd), st.outPos);
  st.outPos += n;
  st.litPos = st.litEnd;
}
