/**
 * The TLS 1.3 key schedule over SHA-256 (RFC 8446 §7.1): HKDF-Extract, HKDF-Expand-Label,
 * Derive-Secret, traffic keys and Finished values, for a server without PSKs.
 *
 * @module
 */

import { hmacSha256, sha256 } from "../crypto/sha256.ts";

/** SHA-256 output length, the only hash this schedule runs on. */
export const HASH_LEN = 32;
const ZEROS = new Uint8Array(HASH_LEN);
const enc = new TextEncoder();

/** HKDF-Extract (RFC 5869 §2.2). */
export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return hmacSha256(salt.length === 0 ? ZEROS : salt, ikm);
}

/** HKDF-Expand-Label (RFC 8446 §7.1): HKDF-Expand with a "tls13 "-prefixed label. */
export function expandLabel(
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  const l = enc.encode("tls13 " + label);
  const info = new Uint8Array(4 + l.length + context.length);
  info[0] = length >> 8;
  info[1] = length & 0xff;
  info[2] = l.length;
  info.set(l, 3);
  info[3 + l.length] = context.length;
  info.set(context, 4 + l.length);
  const out = new Uint8Array(length);
  let t: Uint8Array = new Uint8Array(0);
  for (let off = 0, i = 1; off < length; i++) {
    t = hmacSha256(secret, t, info, Uint8Array.of(i));
    out.set(t.subarray(0, Math.min(HASH_LEN, length - off)), off);
    off += HASH_LEN;
  }
  return out;
}

/** Derive-Secret (RFC 8446 §7.1) from a transcript hash already taken. */
export function deriveSecret(
  secret: Uint8Array,
  label: string,
  transcriptHash: Uint8Array,
): Uint8Array {
  return expandLabel(secret, label, transcriptHash, HASH_LEN);
}

const EMPTY_HASH = sha256();
/** Early Secret with no PSK: HKDF-Extract(0, 0). */
const EARLY_SECRET = hkdfExtract(ZEROS, ZEROS);

/** The handshake secret and both handshake traffic secrets. */
export interface HandshakeSecrets {
  /** Handshake Secret (its "derived" child salts the master secret). */
  handshake: Uint8Array;
  /** client_handshake_traffic_secret. */
  client: Uint8Array;
  /** server_handshake_traffic_secret. */
  server: Uint8Array;
}

/** Handshake secrets from the (EC)DHE shared secret and Hash(ClientHello..ServerHello). */
export function handshakeSecrets(shared: Uint8Array, helloHash: Uint8Array): HandshakeSecrets {
  const hs = hkdfExtract(deriveSecret(EARLY_SECRET, "derived", EMPTY_HASH), shared);
  return {
    handshake: hs,
    client: deriveSecret(hs, "c hs traffic", helloHash),
    server: deriveSecret(hs, "s hs traffic", helloHash),
  };
}

/** Both application traffic secrets, from Hash(ClientHello..server Finished). */
export function applicationSecrets(
  handshakeSecret: Uint8Array,
  finishedHash: Uint8Array,
): { client: Uint8Array; server: Uint8Array } {
  const master = hkdfExtract(deriveSecret(handshakeSecret, "derived", EMPTY_HASH), ZEROS);
  return {
    client: deriveSecret(master, "c ap traffic", finishedHash),
    server: deriveSecret(master, "s ap traffic", finishedHash),
  };
}

/** Record key and IV of a traffic secret (RFC 8446 §7.3). */
export function trafficKey(
  secret: Uint8Array,
  keyLen: number,
): { key: Uint8Array; iv: Uint8Array } {
  return {
    key: expandLabel(secret, "key", new Uint8Array(0), keyLen),
    iv: expandLabel(secret, "iv", new Uint8Array(0), 12),
  };
}

/** Finished verify_data (RFC 8446 §4.4.4) for a base secret and transcript hash. */
export function finishedVerifyData(baseSecret: Uint8Array, transcriptHash: Uint8Array): Uint8Array {
  return hmacSha256(
    expandLabel(baseSecret, "finished", new Uint8Array(0), HASH_LEN),
    transcriptHash,
  );
}

/** The next traffic secret after a KeyUpdate (RFC 8446 §7.2). */
export function nextTrafficSecret(secret: Uint8Array): Uint8Array {
  return expandLabel(secret, "traffic upd", new Uint8Array(0), HASH_LEN);
}
