/**
 * Crypto wrappers used across warren: X25519, BLAKE2s, HKDF, and the
 * ChaCha20-Poly1305 / XChaCha20-Poly1305 AEADs.
 *
 * @module
 */
export * from "./x25519.ts";
export * from "./blake2s.ts";
export * from "./hkdf.ts";
export * from "./aead.ts";
export * from "./xaead.ts";
