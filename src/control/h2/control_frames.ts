/**
 * Layout checks and decoding of the frames that manage an HTTP/2 connection
 * (SETTINGS, PING, GOAWAY, WINDOW_UPDATE, RST_STREAM), and the encoding of a
 * header block into HEADERS and CONTINUATION frames. What a frame means for
 * the connection's state is connection.ts's business; a frame that is
 * malformed on its own is rejected here with the right {@link H2Error}.
 *
 * @module
 */
import { concatBytes } from "../../bytes/concat.ts";
import {
  DEFAULT_MAX_FRAME_SIZE,
  encodeFrame,
  ErrorCode,
  errorCodeName,
  Flag,
  type Frame,
  FrameType,
  H2Error,
  MAX_WINDOW,
  parseSettings,
  readU32,
  Setting,
} from "./frame.ts";

/** A PROTOCOL_ERROR connection error. */
export function protocolError(what: string): H2Error {
  return new H2Error(ErrorCode.PROTOCOL_ERROR, `http2: ${what}`);
}

/** A FRAME_SIZE_ERROR for a `type` frame of `len` bytes. */
export function frameSizeError(type: string, len: number): H2Error {
  return new H2Error(ErrorCode.FRAME_SIZE_ERROR, `http2: ${type} frame of ${len} bytes`);
}

/** A FLOW_CONTROL_ERROR connection error. */
export function flowError(what: string): H2Error {
  return new H2Error(ErrorCode.FLOW_CONTROL_ERROR, `http2: ${what}`);
}

/**
 * A SETTINGS frame's pairs, each value checked against its allowed range;
 * null for an ACK.
 *
 * @throws {H2Error} on a stream id, a non-empty ACK, a bad length or value
 */
export function decodeSettings(f: Frame): Array<[number, number]> | null {
  if (f.streamId !== 0) throw protocolError("SETTINGS on a stream");
  if (f.flags & Flag.ACK) {
    if (f.payload.length !== 0) throw frameSizeError("SETTINGS ACK", f.payload.length);
    return null;
  }
  const pairs = parseSettings(f.payload);
  for (const [id, value] of pairs) {
    if (id === Setting.INITIAL_WINDOW_SIZE && value > MAX_WINDOW) {
      throw flowError(`initial window ${value}`);
    }
    if (id === Setting.MAX_FRAME_SIZE && (value < DEFAULT_MAX_FRAME_SIZE || value > 0xffffff)) {
      throw protocolError(`max frame size ${value}`);
    }
    if (id === Setting.ENABLE_PUSH && value > 1) throw protocolError(`ENABLE_PUSH ${value}`);
  }
  return pairs;
}

/**
 * A PING frame: whether it is an ACK, and its 8 bytes.
 *
 * @throws {H2Error} on a stream id or a length other than 8
 */
export function decodePing(f: Frame): { ack: boolean; payload: Uint8Array } {
  if (f.streamId !== 0) throw protocolError("PING on a stream");
  if (f.payload.length !== 8) throw frameSizeError("PING", f.payload.length);
  return { ack: (f.flags & Flag.ACK) !== 0, payload: f.payload };
}

/**
 * A GOAWAY frame: the last stream the server will process, and the error
 * (code and debug text) it gives as the reason.
 *
 * @throws {H2Error} on a stream id or a payload under 8 bytes
 */
export function decodeGoaway(f: Frame): { lastStreamId: number; reason: H2Error } {
  if (f.streamId !== 0) throw protocolError("GOAWAY on a stream");
  if (f.payload.length < 8) throw frameSizeError("GOAWAY", f.payload.length);
  const code = readU32(f.payload, 4);
  const debug = new TextDecoder().decode(f.payload.subarray(8, 8 + 256));
  return {
    lastStreamId: readU32(f.payload, 0, true),
    reason: new H2Error(
      code,
      `http2: the server sent GOAWAY (${errorCodeName(code)}${debug ? `: ${debug}` : ""})`,
    ),
  };
}

/**
 * A WINDOW_UPDATE's increment (0 is the caller's to reject: a connection or a
 * stream error depending on the stream).
 *
 * @throws {H2Error} on a length other than 4
 */
export function decodeWindowUpdate(f: Frame): number {
  if (f.payload.length !== 4) throw frameSizeError("WINDOW_UPDATE", f.payload.length);
  return readU32(f.payload, 0, true);
}

/**
 * A RST_STREAM's error code.
 *
 * @throws {H2Error} on stream 0 or a length other than 4
 */
export function decodeRstStream(f: Frame): number {
  if (f.payload.length !== 4) throw frameSizeError("RST_STREAM", f.payload.length);
  if (f.streamId === 0) throw protocolError("RST_STREAM on stream 0");
  return readU32(f.payload, 0);
}

/**
 * A header block as one HEADERS frame and as many CONTINUATIONs as
 * `maxFrame` needs, concatenated so they go out in one write (nothing may
 * come between them).
 */
export function headerFrames(
  id: number,
  block: Uint8Array,
  endStream: boolean,
  maxFrame: number,
): Uint8Array {
  const parts: Uint8Array[] = [];
  let off = 0;
  do {
    const piece = block.subarray(off, off + maxFrame);
    const last = off + maxFrame >= block.length;
    const flags = (last ? Flag.END_HEADERS : 0) | (off === 0 && endStream ? Flag.END_STREAM : 0);
    parts.push(
      encodeFrame(off === 0 ? FrameType.HEADERS : FrameType.CONTINUATION, flags, id, piece),
    );
    off += maxFrame;
  } while (off < block.length);
  return concatBytes(parts);
}

/**
 * One receive window (a stream's or the connection's): what the peer may
 * still send, and the bytes consumed since the last WINDOW_UPDATE, announced
 * once they reach half the window so updates stay few.
 */
export class RecvWindow {
  /** Bytes the peer may still send. */
  available: number;
  readonly #size: number;
  #unacked = 0;

  /** A window of `size` bytes. */
  constructor(size: number) {
    this.#size = size;
    this.available = size;
  }

  /** Deducts `n` received bytes; false (and nothing deducted) when they exceed the window. */
  take(n: number): boolean {
    if (n > this.available) return false;
    this.available -= n;
    return true;
  }

  /** Records `n` consumed bytes; returns the increment to announce now, or 0. */
  release(n: number): number {
    this.#unacked += n;
    if (this.#unacked < this.#size / 2) return 0;
    const inc = this.#unacked;
    this.#unacked = 0;
    this.available += inc;
    return inc;
  }
}
