/**
 * A minimal HTTP/2 client connection (RFC 9113) with prior knowledge, for the
 * TS2021 control channel: requests with small bodies, responses streamed back
 * under flow control, and the frames a server may send at any time (SETTINGS,
 * PING, WINDOW_UPDATE, RST_STREAM, GOAWAY). No server push, no priorities.
 *
 * Any protocol violation by the peer is a connection error: GOAWAY is sent,
 * the transport is closed, and every open request fails with the reason.
 * Nothing escapes the read loop.
 *
 * @module
 */
import { concatBytes } from "../../bytes/concat.ts";
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  encodeFrame,
  encodeGoaway,
  encodeSettings,
  ErrorCode,
  errorCodeName,
  Flag,
  type Frame,
  framePayload,
  FrameReader,
  FrameType,
  H2Error,
  H2StreamError,
  MAX_WINDOW,
  Setting,
  u32Payload,
} from "./frame.ts";
import {
  decodeGoaway,
  decodePing,
  decodeRstStream,
  decodeSettings,
  decodeWindowUpdate,
  flowError,
  frameSizeError,
  headerFrames,
  protocolError,
  RecvWindow,
} from "./control_frames.ts";
import { HpackDecoder, HpackEncoder } from "./hpack.ts";
import { H2Stream, type StreamOwner } from "./stream.ts";
import {
  type H2ConnectionOptions,
  type H2RequestInit,
  type H2Transport,
  requestFields,
} from "./request.ts";

export { H2Stream };
export type { H2ConnectionOptions, H2RequestInit, H2Transport };

/** Connection-side state of one open stream. */
interface StreamState {
  stream: H2Stream;
  sendWindow: number;
  recv: RecvWindow;
  responded: boolean;
  resolve: (s: H2Stream) => void;
  reject: (e: Error) => void;
}

/**
 * An HTTP/2 client connection over `transport`; it starts (preface and
 * SETTINGS) as soon as it is constructed.
 *
 * @example
 * ```ts ignore
 * const h2 = new H2Connection(noiseConn, { authority: "controlplane.tailscale.com" });
 * const res = await h2.request({ method: "POST", path: "/machine/map", body });
 * const bytes = await res.readAll(1 << 20);
 * ```
 */
export class H2Connection implements StreamOwner {
  readonly #t: H2Transport;
  readonly #authority: string;
  readonly #scheme: string;
  readonly #streamWindow: number;
  readonly #connWindow: number;
  readonly #reader = new FrameReader();
  readonly #decoder = new HpackDecoder();
  readonly #encoder = new HpackEncoder();
  readonly #streams = new Map<number, StreamState>();
  #nextId = 1;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxFrame = DEFAULT_MAX_FRAME_SIZE;
  #peerMaxStreams = Infinity;
  #sendWindow = DEFAULT_WINDOW;
  #recv: RecvWindow;
  #block: { id: number; parts: Uint8Array[]; size: number; endStream: boolean } | null = null;
  #goaway: H2Error | null = null;
  #settingsSeen = false;
  #error: Error | null = null;
  #closed = false;
  #waiters: Array<() => void> = [];
  #resolveClosed!: () => void;
  /** Resolves once the connection is down (closed by either side, or failed). */
  readonly closed: Promise<void> = new Promise((r) => this.#resolveClosed = r);

  /** Starts HTTP/2 on `transport`. */
  constructor(transport: H2Transport, opts: H2ConnectionOptions) {
    this.#t = transport;
    this.#authority = opts.authority;
    this.#scheme = opts.scheme ?? "https";
    this.#streamWindow = opts.streamWindow ?? 1 << 20;
    this.#connWindow = Math.max(DEFAULT_WINDOW, opts.connectionWindow ?? 2 << 20);
    this.#recv = new RecvWindow(this.#connWindow); // grown to this size by the opening update
    const settings = encodeSettings([
      [Setting.ENABLE_PUSH, 0],
      [Setting.INITIAL_WINDOW_SIZE, this.#streamWindow],
    ]);
    const parts = [CLIENT_PREFACE, encodeFrame(FrameType.SETTINGS, 0, 0, settings)];
    if (this.#connWindow > DEFAULT_WINDOW) {
      const grow = this.#connWindow - DEFAULT_WINDOW;
      parts.push(encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, u32Payload(grow)));
    }
    this.#send(concatBytes(parts));
    this.#loop();
  }

  /** Whether new requests can be sent (not closed, no GOAWAY received). */
  get alive(): boolean {
    return !this.#closed && this.#goaway === null;
  }

  /** Why the connection went down, if it failed. */
  get error(): Error | null {
    return this.#error;
  }

  /** Open streams. */
  get openStreams(): number {
    return this.#streams.size;
  }

  /**
   * Sends a request; resolves when the response head arrives (its body is
   * then read from the returned stream).
   *
   * @throws {H2Error} the connection is down or went down
   * @throws {H2StreamError} the server reset the stream
   */
  async request(init: H2RequestInit): Promise<H2Stream> {
    const body = init.body ?? null;
    // The server's SETTINGS (its stream limit, window, frame size) come first.
    while (!this.#settingsSeen && !this.#closed) await this.#changed();
    while (this.#streams.size >= this.#peerMaxStreams && this.alive) await this.#changed();
    if (!this.alive) throw this.#goneError();
    if (init.signal?.aborted) throw abortError(init.signal);
    const id = this.#nextId;
    this.#nextId += 2;
    const stream = new H2Stream(id, this);
    const response = new Promise<H2Stream>((resolve, reject) => {
      this.#streams.set(id, {
        stream,
        sendWindow: this.#peerInitialWindow,
        recv: new RecvWindow(this.#streamWindow),
        responded: false,
        resolve,
        reject,
      });
    });
    const onAbort = () => this.#failStream(id, abortError(init.signal!), ErrorCode.CANCEL);
    init.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const block = this.#encoder.encode(
        requestFields(init, this.#scheme, this.#authority, body),
      );
      this.#send(headerFrames(id, block, body === null || body.length === 0, this.#peerMaxFrame));
      if (body !== null && body.length > 0) await this.#sendBody(id, body);
      return await response;
    } catch (err) {
      this.#failStream(id, err as Error, ErrorCode.CANCEL);
      throw err;
    } finally {
      init.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Closes the connection (GOAWAY, then the transport); open streams fail. */
  close(): void {
    this.#shutdown(new H2Error(ErrorCode.NO_ERROR, "http2: connection closed"), true);
  }

  /** {@link StreamOwner}: hands consumed body bytes back to both windows. */
  consumed(id: number, n: number): void {
    if (this.#closed) return;
    this.#creditConnection(n);
    const inc = this.#streams.get(id)?.recv.release(n) ?? 0;
    if (inc > 0) this.#send(encodeFrame(FrameType.WINDOW_UPDATE, 0, id, u32Payload(inc)));
  }

  /** {@link StreamOwner}: the user gave up on `id`. */
  cancel(id: number): void {
    this.#failStream(
      id,
      new H2StreamError(ErrorCode.CANCEL, "http2: stream cancelled"),
      ErrorCode.CANCEL,
    );
  }

  /** DATA frames within the peer's windows and frame size; waits for WINDOW_UPDATE when out. */
  async #sendBody(id: number, body: Uint8Array): Promise<void> {
    let off = 0;
    while (off < body.length) {
      const s = this.#streams.get(id);
      if (s === undefined || s.stream.done) return; // reset or answered early
      if (this.#closed) throw this.#goneError();
      const n = Math.min(body.length - off, this.#sendWindow, s.sendWindow, this.#peerMaxFrame);
      if (n <= 0) {
        await this.#changed();
        continue;
      }
      this.#sendWindow -= n;
      s.sendWindow -= n;
      const end = off + n === body.length;
      this.#send(
        encodeFrame(FrameType.DATA, end ? Flag.END_STREAM : 0, id, body.subarray(off, off + n)),
      );
      off += n;
    }
  }

  #send(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#t.write(bytes).catch((err) => {
      this.#shutdown(
        new H2Error(ErrorCode.INTERNAL_ERROR, "http2: write failed", { cause: err }),
        false,
      );
    });
  }

  async #loop(): Promise<void> {
    try {
      while (!this.#closed) {
        const chunk = await this.#t.read();
        if (chunk === null) {
          const reason = this.#goaway ??
            new H2Error(ErrorCode.NO_ERROR, "http2: the server closed the connection");
          this.#shutdown(reason, false);
          return;
        }
        this.#reader.push(chunk);
        for (
          let f = this.#reader.next(DEFAULT_MAX_FRAME_SIZE);
          f !== null;
          f = this.#reader.next(DEFAULT_MAX_FRAME_SIZE)
        ) {
          this.#handle(f);
          if (this.#closed) return;
        }
      }
    } catch (err) {
      if (this.#closed) return;
      const e = err instanceof H2Error
        ? err
        : new H2Error(ErrorCode.INTERNAL_ERROR, `http2: ${(err as Error).message}`, { cause: err });
      this.#shutdown(e, true);
    }
  }

  #handle(f: Frame): void {
    if (
      this.#block !== null && (f.type !== FrameType.CONTINUATION || f.streamId !== this.#block.id)
    ) {
      throw protocolError("a header block was interrupted by another frame");
    }
    switch (f.type) {
      case FrameType.DATA:
        return this.#onData(f);
      case FrameType.HEADERS:
        return this.#onHeaders(f);
      case FrameType.CONTINUATION:
        return this.#onContinuation(f);
      case FrameType.RST_STREAM:
        return this.#onReset(f);
      case FrameType.SETTINGS:
        return this.#onSettings(f);
      case FrameType.PING:
        return this.#onPing(f);
      case FrameType.GOAWAY:
        return this.#onGoaway(f);
      case FrameType.WINDOW_UPDATE:
        return this.#onWindowUpdate(f);
      case FrameType.PUSH_PROMISE:
        throw protocolError("PUSH_PROMISE although push is disabled");
      case FrameType.PRIORITY:
        if (f.payload.length !== 5) throw frameSizeError("PRIORITY", f.payload.length);
        return;
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  /** The state of a stream a server frame names; null for one already closed. */
  #streamFor(id: number, what: string): StreamState | null {
    if (id === 0) throw protocolError(`${what} on stream 0`);
    if (id % 2 === 0 || id >= this.#nextId) {
      throw protocolError(`${what} on stream ${id}, which this client never opened`);
    }
    return this.#streams.get(id) ?? null;
  }

  #onData(f: Frame): void {
    const s = this.#streamFor(f.streamId, "DATA");
    const len = f.payload.length;
    if (!this.#recv.take(len)) throw flowError("DATA beyond the connection window");
    const data = framePayload(f);
    // Bytes the user will never read (padding, or a dead stream's) are credited back now.
    const unread = s === null || s.stream.done || !s.responded ? len : len - data.length;
    if (unread > 0) this.#creditConnection(unread);
    if (s === null || s.stream.done) return;
    if (!s.responded) {
      return this.#resetStream(s, ErrorCode.PROTOCOL_ERROR, "DATA before the response head");
    }
    if (!s.recv.take(len)) {
      return this.#resetStream(s, ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the stream window");
    }
    if (len > data.length) s.recv.release(len - data.length);
    if (data.length > 0) s.stream.push(data);
    if (f.flags & Flag.END_STREAM) this.#endStream(f.streamId);
  }

  #onHeaders(f: Frame): void {
    if (f.streamId === 0) throw protocolError("HEADERS on stream 0");
    const first = framePayload(f);
    this.#block = {
      id: f.streamId,
      parts: [first],
      size: first.length,
      endStream: (f.flags & Flag.END_STREAM) !== 0,
    };
    if (f.flags & Flag.END_HEADERS) this.#finishBlock();
  }

  #onContinuation(f: Frame): void {
    const b = this.#block;
    if (b === null) throw protocolError("CONTINUATION without HEADERS");
    b.parts.push(f.payload);
    b.size += f.payload.length;
    if (b.size > 256 * 1024) {
      throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, "http2: header block over 256 KiB");
    }
    if (f.flags & Flag.END_HEADERS) this.#finishBlock();
  }

  #finishBlock(): void {
    const b = this.#block!;
    this.#block = null;
    // Decoded whatever the stream's state: the dynamic table must stay in step.
    const fields = this.#decoder.decode(concatBytes(b.parts));
    const s = this.#streamFor(b.id, "HEADERS");
    if (s === null || s.stream.done) return;
    if (!s.responded) {
      const status = Number(fields.find(([n]) => n === ":status")?.[1]);
      if (!Number.isInteger(status) || status < 100 || status > 999) {
        return this.#resetStream(s, ErrorCode.PROTOCOL_ERROR, "response without a valid :status");
      }
      if (status < 200 && !b.endStream) return; // 1xx: the real head follows
      s.responded = true;
      s.stream.status = status;
      s.stream.headers = fields;
      s.resolve(s.stream);
    }
    // A second block is trailers; they end the stream and are otherwise ignored.
    if (b.endStream) this.#endStream(b.id);
  }

  #onReset(f: Frame): void {
    const code = decodeRstStream(f);
    const s = this.#streamFor(f.streamId, "RST_STREAM");
    if (s === null) return;
    this.#forget(f.streamId);
    const err = new H2StreamError(
      code,
      `http2: the server reset the stream (${errorCodeName(code)})`,
    );
    s.stream.fail(err);
    s.reject(err);
  }

  #onSettings(f: Frame): void {
    const pairs = decodeSettings(f);
    if (pairs === null) return;
    for (const [id, value] of pairs) {
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        const delta = value - this.#peerInitialWindow;
        this.#peerInitialWindow = value;
        for (const s of this.#streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) throw flowError("a stream window overflowed");
        }
      } else if (id === Setting.MAX_FRAME_SIZE) {
        this.#peerMaxFrame = value;
      } else if (id === Setting.MAX_CONCURRENT_STREAMS) {
        this.#peerMaxStreams = value;
      }
      // HEADER_TABLE_SIZE: the encoder never indexes, so any size suits it.
    }
    this.#send(encodeFrame(FrameType.SETTINGS, Flag.ACK, 0));
    this.#settingsSeen = true;
    this.#wakeAll();
  }

  #onPing(f: Frame): void {
    const { ack, payload } = decodePing(f);
    if (!ack) this.#send(encodeFrame(FrameType.PING, Flag.ACK, 0, payload));
  }

  #onGoaway(f: Frame): void {
    const { lastStreamId, reason } = decodeGoaway(f);
    this.#goaway = reason;
    // Streams above the last were never processed: fail them (they may be retried elsewhere).
    for (const id of [...this.#streams.keys()]) {
      if (id > lastStreamId) this.#failStream(id, reason, null);
    }
    this.#wakeAll();
    if (this.#streams.size === 0) this.#shutdown(reason, false);
  }

  #onWindowUpdate(f: Frame): void {
    const inc = decodeWindowUpdate(f);
    if (f.streamId === 0) {
      if (inc === 0) throw protocolError("WINDOW_UPDATE of 0");
      this.#sendWindow += inc;
      if (this.#sendWindow > MAX_WINDOW) throw flowError("the connection window overflowed");
    } else {
      const s = this.#streamFor(f.streamId, "WINDOW_UPDATE");
      if (s === null) return;
      if (inc === 0 || s.sendWindow + inc > MAX_WINDOW) {
        const code = inc === 0 ? ErrorCode.PROTOCOL_ERROR : ErrorCode.FLOW_CONTROL_ERROR;
        return this.#resetStream(s, code, "bad stream WINDOW_UPDATE");
      }
      s.sendWindow += inc;
    }
    this.#wakeAll();
  }

  #creditConnection(n: number): void {
    const inc = this.#recv.release(n);
    if (inc > 0) this.#send(encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, u32Payload(inc)));
  }

  #endStream(id: number): void {
    const s = this.#streams.get(id);
    if (s === undefined) return;
    this.#forget(id);
    s.stream.end();
  }

  /** A stream error: the stream fails with `what` and is reset with `code`. */
  #resetStream(s: StreamState, code: number, what: string): void {
    this.#failStream(s.stream.id, new H2StreamError(code, `http2: ${what}`), code);
  }

  /** Fails stream `id`; `rst` non-null sends RST_STREAM with that code. */
  #failStream(id: number, err: Error, rst: number | null): void {
    const s = this.#streams.get(id);
    if (s === undefined) return;
    this.#forget(id);
    s.stream.fail(err);
    s.reject(err);
    if (rst !== null) this.#send(encodeFrame(FrameType.RST_STREAM, 0, id, u32Payload(rst)));
  }

  #forget(id: number): void {
    this.#streams.delete(id);
    this.#wakeAll();
    if (this.#goaway !== null && this.#streams.size === 0) this.#shutdown(this.#goaway, false);
  }

  /** Takes the connection down once; `sendGoaway` tells the server why first. */
  #shutdown(reason: H2Error, sendGoaway: boolean): void {
    if (this.#closed) return;
    if (sendGoaway) {
      const last = 0; // this client accepts no server-initiated streams
      this.#t.write(
        encodeFrame(FrameType.GOAWAY, 0, 0, encodeGoaway(last, reason.code, reason.message)),
      )
        .catch(() => {})
        .finally(() => this.#t.close());
    } else {
      this.#t.close();
    }
    this.#closed = true;
    if (reason.code !== ErrorCode.NO_ERROR) this.#error ??= reason;
    for (const [, s] of this.#streams) {
      s.stream.fail(reason);
      s.reject(reason);
    }
    this.#streams.clear();
    this.#wakeAll();
    this.#resolveClosed();
  }

  #goneError(): H2Error {
    return this.#goaway ?? (this.#error as H2Error | null) ??
      new H2Error(ErrorCode.NO_ERROR, "http2: connection closed");
  }

  #changed(): Promise<void> {
    return new Promise((r) => this.#waiters.push(r));
  }

  #wakeAll(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const r of w) r();
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error("http2: request aborted");
}
