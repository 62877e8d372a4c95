/**
 * HTTP/2 frames (RFC 9113 §4, §6): the 9-byte header, the frame types and
 * flags warren's control client uses, and an incremental reader that cuts a
 * byte stream into frames. Malformed input raises {@link H2Error}, which the
 * connection turns into GOAWAY and a closed connection.
 *
 * @module
 */

/** Frame types (RFC 9113 §6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags; END_STREAM and ACK share a bit, on different frame types. */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes (RFC 9113 §7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/** SETTINGS identifiers (RFC 9113 §6.5.2). */
export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** Length of a frame header. */
export const FRAME_HEADER_LEN = 9;
/** The default and minimum SETTINGS_MAX_FRAME_SIZE. */
export const DEFAULT_MAX_FRAME_SIZE = 16384;
/** The initial flow-control window of a connection and of every stream. */
export const DEFAULT_WINDOW = 65535;
/** The largest window or window increment (2^31 − 1). */
export const MAX_WINDOW = 0x7fffffff;
/** The client connection preface (RFC 9113 §3.4). */
export const CLIENT_PREFACE: Uint8Array = new TextEncoder().encode(
  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
);

/** The name of an error code, for messages (`0x1` → `PROTOCOL_ERROR`). */
export function errorCodeName(code: number): string {
  for (const [name, value] of Object.entries(ErrorCode)) if (value === code) return name;
  return `error 0x${code.toString(16)}`;
}

/** A connection error: the whole connection is unusable (RFC 9113 §5.4.1). */
export class H2Error extends Error {
  /** The error code sent in GOAWAY, or received in it. */
  readonly code: number;
  /** Builds the error; `message` should say what was wrong. */
  constructor(code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "H2Error";
    this.code = code;
  }
}

/** A stream error: one request failed, the connection lives on (RFC 9113 §5.4.2). */
export class H2StreamError extends Error {
  /** The RST_STREAM error code. */
  readonly code: number;
  /** Builds the error. */
  constructor(code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "H2StreamError";
    this.code = code;
  }
}

/** One frame; `payload` is a view into the reader's buffer. */
export interface Frame {
  /** Frame type (see {@link FrameType}); unknown types are passed through. */
  type: number;
  /** Flags byte. */
  flags: number;
  /** Stream identifier (the reserved bit cleared). */
  streamId: number;
  /** The payload, padding included. */
  payload: Uint8Array;
}

/** Serialises one frame. */
export function encodeFrame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_LEN + payload.length);
  const n = payload.length;
  out[0] = n >>> 16;
  out[1] = (n >>> 8) & 0xff;
  out[2] = n & 0xff;
  out[3] = type;
  out[4] = flags;
  new DataView(out.buffer).setUint32(5, streamId & MAX_WINDOW);
  out.set(payload, FRAME_HEADER_LEN);
  return out;
}

/**
 * Cuts a byte stream into frames.
 *
 * @example
 * ```ts
 * const r = new FrameReader();
 * r.push(new Uint8Array([0, 0, 0, 4, 1, 0, 0, 0, 0])); // SETTINGS ACK
 * const f = r.next(16384); // { type: 4, flags: 1, streamId: 0, payload: [] }
 * ```
 */
export class FrameReader {
  #buf: Uint8Array = new Uint8Array(0);
  #off = 0;

  /** Bytes buffered but not yet returned as frames. */
  get buffered(): number {
    return this.#buf.length - this.#off;
  }

  /** Appends received bytes (kept by reference when nothing is pending). */
  push(bytes: Uint8Array): void {
    const rest = this.#buf.length - this.#off;
    if (rest === 0) {
      this.#buf = bytes;
    } else {
      const b = new Uint8Array(rest + bytes.length);
      b.set(this.#buf.subarray(this.#off));
      b.set(bytes, rest);
      this.#buf = b;
    }
    this.#off = 0;
  }

  /**
   * The next complete frame, or null until more bytes arrive.
   *
   * @throws {H2Error} FRAME_SIZE_ERROR for a frame longer than `maxSize`
   */
  next(maxSize: number): Frame | null {
    const b = this.#buf;
    const o = this.#off;
    if (b.length - o < FRAME_HEADER_LEN) return null;
    const len = (b[o] << 16) | (b[o + 1] << 8) | b[o + 2];
    if (len > maxSize) {
      throw new H2Error(
        ErrorCode.FRAME_SIZE_ERROR,
        `http2: received a ${len}-byte frame, limit ${maxSize}`,
      );
    }
    if (b.length - o < FRAME_HEADER_LEN + len) return null;
    const streamId = ((b[o + 5] << 24) | (b[o + 6] << 16) | (b[o + 7] << 8) | b[o + 8]) &
      MAX_WINDOW;
    const frame = {
      type: b[o + 3],
      flags: b[o + 4],
      streamId,
      payload: b.subarray(o + FRAME_HEADER_LEN, o + FRAME_HEADER_LEN + len),
    };
    this.#off = o + FRAME_HEADER_LEN + len;
    return frame;
  }
}

/**
 * The payload of a DATA or HEADERS frame without its padding (and, for
 * HEADERS with the PRIORITY flag, without the 5 priority bytes).
 *
 * @throws {H2Error} PROTOCOL_ERROR when the padding is longer than the payload
 */
export function framePayload(frame: Frame): Uint8Array {
  let p = frame.payload;
  let pad = 0;
  if (frame.flags & Flag.PADDED) {
    if (p.length < 1) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "http2: padded frame is empty");
    pad = p[0];
    p = p.subarray(1);
  }
  if (frame.type === FrameType.HEADERS && frame.flags & Flag.PRIORITY) {
    if (p.length < 5) {
      throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "http2: HEADERS too short for its priority");
    }
    p = p.subarray(5);
  }
  if (pad > p.length) {
    throw new H2Error(ErrorCode.PROTOCOL_ERROR, "http2: padding longer than the frame");
  }
  return p.subarray(0, p.length - pad);
}

/** A 32-bit big-endian value at `off`, the reserved top bit cleared when `mask`. */
export function readU32(p: Uint8Array, off: number, mask = false): number {
  const v = ((p[off] << 24) | (p[off + 1] << 16) | (p[off + 2] << 8) | p[off + 3]) >>> 0;
  return mask ? v & MAX_WINDOW : v;
}

/** A 32-bit big-endian payload (WINDOW_UPDATE, RST_STREAM). */
export function u32Payload(value: number): Uint8Array {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setUint32(0, value >>> 0);
  return p;
}

/**
 * Parses a SETTINGS payload into (identifier, value) pairs.
 *
 * @throws {H2Error} FRAME_SIZE_ERROR when the length is not a multiple of 6
 */
export function parseSettings(p: Uint8Array): Array<[number, number]> {
  if (p.length % 6 !== 0) {
    throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, `http2: SETTINGS of ${p.length} bytes`);
  }
  const out: Array<[number, number]> = [];
  for (let i = 0; i < p.length; i += 6) out.push([(p[i] << 8) | p[i + 1], readU32(p, i + 2)]);
  return out;
}

/** Serialises SETTINGS pairs. */
export function encodeSettings(pairs: Array<[number, number]>): Uint8Array {
  const p = new Uint8Array(pairs.length * 6);
  const v = new DataView(p.buffer);
  pairs.forEach(([id, value], i) => {
    v.setUint16(i * 6, id);
    v.setUint32(i * 6 + 2, value >>> 0);
  });
  return p;
}

/** A GOAWAY payload: last stream id, error code, debug text. */
export function encodeGoaway(lastStreamId: number, code: number, debug = ""): Uint8Array {
  const d = new TextEncoder().encode(debug);
  const p = new Uint8Array(8 + d.length);
  p.set(u32Payload(lastStreamId & MAX_WINDOW));
  p.set(u32Payload(code), 4);
  p.set(d, 8);
  return p;
}
