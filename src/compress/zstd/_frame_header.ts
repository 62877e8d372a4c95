/**
 * The Zstandard frame header (RFC 8878 §3.1.1.1): descriptor, window, dictionary ID and content
 * size.
 *
 * @module
 */
import { corrupt } from "./_errors.ts";

/** What a frame header says. */
export interface FrameHeader {
  /** Offset just past the header. */
  end: number;
  /** Frame_Content_Size, or -1 when the header leaves it out. */
  contentSize: number;
  /** Window_Size: how far back a match may reach. */
  windowSize: number;
  /** Whether a 4-byte content checksum follows the last block. */
  checksum: boolean;
  /** Dictionary_ID; 0 when none is named. */
  dictionaryId: number;
}

const DID_SIZE = [0, 1, 2, 4];
const FCS_SIZE = [0, 2, 4, 8];

/**
 * Parses the header that starts at `buf[pos]`, just after the magic number.
 *
 * @throws {SyntaxError} if it is truncated or sets the reserved bit
 */
export function parseFrameHeader(buf: Uint8Array, pos: number): FrameHeader {
  if (pos >= buf.length) throw corrupt("frame header is truncated");
  const fhd = buf[pos++];
  if ((fhd & 8) !== 0) throw corrupt("frame header sets the reserved bit");
  const singleSegment = (fhd & 0x20) !== 0;
  const didSize = DID_SIZE[fhd & 3];
  const fcsFlag = fhd >>> 6;
  const fcsSize = fcsFlag === 0 && singleSegment ? 1 : FCS_SIZE[fcsFlag];
  const size = (singleSegment ? 0 : 1) + didSize + fcsSize;
  if (buf.length - pos < size) throw corrupt("frame header is truncated");
  let windowSize = 0;
  if (!singleSegment) {
    const wd = buf[pos++];
    const windowLog = 10 + (wd >>> 3);
    const base = 2 ** windowLog;
    windowSize = base + (base / 8) * (wd & 7);
  }
  let dictionaryId = 0;
  for (let i = didSize - 1; i >= 0; i--) dictionaryId = dictionaryId * 256 + buf[pos + i];
  pos += didSize;
  let contentSize = -1;
  if (fcsSize > 0) {
    contentSize = 0;
    for (let i = fcsSize - 1; i >= 0; i--) contentSize = contentSize * 256 + buf[pos + i];
    if (fcsSize === 2) contentSize += 256;
    pos += fcsSize;
  }
  if (singleSegment) windowSize = contentSize;
  return { end: pos, contentSize, windowSize, checksum: (fhd & 4) !== 0, dictionaryId };
}
