/**
 * TLS 1.3 handshake messages a server reads and writes (RFC 8446 §4): the ClientHello it
 * parses, and ServerHello, EncryptedExtensions, Certificate, CertificateVerify and Finished.
 *
 * @module
 */

/** Handshake message types used here. */
export const HandshakeType = {
  ClientHello: 1,
  ServerHello: 2,
  EncryptedExtensions: 8,
  Certificate: 11,
  CertificateVerify: 15,
  Finished: 20,
  KeyUpdate: 24,
} as const;

/** Alert descriptions this server sends (RFC 8446 §6). */
export const AlertCode = {
  CloseNotify: 0,
  UnexpectedMessage: 10,
  BadRecordMac: 20,
  RecordOverflow: 22,
  HandshakeFailure: 40,
  IllegalParameter: 47,
  DecodeError: 50,
  DecryptError: 51,
  ProtocolVersion: 70,
  InternalError: 80,
  MissingExtension: 109,
} as const;

/** A fatal protocol error: the alert to send, and why. */
export class TlsAlert extends Error {
  /** The alert description. */
  readonly code: number;
  /** Creates the error. */
  constructor(code: number, message: string) {
    super(message);
    this.name = "TlsAlert";
    this.code = code;
  }
}

/** X25519's NamedGroup code point. */
export const GROUP_X25519 = 0x001d;
const EXT_SUPPORTED_GROUPS = 0x000a;
const EXT_SIGNATURE_ALGORITHMS = 0x000d;
const EXT_SUPPORTED_VERSIONS = 0x002b;
const EXT_KEY_SHARE = 0x0033;
const TLS13 = 0x0304;

/** What the server needs from a ClientHello. */
export interface ClientHello {
  /** legacy_session_id, echoed in the ServerHello. */
  sessionId: Uint8Array;
  /** cipher_suites, in the client's order. */
  suites: number[];
  /** Whether supported_versions offers TLS 1.3. */
  tls13: boolean;
  /** The client's X25519 key share, if it sent one. */
  x25519: Uint8Array | null;
  /** supported_groups. */
  groups: number[];
  /** signature_algorithms. */
  sigAlgs: number[];
}

/** A bounds-checked big-endian reader; every overrun is a decode_error. */
class Reader {
  #b: Uint8Array;
  #o = 0;
  constructor(b: Uint8Array) {
    this.#b = b;
  }
  get left(): number {
    return this.#b.length - this.#o;
  }
  #need(n: number): void {
    if (this.left < n) throw new TlsAlert(AlertCode.DecodeError, "ClientHello is truncated");
  }
  u8(): number {
    this.#need(1);
    return this.#b[this.#o++];
  }
  u16(): number {
    this.#need(2);
    const v = (this.#b[this.#o] << 8) | this.#b[this.#o + 1];
    this.#o += 2;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.#need(n);
    const v = this.#b.subarray(this.#o, this.#o + n);
    this.#o += n;
    return v;
  }
  /** A u8- or u16-length-prefixed vector, as its own reader. */
  vec(lenBytes: 1 | 2): Reader {
    return new Reader(this.bytes(lenBytes === 1 ? this.u8() : this.u16()));
  }
  u16List(): number[] {
    const out: number[] = [];
    if (this.left % 2 !== 0) throw new TlsAlert(AlertCode.DecodeError, "odd-length u16 list");
    while (this.left > 0) out.push(this.u16());
    return out;
  }
}

/**
 * Parses a ClientHello body (after the 4-byte handshake header).
 *
 * @throws {TlsAlert} decode_error on malformed input
 */
export function parseClientHello(body: Uint8Array): ClientHello {
  const r = new Reader(body);
  r.u16(); // legacy_version
  r.bytes(32); // random
  const sid = r.vec(1);
  if (sid.left > 32) throw new TlsAlert(AlertCode.IllegalParameter, "session id over 32 bytes");
  const sessionId = sid.bytes(sid.left).slice();
  const suites = r.vec(2).u16List();
  r.vec(1); // legacy_compression_methods
  const hello: ClientHello = {
    sessionId,
    suites,
    tls13: false,
    x25519: null,
    groups: [],
    sigAlgs: [],
  };
  if (r.left === 0) return hello; // no extensions: an old client
  const exts = r.vec(2);
  if (r.left !== 0) throw new TlsAlert(AlertCode.DecodeError, "bytes after the extensions");
  while (exts.left > 0) {
    const type = exts.u16();
    const e = exts.vec(2);
    if (type === EXT_SUPPORTED_VERSIONS) {
      const v = e.vec(1).u16List();
      hello.tls13 = v.includes(TLS13);
    } else if (type === EXT_SUPPORTED_GROUPS) {
      hello.groups = e.vec(2).u16List();
    } else if (type === EXT_SIGNATURE_ALGORITHMS) {
      hello.sigAlgs = e.vec(2).u16List();
    } else if (type === EXT_KEY_SHARE) {
      const shares = e.vec(2);
      while (shares.left > 0) {
        const group = shares.u16();
        const key = shares.vec(2);
        if (group === GROUP_X25519 && hello.x25519 === null) {
          if (key.left !== 32) throw new TlsAlert(AlertCode.IllegalParameter, "bad X25519 share");
          hello.x25519 = key.bytes(32).slice();
        }
      }
    }
  }
  return hello;
}

/** A handshake message: type, 24-bit length, body. */
export function handshakeMessage(type: number, ...body: Uint8Array[]): Uint8Array {
  const len = body.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(4 + len);
  out[0] = type, out[1] = len >> 16, out[2] = (len >> 8) & 0xff, out[3] = len & 0xff;
  let off = 4;
  for (const b of body) out.set(b, off), off += b.length;
  return out;
}

function u16(v: number): Uint8Array {
  return Uint8Array.of(v >> 8, v & 0xff);
}

function u24(v: number): Uint8Array {
  return Uint8Array.of(v >> 16, (v >> 8) & 0xff, v & 0xff);
}

/** A ServerHello-shaped message: legacy fields, then the extensions (already encoded). */
function serverHelloMessage(
  random: Uint8Array,
  sessionId: Uint8Array,
  suite: number,
  extensions: Uint8Array[],
): Uint8Array {
  const extLen = extensions.reduce((n, e) => n + e.length, 0);
  return handshakeMessage(
    HandshakeType.ServerHello,
    u16(0x0303),
    random,
    Uint8Array.of(sessionId.length),
    sessionId,
    u16(suite),
    Uint8Array.of(0),
    u16(extLen),
    ...extensions,
  );
}

/** An extension: type, 16-bit length, body. */
function extension(type: number, ...body: Uint8Array[]): Uint8Array {
  const len = body.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(4 + len);
  out.set(u16(type));
  out.set(u16(len), 2);
  let off = 4;
  for (const b of body) out.set(b, off), off += b.length;
  return out;
}

const SUPPORTED_VERSIONS_TLS13 = extension(EXT_SUPPORTED_VERSIONS, u16(TLS13));

/** ServerHello with key_share (X25519) then supported_versions (TLS 1.3). */
export function serverHello(
  random: Uint8Array,
  sessionId: Uint8Array,
  suite: number,
  x25519Public: Uint8Array,
): Uint8Array {
  return serverHelloMessage(random, sessionId, suite, [
    extension(EXT_KEY_SHARE, u16(GROUP_X25519), u16(32), x25519Public),
    SUPPORTED_VERSIONS_TLS13,
  ]);
}

// SHA-256("HelloRetryRequest"): the random that marks a ServerHello as a HelloRetryRequest.
const HRR_RANDOM = Uint8Array.fromHex(
  "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c",
);

/** HelloRetryRequest (RFC 8446 §4.1.4) asking for an X25519 key share. */
export function helloRetryRequest(sessionId: Uint8Array, suite: number): Uint8Array {
  return serverHelloMessage(HRR_RANDOM, sessionId, suite, [
    SUPPORTED_VERSIONS_TLS13,
    extension(EXT_KEY_SHARE, u16(GROUP_X25519)),
  ]);
}

/** EncryptedExtensions with no extensions (no ALPN, no SNI acknowledgement). */
export function encryptedExtensions(): Uint8Array {
  return handshakeMessage(HandshakeType.EncryptedExtensions, u16(0));
}

/** Certificate: the DER certificates in order, no request context, no extensions. */
export function certificate(ders: Uint8Array[]): Uint8Array {
  const entries = ders.flatMap((d) => [u24(d.length), d, u16(0)]);
  const listLen = ders.reduce((n, d) => n + 3 + d.length + 2, 0);
  return handshakeMessage(HandshakeType.Certificate, Uint8Array.of(0), u24(listLen), ...entries);
}

const CV_CONTEXT = new TextEncoder().encode("TLS 1.3, server CertificateVerify");

/** The bytes a server's CertificateVerify signs (RFC 8446 §4.4.3). */
export function certificateVerifyContent(transcriptHash: Uint8Array): Uint8Array {
  const out = new Uint8Array(64 + CV_CONTEXT.length + 1 + transcriptHash.length);
  out.fill(0x20, 0, 64);
  out.set(CV_CONTEXT, 64);
  out.set(transcriptHash, 64 + CV_CONTEXT.length + 1);
  return out;
}

/** CertificateVerify with a signature under `scheme`. */
export function certificateVerify(scheme: number, signature: Uint8Array): Uint8Array {
  return handshakeMessage(
    HandshakeType.CertificateVerify,
    u16(scheme),
    u16(signature.length),
    signature,
  );
}

/** Finished. */
export function finished(verifyData: Uint8Array): Uint8Array {
  return handshakeMessage(HandshakeType.Finished, verifyData);
}

/** A plaintext fatal alert record, for errors before the handshake keys exist. */
export function plaintextAlert(code: number): Uint8Array {
  return Uint8Array.of(21, 3, 3, 0, 2, code === AlertCode.CloseNotify ? 1 : 2, code);
}
