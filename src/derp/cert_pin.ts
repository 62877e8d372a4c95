/**
 * The `sha256-raw:` pin of a certificate, apart from node_tls_conn.ts so that
 * code which only names pins (certificate generation, the meta certificate a
 * DERP client parses) does not load node:tls.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** SHA-256 of DER bytes as lowercase hex: the `sha256-raw:` pin of a certificate. */
export function certPin(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}
