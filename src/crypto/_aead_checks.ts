/**
 * ChaCha20-Poly1305 sizes and the argument checks both implementations (native
 * `aead.ts`, wasm `aead_wasm.ts`) make, so they reject the same inputs with the
 * same messages.
 *
 * @module
 */

/** ChaCha20-Poly1305 key length in bytes. */
export const CHACHA_KEY_LENGTH = 32;
/** ChaCha20-Poly1305 nonce length in bytes (IETF variant). */
export const CHACHA_NONCE_LENGTH = 12;
/** Poly1305 tag length in bytes. */
export const CHACHA_TAG_LENGTH = 16;

/** Throws unless `key` is a 32-byte `Uint8Array`. */
export function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== CHACHA_KEY_LENGTH) {
    throw new RangeError(
      `Cannot create ChaCha20-Poly1305 key: expected 32 bytes, got ${key?.length}`,
    );
  }
}

/**
 * Throws unless `need` bytes fit in `dst` from `dstOffset`, which must be a
 * non-negative integer (`TypedArray.set` would silently round a fraction and
 * read NaN as 0). The message names the `count` bytes being sealed or opened.
 */
export function checkDst(
  op: "seal" | "open",
  count: number,
  need: number,
  dst: Uint8Array,
  dstOffset: number,
): void {
  if ((dstOffset >>> 0) !== dstOffset || dstOffset + need > dst.length) {
    throw new RangeError(
      `Cannot ${op} ${count} bytes into a ${dst.length}-byte buffer at offset ${dstOffset}`,
    );
  }
}

/** The error for a nonce counter that is not a safe non-negative integer. */
export function badCounter(counter: number): RangeError {
  return new RangeError(
    `Cannot build AEAD nonce: counter ${counter} is not a safe non-negative integer`,
  );
}
