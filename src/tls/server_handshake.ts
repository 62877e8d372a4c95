/**
 * The server's side of a TLS 1.3 full handshake as one pure step: a ClientHello in, the
 * ServerHello, the encrypted flight (EncryptedExtensions, Certificate, CertificateVerify,
 * Finished) and every traffic secret out. X25519 only (a HelloRetryRequest asks for it when
 * the client offered it without a share), no PSK, no client certificates, no 0-RTT.
 *
 * @module
 */

import { Sha256, sha256 } from "../crypto/sha256.ts";
import { x25519Wasm } from "../crypto/x25519_wasm.ts";
import { applicationSecrets, finishedVerifyData, handshakeSecrets } from "./key_schedule.ts";
import {
  AlertCode,
  certificateVerify,
  certificateVerifyContent,
  encryptedExtensions,
  finished,
  GROUP_X25519,
  handshakeMessage,
  helloRetryRequest,
  parseClientHello,
  serverHello,
  TlsAlert,
} from "./messages.ts";
import {
  type CipherSuite,
  TLS_AES_128_GCM_SHA256,
  TLS_CHACHA20_POLY1305_SHA256,
} from "./record.ts";
import { chooseScheme, signWith, type TlsServerIdentity } from "./server_identity.ts";

/** What the server sends and the keys it then runs on. */
export interface ServerFlight {
  /** The negotiated suite. */
  suite: CipherSuite;
  /** The ServerHello handshake message (sent in a plaintext record). */
  serverHello: Uint8Array;
  /**
   * EncryptedExtensions..Finished, to seal under the server handshake traffic secret: a view
   * of a buffer shared by all handshakes, valid until the next call.
   */
  encrypted: Uint8Array;
  /** client_handshake_traffic_secret: the client's Finished arrives under it. */
  clientHandshake: Uint8Array;
  /** server_handshake_traffic_secret. */
  serverHandshake: Uint8Array;
  /** client_application_traffic_secret_0. */
  clientApplication: Uint8Array;
  /** server_application_traffic_secret_0. */
  serverApplication: Uint8Array;
  /** The verify_data the client's Finished must carry. */
  clientFinished: Uint8Array;
}

/** The answer to a ClientHello without an X25519 share from a client that can do X25519. */
export interface HelloRetry {
  /** The HelloRetryRequest handshake message (sent in a plaintext record). */
  helloRetryRequest: Uint8Array;
  /** message_hash(ClientHello1) ‖ HelloRetryRequest: the second hello's transcript prefix. */
  transcriptPrefix: Uint8Array;
}

/** Test hooks: fixed randomness and suite preference. */
export interface AnswerOptions {
  /** The server's ephemeral X25519 private key (default random). */
  ephemeralPrivate?: Uint8Array;
  /** ServerHello.random (default random). */
  random?: Uint8Array;
  /** Suites in the server's order of preference (default ChaCha20-Poly1305 first). */
  suites?: CipherSuite[];
}

const BASE = new Uint8Array(32);
BASE[0] = 9;
// The encrypted flight of the handshake in progress (they run one at a time, synchronously).
let flight = new Uint8Array(4096);
const DEFAULT_SUITES: CipherSuite[] = [TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256];

/**
 * Answers a ClientHello (the whole handshake message, header included); with
 * `transcriptPrefix`, the second ClientHello after a {@link HelloRetry}.
 *
 * @throws {TlsAlert} when the client cannot do TLS 1.3 with us: protocol_version for
 *   TLS 1.2 and older, handshake_failure for no common suite, group or signature scheme
 */
export function answerClientHello(
  id: TlsServerIdentity,
  clientHello: Uint8Array,
  opts: AnswerOptions = {},
  transcriptPrefix?: Uint8Array,
): ServerFlight | HelloRetry {
  const hello = parseClientHello(clientHello.subarray(4));
  if (!hello.tls13) throw new TlsAlert(AlertCode.ProtocolVersion, "client does not offer TLS 1.3");
  const suite = (opts.suites ?? DEFAULT_SUITES).find((s) => hello.suites.includes(s));
  if (suite === undefined) throw new TlsAlert(AlertCode.HandshakeFailure, "no common cipher suite");
  if (hello.x25519 === null) {
    if (transcriptPrefix === undefined && hello.groups.includes(GROUP_X25519)) {
      const hrr = helloRetryRequest(hello.sessionId, suite);
      const hash = handshakeMessage(254, sha256(clientHello)); // message_hash
      const prefix = new Uint8Array(hash.length + hrr.length);
      prefix.set(hash);
      prefix.set(hrr, hash.length);
      return { helloRetryRequest: hrr, transcriptPrefix: prefix };
    }
    throw new TlsAlert(AlertCode.HandshakeFailure, "no X25519 key share");
  }
  const scheme = chooseScheme(id, hello.sigAlgs);
  if (scheme === null) {
    throw new TlsAlert(AlertCode.HandshakeFailure, "no common signature scheme");
  }
  const priv = opts.ephemeralPrivate ?? crypto.getRandomValues(new Uint8Array(32));
  let shared: Uint8Array;
  try {
    shared = x25519Wasm(priv, hello.x25519);
  } catch {
    throw new TlsAlert(AlertCode.IllegalParameter, "low-order X25519 share");
  }
  const sh = serverHello(
    opts.random ?? crypto.getRandomValues(new Uint8Array(32)),
    hello.sessionId,
    suite,
    x25519Wasm(priv, BASE),
  );
  const transcript = new Sha256();
  if (transcriptPrefix !== undefined) transcript.update(transcriptPrefix);
  transcript.update(clientHello).update(sh);
  const snapshot = () => transcript.copy().digest();
  const hs = handshakeSecrets(shared, snapshot());
  const ee = encryptedExtensions();
  transcript.update(ee).update(id.certificateMessage);
  const cv = certificateVerify(
    scheme,
    signWith(id, scheme, certificateVerifyContent(snapshot())),
  );
  transcript.update(cv);
  const fin = finished(finishedVerifyData(hs.server, snapshot()));
  transcript.update(fin);
  const finishedHash = snapshot();
  const app = applicationSecrets(hs.handshake, finishedHash);
  const len = ee.length + id.certificateMessage.length + cv.length + fin.length;
  if (flight.length < len) flight = new Uint8Array(len);
  const encrypted = flight.subarray(0, len);
  let off = 0;
  for (const m of [ee, id.certificateMessage, cv, fin]) encrypted.set(m, off), off += m.length;
  return {
    suite,
    serverHello: sh,
    encrypted,
    clientHandshake: hs.client,
    serverHandshake: hs.server,
    clientApplication: app.client,
    serverApplication: app.server,
    clientFinished: finishedVerifyData(hs.client, finishedHash),
  };
}
