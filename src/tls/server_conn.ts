/**
 * A TLS 1.3 server connection over a {@link PushConn} (warren's epoll sockets): records are
 * decrypted as the socket pushes them and handed on, in pull mode to read() for the HTTP
 * phase, then in push mode to the DERP core. Once established a connection holds two small
 * key arrays and two sequence numbers; buffers exist only while a record is incomplete or
 * decrypted bytes wait for a reader.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import type { PushConn, PushSink } from "../derp/push_conn.ts";
import type { DuplexConn } from "../derp/conn.ts";
import type { ByteReader } from "../derp/frame.ts";
export type { ByteReader, DuplexConn, PushConn, PushSink };
import {
  AlertCode,
  handshakeMessage,
  HandshakeType,
  plaintextAlert,
  TlsAlert,
} from "./messages.ts";
import {
  type CipherSuite,
  ContentType,
  DIRECTION_LEN,
  directionKeys,
  HEADER_LEN,
  MAX_PLAINTEXT,
  openRecord,
  sealedLength,
  sealRecord,
  updateKeys,
} from "./record.ts";
import { answerClientHello } from "./server_handshake.ts";
import type { TlsServerIdentity } from "./server_identity.ts";
import { KeySlab } from "./key_slab.ts";
import { type HeldRecord, splitRecords } from "./record_splitter.ts";

/** The socket under a TLS connection: a push connection that reports its queued bytes. */
export interface TlsTransport extends PushConn {
  /** Bytes accepted by write()/writeSync() but not yet taken by the kernel. */
  readonly unsent: number;
}

const HS_AWAIT_HELLO = 1;
const HS_AWAIT_FINISHED = 2;

/** State that exists only during the handshake. */
interface Handshake {
  stage: number;
  /** Handshake bytes of a message split across records. */
  pending: Uint8Array | null;
  clientApplication: Uint8Array | null;
  clientFinished: Uint8Array | null;
  /** After a HelloRetryRequest: the second ClientHello's transcript prefix. */
  retried?: Uint8Array;
}

interface PendingRead {
  p: Uint8Array;
  resolve: (n: number | null) => void;
  reject: (e: Error) => void;
}

const PUSHING = 1;
const ENDED = 2;
const CLOSED = 4;
const ESTABLISHED = 8;

const CLOSE_NOTIFY = Uint8Array.of(1, AlertCode.CloseNotify);

/** Decrypted bytes a connection may hold for a reader before it is dropped as abusive. */
const MAX_QUEUED_PLAINTEXT = 256 * 1024;

// Both directions' key material of every connection, [read | write], from shared chunks.
const keys = new KeySlab(2 * DIRECTION_LEN);

// One buffer for every writeSync: only the part the socket does not take now is copied.
let scratch = new Uint8Array(0);

/** See the module documentation. */
export class TlsServerConn implements PushConn {
  /** Called once when the connection closes. */
  onClose: ((conn: PushConn) => void) | null = null;
  readonly #t: TlsTransport;
  readonly #id: TlsServerIdentity;
  #hs: Handshake | null = null;
  #suite: CipherSuite = 0 as CipherSuite;
  /** Both directions' key material from {@link keys} (absent before the ClientHello). */
  #keys: Uint8Array | null = null;
  #rkeys: Uint8Array | null = null;
  #wkeys: Uint8Array | null = null;
  #rseq = 0;
  #wseq = 0;
  /** A record split across chunks, while it is incomplete. */
  #held: HeldRecord | null = null;
  #plain: Uint8Array[] | null = null;
  #read: PendingRead | null = null;
  #sink: PushSink | null = null;
  #endErr: Error | undefined;
  #state = 0;

  /** Wraps a freshly accepted transport; the handshake starts when the ClientHello arrives. */
  constructor(transport: TlsTransport, identity: TlsServerIdentity) {
    this.#t = transport;
    this.#id = identity;
    transport.onClose = () => {
      this.#release();
      const cb = this.onClose;
      this.onClose = null;
      cb?.(this);
    };
    transport.push(this);
  }

  /** Whether push() has been called. */
  get pushing(): boolean {
    return (this.#state & PUSHING) !== 0;
  }

  /** Whether the handshake completed. */
  get established(): boolean {
    return (this.#state & ESTABLISHED) !== 0;
  }

  /** Reads decrypted bytes into p; null at the end of the stream. One read at a time. */
  read(p: Uint8Array): Promise<number | null> {
    if ((this.#state & CLOSED) !== 0) return Promise.reject(closedError());
    if (this.pushing) return Promise.reject(new Error("Cannot read: connection is in push mode"));
    if (this.#read) return Promise.reject(new Error("Cannot read: a read is already pending"));
    if (this.#plain !== null) return Promise.resolve(this.#take(p));
    if ((this.#state & ENDED) !== 0) {
      return this.#endErr ? Promise.reject(this.#endErr) : Promise.resolve(null);
    }
    return new Promise((resolve, reject) => (this.#read = { p, resolve, reject }));
  }

  /** Encrypts and writes all of p; resolves to p.length once the kernel has it. */
  write(p: Uint8Array): Promise<number> {
    if ((this.#state & CLOSED) !== 0) return Promise.reject(closedError());
    if (!this.established) return Promise.reject(new Error("TLS handshake is not complete"));
    if (p.length === 0) return Promise.resolve(0);
    return this.#t.write(this.#seal(ContentType.ApplicationData, p, null)).then(() => p.length);
  }

  /**
   * Encrypts and writes p if the socket has nothing queued; returns p.length, or 0 when
   * earlier bytes are still waiting (the caller then uses write()). A record the kernel
   * takes only partly is finished by an async write behind which later writes queue.
   */
  writeSync(p: Uint8Array): number {
    if ((this.#state & CLOSED) !== 0) throw closedError();
    if (!this.established) throw new Error("TLS handshake is not complete");
    if (this.#t.unsent > 0 || p.length === 0) return 0;
    const ct = this.#seal(ContentType.ApplicationData, p, scratchFor(p.length));
    const n = this.#t.writeSync(ct);
    if (n < ct.length) this.#t.write(ct.slice(n)).catch(() => this.close());
    return p.length;
  }

  /** Switches to push delivery; bytes already decrypted go first, on a later microtask. */
  push(sink: PushSink): void {
    if (this.#read) throw new Error("Cannot switch to push mode while a read is pending");
    if (this.pushing) throw new Error("Connection is already in push mode");
    this.#state |= PUSHING;
    this.#sink = sink;
    if (this.#plain !== null || (this.#state & ENDED) !== 0) {
      queueMicrotask(() => this.#flushToSink());
    }
  }

  /** Closes the socket; a pending read fails, push mode ends on a later microtask. */
  close(): void {
    if ((this.#state & CLOSED) !== 0) return;
    const r = this.#read;
    this.#read = null;
    if (this.established && this.#t.unsent === 0) {
      // close_notify, so the peer can tell our end from a truncation (best effort).
      try {
        this.#t.writeSync(this.#seal(ContentType.Alert, CLOSE_NOTIFY, null));
      } catch {
        // Already broken: the close below is all there is.
      }
    }
    this.#t.close(); // calls #release through onClose
    this.#release();
    r?.reject(closedError());
  }

  /** Drops every buffer and gives the key material back, once. */
  #release(): void {
    if ((this.#state & CLOSED) !== 0) return;
    this.#state |= CLOSED;
    this.#hs = null;
    this.#held = null;
    this.#plain = null;
    if (this.#keys !== null) keys.give(this.#keys);
    this.#keys = this.#rkeys = this.#wkeys = null;
  }

  /** @internal Transport bytes (the {@link PushSink} side). */
  pushed(chunk: Uint8Array): void {
    try {
      this.#records(chunk);
    } catch (e) {
      this.#fail(e);
    }
  }

  /** @internal The transport's end of stream. */
  ended(err?: Error): void {
    if ((this.#state & ENDED) !== 0) return;
    this.#state |= ENDED;
    this.#endErr = err;
    this.#hs = null;
    this.#held = null;
    this.#deliverEnd();
  }

  #records(chunk: Uint8Array): void {
    this.#held = splitRecords(this.#held, chunk, (rec) => {
      this.#record(rec);
      return (this.#state & (CLOSED | ENDED)) === 0;
    });
  }

  /** One whole record (header included); its bytes are only valid during the call. */
  #record(rec: Uint8Array): void {
    const type = rec[0];
    if (this.#rkeys === null) {
      if (type === ContentType.Alert) return this.ended(new Error("TLS alert from the client"));
      if (type === ContentType.ChangeCipherSpec && this.#hs?.retried !== undefined) {
        return; // a compatibility-mode client's CCS between its two hellos
      }
      if (type !== ContentType.Handshake) {
        throw new TlsAlert(AlertCode.UnexpectedMessage, `record type ${type} before ClientHello`);
      }
      this.#hs ??= {
        stage: HS_AWAIT_HELLO,
        pending: null,
        clientApplication: null,
        clientFinished: null,
      };
      return this.#handshakeBytes(rec.subarray(HEADER_LEN));
    }
    if (type === ContentType.ChangeCipherSpec && this.#hs !== null) {
      // Middlebox compatibility (RFC 8446 §5): one byte 0x01, ignored during the handshake.
      if (rec.length !== HEADER_LEN + 1 || rec[HEADER_LEN] !== 1) {
        throw new TlsAlert(AlertCode.UnexpectedMessage, "bad change_cipher_spec");
      }
      return;
    }
    if (type !== ContentType.ApplicationData) {
      throw new TlsAlert(AlertCode.UnexpectedMessage, `plaintext record type ${type}`);
    }
    const inner = openRecord(this.#suite, this.#rkeys, this.#rseq, rec);
    if (inner === null) throw new TlsAlert(AlertCode.BadRecordMac, "record does not authenticate");
    this.#rseq++;
    if (inner.length > MAX_PLAINTEXT) {
      throw new TlsAlert(AlertCode.RecordOverflow, "record too long");
    }
    const plain = rec.subarray(HEADER_LEN, HEADER_LEN + inner.length);
    if (inner.type === ContentType.ApplicationData) {
      if (!this.established) {
        throw new TlsAlert(AlertCode.UnexpectedMessage, "data before Finished");
      }
      return this.#deliver(plain);
    }
    if (inner.type === ContentType.Handshake) {
      this.#hs ??= { stage: 0, pending: null, clientApplication: null, clientFinished: null };
      return this.#handshakeBytes(plain);
    }
    if (inner.type === ContentType.Alert) {
      const closeNotify = plain.length === 2 && plain[1] === AlertCode.CloseNotify;
      return this.ended(
        closeNotify ? undefined : new Error(`TLS alert ${plain[1]} from the client`),
      );
    }
    throw new TlsAlert(AlertCode.UnexpectedMessage, `record content type ${inner.type}`);
  }

  #handshakeBytes(b: Uint8Array): void {
    const hs = this.#hs!;
    let buf = b;
    if (hs.pending !== null) {
      buf = new Uint8Array(hs.pending.length + b.length);
      buf.set(hs.pending);
      buf.set(b, hs.pending.length);
      hs.pending = null;
    }
    let off = 0;
    while (buf.length - off >= 4 && this.#hs !== null) {
      const len = (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
      if (len > 65536) throw new TlsAlert(AlertCode.DecodeError, "handshake message too long");
      if (buf.length - off < 4 + len) break;
      this.#handshakeMessage(buf.subarray(off, off + 4 + len));
      off += 4 + len;
    }
    if (off < buf.length && this.#hs !== null) hs.pending = buf.slice(off);
    else if (off < buf.length) {
      throw new TlsAlert(AlertCode.UnexpectedMessage, "handshake bytes after the last message");
    }
  }

  #handshakeMessage(msg: Uint8Array): void {
    const hs = this.#hs!;
    const type = msg[0];
    if (hs.stage === HS_AWAIT_HELLO && type === HandshakeType.ClientHello) {
      const f = answerClientHello(this.#id, msg, {}, hs.retried);
      if ("helloRetryRequest" in f) {
        const m = f.helloRetryRequest;
        const rec = new Uint8Array(HEADER_LEN + m.length);
        rec.set([ContentType.Handshake, 3, 3, m.length >> 8, m.length & 0xff]);
        rec.set(m, HEADER_LEN);
        this.#send(rec);
        hs.retried = f.transcriptPrefix;
        return;
      }
      this.#suite = f.suite;
      // ServerHello's record, then the sealed flight, in the shared scratch: one write.
      const out = scratchFor(HEADER_LEN + f.serverHello.length + f.encrypted.length);
      const shLen = f.serverHello.length;
      out.set([ContentType.Handshake, 3, 3, shLen >> 8, shLen & 0xff]);
      out.set(f.serverHello, HEADER_LEN);
      const k = this.#keys = keys.take();
      this.#rkeys = k.subarray(0, DIRECTION_LEN);
      this.#wkeys = k.subarray(DIRECTION_LEN);
      directionKeys(f.suite, f.serverHandshake, this.#wkeys);
      const sealed = this.#seal(ContentType.Handshake, f.encrypted, out, HEADER_LEN + shLen);
      this.#sendNow(out.subarray(0, HEADER_LEN + shLen + sealed.length));
      directionKeys(f.suite, f.serverApplication, this.#wkeys);
      this.#wseq = 0;
      directionKeys(f.suite, f.clientHandshake, this.#rkeys);
      this.#rseq = 0;
      hs.stage = HS_AWAIT_FINISHED;
      hs.clientApplication = f.clientApplication;
      hs.clientFinished = f.clientFinished;
      return;
    }
    if (hs.stage === HS_AWAIT_FINISHED && type === HandshakeType.Finished) {
      const got = msg.subarray(4);
      if (got.length !== 32 || !timingSafeEqual(got, hs.clientFinished!)) {
        throw new TlsAlert(AlertCode.DecryptError, "client Finished does not verify");
      }
      directionKeys(this.#suite, hs.clientApplication!, this.#rkeys!);
      this.#rseq = 0;
      this.#hs = null;
      this.#state |= ESTABLISHED;
      return;
    }
    if (hs.stage === 0 && type === HandshakeType.KeyUpdate && msg.length === 5) {
      this.#hs = null;
      updateKeys(this.#suite, this.#rkeys!);
      this.#rseq = 0;
      if (msg[4] === 1) {
        // update_requested: answer under the old key, then move on ourselves.
        this.#send(
          this.#seal(
            ContentType.Handshake,
            handshakeMessage(HandshakeType.KeyUpdate, Uint8Array.of(0)),
            null,
          ),
        );
        updateKeys(this.#suite, this.#wkeys!);
        this.#wseq = 0;
      }
      return;
    }
    throw new TlsAlert(AlertCode.UnexpectedMessage, `unexpected handshake message ${type}`);
  }

  /** Seals data as records of `type` into out (or a new array); returns the bytes. */
  #seal(type: number, data: Uint8Array, out: Uint8Array | null, outOff = 0): Uint8Array {
    const records = Math.max(1, Math.ceil(data.length / MAX_PLAINTEXT));
    const dst = out ?? new Uint8Array(sealedLength(0) * records + data.length);
    let o = outOff;
    for (let i = 0; i < records; i++) {
      const part = data.subarray(i * MAX_PLAINTEXT, Math.min(data.length, (i + 1) * MAX_PLAINTEXT));
      o += sealRecord(this.#suite, this.#wkeys!, this.#wseq++, type, part, dst, o);
    }
    return dst.subarray(outOff, o);
  }

  /** Writes bytes from a shared buffer: what the socket does not take now is copied. */
  #sendNow(bytes: Uint8Array): void {
    const n = this.#t.unsent > 0 ? 0 : this.#t.writeSync(bytes);
    if (n < bytes.length) this.#send(bytes.slice(n));
  }

  #send(bytes: Uint8Array): void {
    this.#t.write(bytes).catch(() => this.close());
  }

  #deliver(plain: Uint8Array): void {
    if (this.#sink !== null) {
      if (this.#plain !== null) this.#flushToSink();
      this.#sink?.pushed(plain);
      return;
    }
    const r = this.#read;
    if (r !== null && this.#plain === null) {
      this.#read = null;
      const n = Math.min(r.p.length, plain.length);
      r.p.set(plain.subarray(0, n));
      if (n < plain.length) this.#plain = [plain.slice(n)];
      r.resolve(n);
      return;
    }
    (this.#plain ??= []).push(plain.slice());
    let queued = 0;
    for (const c of this.#plain) queued += c.length;
    if (queued > MAX_QUEUED_PLAINTEXT) this.close();
  }

  #take(p: Uint8Array): number {
    const q = this.#plain!;
    const c = q[0];
    const n = Math.min(c.length, p.length);
    p.set(c.subarray(0, n));
    if (n === c.length) q.shift();
    else q[0] = c.subarray(n);
    if (q.length === 0) this.#plain = null;
    return n;
  }

  #flushToSink(): void {
    const sink = this.#sink;
    if (sink === null) return;
    const q = this.#plain;
    this.#plain = null;
    for (const c of q ?? []) sink.pushed(c);
    if ((this.#state & ENDED) !== 0) this.#deliverEnd();
  }

  #deliverEnd(): void {
    if (this.#sink !== null) {
      if (this.#plain !== null) return this.#flushToSink();
      const sink = this.#sink;
      this.#sink = null;
      sink.ended(this.#endErr);
      return;
    }
    const r = this.#read;
    if (r === null || this.#plain !== null) return;
    this.#read = null;
    if (this.#endErr) r.reject(this.#endErr);
    else r.resolve(null);
  }

  /** Sends the alert for a protocol error (best effort) and closes. */
  #fail(e: unknown): void {
    if ((this.#state & CLOSED) !== 0) return;
    const code = e instanceof TlsAlert ? e.code : AlertCode.InternalError;
    try {
      const alert = Uint8Array.of(2, code);
      this.#t.writeSync(
        this.#wkeys === null ? plaintextAlert(code) : this.#seal(ContentType.Alert, alert, null),
      );
    } catch {
      // The peer may already be gone; closing is all that is left.
    }
    this.#endErr = e instanceof Error ? e : new Error(String(e));
    this.close();
  }
}

function scratchFor(len: number): Uint8Array {
  const need = len + Math.ceil(len / MAX_PLAINTEXT) * sealedLength(0) + sealedLength(0);
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, 64 * 1024 + 1024));
  return scratch;
}

function closedError(): Error {
  return new Deno.errors.BadResource("Connection is closed");
}
