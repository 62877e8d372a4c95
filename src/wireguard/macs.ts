/**
 * The MACs that end every handshake message (whitepaper §5.4.4): keyed BLAKE2s with a 16-byte
 * output, where mac1 and mac2 sit, and the label-hashed keys. Nothing here needs the AEAD, so a
 * thread without the crypto module (a sleeping node's, `wake.ts`) can check a mac1 too; the
 * cookie machinery on top is `cookie.ts`.
 *
 * @module
 */
import { constantTimeEqual } from "../bytes/equal.ts";
import { blake2s } from "../crypto/blake2s.ts";
import {
  LABEL_MAC1,
  MAC_SIZE,
  MESSAGE_INITIATION_SIZE,
  MESSAGE_RESPONSE_SIZE,
} from "./constants.ts";

/**
 * HASH(label ‖ key) for a 32-byte static public key: the mac1 key ("mac1----") or the cookie
 * key ("cookie--").
 *
 * @throws {RangeError} if `key` is not 32 bytes
 */
export function labelHash(label: string, key: Uint8Array): Uint8Array {
  if (key.length !== 32) {
    throw new RangeError(
      `Cannot derive ${label} key: public key is ${key.length} bytes, expected 32`,
    );
  }
  const buf = new Uint8Array(8 + 32);
  buf.set(new TextEncoder().encode(label));
  buf.set(key, 8);
  return blake2s(buf);
}

/** MAC(key, data): keyed BLAKE2s, 16 bytes. */
export function mac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return blake2s(data, MAC_SIZE, key);
}

/** Offsets of mac1 and mac2 in a handshake message; null for any other size. */
export function macOffsets(message: Uint8Array): [number, number] | null {
  if (message.length !== MESSAGE_INITIATION_SIZE && message.length !== MESSAGE_RESPONSE_SIZE) {
    return null;
  }
  const mac2 = message.length - MAC_SIZE;
  return [mac2 - MAC_SIZE, mac2];
}

/**
 * The key of mac1 in messages to the holder of `publicKey`: HASH("mac1----" ‖ publicKey).
 *
 * @example
 * ```ts
 * import { mac1Key } from "./macs.ts";
 * mac1Key(new Uint8Array(32)).length; // 32
 * ```
 */
export function mac1Key(publicKey: Uint8Array): Uint8Array {
  return labelHash(LABEL_MAC1, publicKey);
}

/**
 * Whether `message` is an initiation or response whose mac1 is right under `key` (see
 * {@linkcode mac1Key}): the one cheap check a responder makes before any Diffie-Hellman.
 */
export function mac1Valid(key: Uint8Array, message: Uint8Array): boolean {
  const off = macOffsets(message);
  if (off === null) return false;
  return constantTimeEqual(mac(key, message.subarray(0, off[0])), message.subarray(off[0], off[1]));
}
