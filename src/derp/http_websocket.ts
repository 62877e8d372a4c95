/**
 * WebSocket transport for DERP (RFC 6455, subprotocol `derp`): binary messages
 * carry the ordinary DERP byte stream with no message-boundary guarantees.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { closeQuietly, type DuplexConn, writeAll } from "./conn.ts";

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Largest WebSocket frame we accept. */
const MAX_WS_FRAME = 1 << 20;

/** The Sec-WebSocket-Accept value for a Sec-WebSocket-Key. */
export function webSocketAccept(key: string): string {
  return createHash("sha1").update(key + WS_GUID).digest("base64");
}

/**
 * A DuplexConn over WebSocket frames. The server side sends unmasked frames and
 * requires masked ones; the client side does the opposite.
 */
export class WebSocketConn implements DuplexConn {
  #conn: DuplexConn;
  #isClient: boolean;
  #buf: Uint8Array;
  /** Unconsumed bytes are #buf[#start, #len). */
  #start = 0;
  #len = 0;
  #payload: Uint8Array = new Uint8Array(0);
  #closed = false;

  /** Wraps conn; rest holds bytes already read past the HTTP head. */
  constructor(conn: DuplexConn, isClient: boolean, rest?: Uint8Array) {
    this.#conn = conn;
    this.#isClient = isClient;
    this.#buf = new Uint8Array(Math.max(4096, rest?.length ?? 0));
    if (rest) {
      this.#buf.set(rest);
      this.#len = rest.length;
    }
  }

  /**
   * Reads data-frame bytes into `p`, answering pings on the way; null at the
   * end of the stream or after a close frame.
   *
   * @throws {Error} for a frame masked wrongly for this side, over 1 MiB, or with an
   *   unsupported opcode (the caller closes the connection)
   */
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#payload.length === 0) {
      const ok = await this.#readFrame();
      if (!ok) return null;
    }
    const n = Math.min(p.length, this.#payload.length);
    p.set(this.#payload.subarray(0, n));
    this.#payload = this.#payload.subarray(n);
    return n;
  }

  async write(p: Uint8Array): Promise<number> {
    await writeAll(this.#conn, this.#frame(0x2, p));
    return p.length;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.write(this.#frame(0x8, new Uint8Array([0x03, 0xe8]))).catch(() => {}).finally(
      () => closeQuietly(this.#conn),
    );
  }

  #frame(opcode: number, payload: Uint8Array): Uint8Array {
    const n = payload.length;
    const extLen = n < 126 ? 0 : n < 65536 ? 2 : 8;
    const maskLen = this.#isClient ? 4 : 0;
    const out = new Uint8Array(2 + extLen + maskLen + n);
    out[0] = 0x80 | opcode;
    let off = 2;
    if (extLen === 0) out[1] = n;
    else if (extLen === 2) {
      out[1] = 126;
      out[2] = n >> 8;
      out[3] = n & 255;
      off = 4;
    } else {
      out[1] = 127;
      new DataView(out.buffer).setBigUint64(2, BigInt(n));
      off = 10;
    }
    if (this.#isClient) {
      out[1] |= 0x80;
      const mask = crypto.getRandomValues(new Uint8Array(4));
      out.set(mask, off);
      off += 4;
      for (let i = 0; i < n; i++) out[off + i] = payload[i] ^ mask[i & 3];
    } else {
      out.set(payload, off);
    }
    return out;
  }

  /** Reads until `n` unconsumed bytes are buffered; false at end of stream. */
  async #need(n: number): Promise<boolean> {
    if (this.#start + n > this.#buf.length) {
      // Move what is left to the front, only now: copying it after every frame made a run
      // of small frames in a big buffer cost time quadratic in its size.
      const next = n > this.#buf.length ? new Uint8Array(n) : this.#buf;
      if (next === this.#buf) next.copyWithin(0, this.#start, this.#len);
      else next.set(this.#buf.subarray(this.#start, this.#len));
      this.#len -= this.#start;
      this.#start = 0;
      this.#buf = next;
    }
    while (this.#len - this.#start < n) {
      const r = await this.#conn.read(this.#buf.subarray(this.#len));
      if (r === null) return false;
      this.#len += r;
    }
    return true;
  }

  #consume(n: number): void {
    this.#start += n;
    if (this.#start === this.#len) this.#start = this.#len = 0;
  }

  /** Reads one frame; data frames land in #payload. False at end of stream. */
  async #readFrame(): Promise<boolean> {
    if (!(await this.#need(2))) return false;
    const s = this.#start;
    const b0 = this.#buf[s], b1 = this.#buf[s + 1];
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    if (masked === this.#isClient) {
      throw new Error("WebSocket frame masking is wrong for this side");
    }
    if ((b0 & 0x70) !== 0) throw new Error("WebSocket frame sets RSV bits (no extension agreed)");
    let len = b1 & 0x7f;
    // RFC 6455 §5.5: control frames are whole and small, so a ping is never a way to make us
    // echo megabytes.
    if (opcode >= 0x8 && ((b0 & 0x80) === 0 || len > 125)) {
      throw new Error(`WebSocket control frame 0x${opcode.toString(16)} is fragmented or too long`);
    }
    let hdr = 2;
    if (len === 126) {
      if (!(await this.#need(4))) return false;
      len = (this.#buf[this.#start + 2] << 8) | this.#buf[this.#start + 3];
      hdr = 4;
    } else if (len === 127) {
      if (!(await this.#need(10))) return false;
      const big = new DataView(this.#buf.buffer, this.#buf.byteOffset + this.#start + 2, 8)
        .getBigUint64(0);
      if (big > BigInt(MAX_WS_FRAME)) {
        throw new Error(`WebSocket frame of ${big} bytes is too large`);
      }
      len = Number(big);
      hdr = 10;
    }
    if (len > MAX_WS_FRAME) throw new Error(`WebSocket frame of ${len} bytes is too large`);
    const maskOff = hdr;
    if (masked) hdr += 4;
    if (!(await this.#need(hdr + len))) return false;
    const at = this.#start;
    const payload = this.#buf.slice(at + hdr, at + hdr + len);
    if (masked) {
      const m = this.#buf.subarray(at + maskOff, at + maskOff + 4);
      for (let i = 0; i < len; i++) payload[i] ^= m[i & 3];
    }
    this.#consume(hdr + len);
    switch (opcode) {
      case 0x0:
      case 0x1:
      case 0x2:
        this.#payload = payload;
        return true;
      case 0x8:
        this.close();
        return false;
      case 0x9:
        await writeAll(this.#conn, this.#frame(0xa, payload));
        return true;
      case 0xa:
        return true;
      default:
        throw new Error(`WebSocket opcode ${opcode} is not supported`);
    }
  }
}
