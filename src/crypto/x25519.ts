/**
 * X25519 (RFC 7748) key agreement for WireGuard and Noise.
 *
 * Both operations run in warren's WebAssembly module (x25519_wasm.ts). The
 * native `node:crypto` X25519 is faster per operation (61 against 89 µs for a
 * shared secret, `deno run -A bench/_x25519.ts`), but loading `node:crypto`
 * cost every WireGuard node ~3 MB of its own memory (`deno task
 * bench:memory`), and each call made two KeyObjects. A handshake costs each
 * side four Diffie-Hellman operations and an ephemeral key, so ~0.15 ms more
 * per handshake, once per peer every two minutes; the data plane does not use
 * X25519. The tests check against node:crypto, noble and the RFC 7748 vectors.
 *
 * @module
 */
import { x25519Wasm } from "./x25519_wasm.ts";

/** Length in bytes of X25519 private keys, public keys and shared secrets. */
export const X25519_KEY_LENGTH = 32;

// The u-coordinate of the curve's base point, 9 (RFC 7748 §4.1).
const BASE_POINT = new Uint8Array(32);
BASE_POINT[0] = 9;

/**
 * Generates a random X25519 private key, clamped as RFC 7748 §5 describes.
 *
 * @example
 * ```ts
 * const priv = generatePrivateKey();
 * console.assert(priv.length === 32 && (priv[0] & 7) === 0);
 * ```
 */
export function generatePrivateKey(): Uint8Array {
  const key = crypto.getRandomValues(new Uint8Array(X25519_KEY_LENGTH));
  return clamp(key);
}

/**
 * Clamps a 32-byte scalar in place (clear the low 3 bits and bit 255, set bit 254)
 * and returns it, the form WireGuard stores private keys in.
 */
export function clamp(key: Uint8Array): Uint8Array {
  checkLength("private key", key);
  key[0] &= 248;
  key[31] = (key[31] & 127) | 64;
  return key;
}

/**
 * Derives the X25519 public key for a private key.
 *
 * @example
 * ```ts
 * const pub = publicKeyFrom(generatePrivateKey());
 * console.assert(pub.length === 32);
 * ```
 */
export function publicKeyFrom(priv: Uint8Array): Uint8Array {
  checkLength("private key", priv);
  return x25519Wasm(priv, BASE_POINT);
}

/**
 * Computes the X25519 shared secret of a private key and a peer's public key.
 *
 * Throws RangeError when a key is not 32 bytes or when the result is all zero
 * (the peer sent a low-order point, RFC 7748 §6.1), which WireGuard treats as a
 * failed handshake.
 *
 * @example
 * ```ts
 * const a = generatePrivateKey(), b = generatePrivateKey();
 * const s1 = sharedSecret(a, publicKeyFrom(b)), s2 = sharedSecret(b, publicKeyFrom(a));
 * console.assert(s1.every((v, i) => v === s2[i]));
 * ```
 */
export function sharedSecret(priv: Uint8Array, pub: Uint8Array): Uint8Array {
  checkLength("private key", priv);
  checkLength("public key", pub);
  try {
    return x25519Wasm(priv, pub);
  } catch (err) {
    throw new RangeError(
      "Cannot compute X25519 shared secret: result is all zero (low-order point)",
      { cause: err },
    );
  }
}

function checkLength(what: string, key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== X25519_KEY_LENGTH) {
    throw new RangeError(
      `Cannot use X25519 ${what}: expected 32 bytes, got ${key?.length ?? typeof key}`,
    );
  }
}
