/**
 * The `sha256-raw:` pin of a certificate, apart from node_tls_conn.ts so that
 * code which only names pins (certificate generation, the meta certificate a
 * DERP client parses) does not load node:tls — nor node:crypto: every tailnet
 * node's DERP client imports this, and warren's own SHA-256 keeps node:crypto
 * out of a node whose control and DERP are plain HTTP.
 *
 * @module
 */
import { toHex } from "../bytes/hex.ts";
import { sha256 } from "../crypto/sha256.ts";

/** SHA-256 of DER bytes as lowercase hex: the `sha256-raw:` pin of a certificate. */
export function certPin(der: Uint8Array): string {
  return toHex(sha256(der));
}
