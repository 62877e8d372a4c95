/**
 * node:crypto's X25519, kept only as an independent reference for the tests and the
 * benchmark: warren itself runs X25519 in its wasm module (x25519.ts says why).
 *
 * @module
 */
import { fromHex } from "../bytes/hex.ts";
import { createPrivateKey, createPublicKey, diffieHellman } from "node:crypto";

/** node:crypto's X25519 of raw 32-byte keys (wrapped as PKCS#8 / SPKI); throws on an all-zero result. */
export function nodeSharedSecret(priv: Uint8Array, pub: Uint8Array): Uint8Array {
  const wrap = (prefix: string, key: Uint8Array) => Buffer.from([...fromHex(prefix), ...key]);
  return new Uint8Array(diffieHellman({
    privateKey: createPrivateKey({
      key: wrap("302e020100300506032b656e04220420", priv),
      format: "der",
      type: "pkcs8",
    }),
    publicKey: createPublicKey({
      key: wrap("302a300506032b656e032100", pub),
      format: "der",
      type: "spki",
    }),
  }));
}
