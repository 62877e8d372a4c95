/**
 * The DERP "meta certificate" (derper's initMetacert): a throwaway self-signed
 * certificate a TLS server sends after its real chain, with Subject CN
 * `derpkey<64 hex server public key>` and serial number = DERP protocol version.
 * A TLS 1.3 client (certificates are encrypted there) that finds it knows the
 * server's key before the HTTP exchange, sends `Derp-Fast-Start: 1`, and starts
 * with its ClientInfo at once: one round trip less. Nobody checks its signature;
 * a TLS proxy that drops it just costs that round trip.
 *
 * @module
 */

import { bool, int, octets, oid, pem, seq } from "./der.ts";
import { selfSign } from "./selfsigned_cert.ts";
import { fromHex, toHex } from "../bytes/hex.ts";

/** Subject CN prefix of the meta certificate (derpconst.MetaCertCommonNamePrefix). */
export const META_CERT_CN_PREFIX = "derpkey";

const DAY_MS = 86_400_000;

/**
 * Makes the meta certificate for a server key.
 *
 * @param serverPublic the server's 32-byte node public key
 * @param protocolVersion the DERP protocol version (clients read at most 8 bits)
 * @returns the certificate, DER
 */
export async function generateMetaCert(
  serverPublic: Uint8Array,
  protocolVersion: number,
): Promise<Uint8Array> {
  if (serverPublic.length !== 32) throw new RangeError("Server public key must be 32 bytes");
  const now = Date.now();
  const { der } = await selfSign({
    commonName: META_CERT_CN_PREFIX + toHex(serverPublic),
    serial: int(protocolVersion),
    // As derper: a month either side, so no client's clock skew matters.
    notBefore: new Date(now - 30 * DAY_MS),
    notAfter: new Date(now + 30 * DAY_MS),
    extensions: [seq(oid("2.5.29.19"), bool(true), octets(seq()))], // basicConstraints (macOS wants it)
  });
  return der;
}

/**
 * The PEM chain a TLS listener should serve: the real chain, then the meta certificate.
 *
 * @example
 * ```ts ignore
 * const cert = withMetaCert(certPem, await generateMetaCert(server.publicKey, PROTOCOL_VERSION));
 * Deno.listenTls({ port: 443, cert, key: keyPem });
 * ```
 */
export function withMetaCert(chainPem: string, metaDer: Uint8Array): string {
  return `${chainPem.trimEnd()}\n${pem("CERTIFICATE", metaDer)}`;
}

/** The parts of a peer certificate {@link parseMetaCert} looks at. */
export interface PeerCertSummary {
  /** Subject common name. */
  commonName: string;
  /** Serial number as hex digits (node:tls `serialNumber`). */
  serialHex: string;
}

/**
 * Finds the meta certificate in a server's chain (as derphttp's parseMetaCert).
 *
 * @returns the server key and protocol version, or null when there is none (or its
 *   key does not parse, or the version does not fit 8 bits)
 */
export function parseMetaCert(
  chain: PeerCertSummary[],
): { serverPublic: Uint8Array; version: number } | null {
  for (const c of chain) {
    if (!c.commonName.startsWith(META_CERT_CN_PREFIX)) continue;
    const hex = c.commonName.slice(META_CERT_CN_PREFIX.length);
    if (!/^[0-9a-fA-F]{64}$/.test(hex) || !/^[0-9a-fA-F]{1,64}$/.test(c.serialHex)) continue;
    const version = parseInt(c.serialHex, 16);
    if (version < 1 || version > 255) continue;
    return { serverPublic: fromHex(hex.toLowerCase(), 32), version };
  }
  return null;
}
