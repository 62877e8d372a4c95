/**
 * Self-signed TLS certificates for `warren tun derp --hostname NAME`, made with
 * WebCrypto ECDSA P-256 and a small X.509 encoder: no openssl needed. Clients pin
 * the certificate by its `sha256-raw:` hash (DERPNode.CertName).
 *
 * @module
 */

import {
  bits,
  bool,
  concat,
  explicit,
  implicit,
  int,
  octets,
  oid,
  pem,
  seq,
  set,
  time,
  uint,
  utf8,
} from "./der.ts";
import { certPin } from "./cert_pin.ts";
import { parseIp } from "../net/ip.ts";

/** A generated certificate with its key. */
export interface SelfSignedCert {
  /** Certificate, PEM. */
  certPem: string;
  /** PKCS#8 private key, PEM. */
  keyPem: string;
  /** Certificate DER bytes. */
  der: Uint8Array;
  /** `sha256-raw:<hex>` pin for DERPNode.CertName. */
  pin: string;
}

const ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
const DAY_MS = 86_400_000;

/**
 * Generates a self-signed ECDSA P-256 certificate for hostname (a DNS name or an IP
 * address), valid from a day ago for validDays.
 *
 * @example
 * ```ts
 * const c = await generateSelfSignedCert("derp.example.com");
 * Deno.listenTls({ port: 443, cert: c.certPem, key: c.keyPem });
 * ```
 */
export async function generateSelfSignedCert(
  hostname: string,
  validDays = 3650,
): Promise<SelfSignedCert> {
  let san: Uint8Array;
  try {
    san = implicit(7, parseIp(hostname)); // iPAddress
  } catch {
    san = implicit(2, new TextEncoder().encode(hostname)); // dNSName
  }
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  const now = Date.now();
  const { der, pkcs8 } = await selfSign({
    commonName: hostname,
    serial: uint(serial),
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + validDays * DAY_MS),
    extensions: [
      seq(oid("2.5.29.17"), octets(seq(san))),
      seq(oid("2.5.29.19"), bool(true), octets(seq())), // basicConstraints: not a CA
      seq(oid("2.5.29.15"), bool(true), octets(tlvBits(0x80))), // keyUsage: digitalSignature
      seq(oid("2.5.29.37"), octets(seq(oid("1.3.6.1.5.5.7.3.1")))), // extKeyUsage: serverAuth
    ],
  });
  return {
    certPem: pem("CERTIFICATE", der),
    keyPem: pem("PRIVATE KEY", pkcs8),
    der,
    pin: `sha256-raw:${certPin(der)}`,
  };
}

/** What {@link selfSign} puts in a certificate. */
export interface SelfSignOptions {
  /** Subject (and issuer) common name. */
  commonName: string;
  /** The serial number, already DER INTEGER-encoded. */
  serial: Uint8Array;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** Encoded Extension SEQUENCEs. */
  extensions: Uint8Array[];
}

/**
 * Makes a fresh P-256 key and an X.509 v3 certificate signed by it (subject = issuer).
 *
 * @returns the certificate and the PKCS#8 private key, both DER
 */
export async function selfSign(
  o: SelfSignOptions,
): Promise<{ der: Uint8Array; pkcs8: Uint8Array }> {
  const kp = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", kp.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", kp.privateKey));
  const name = seq(set(seq(oid("2.5.4.3"), utf8(o.commonName))));
  const sigAlg = seq(oid(ECDSA_WITH_SHA256));
  const tbs = seq(
    explicit(0, int(2)),
    o.serial,
    sigAlg,
    name,
    seq(time(o.notBefore), time(o.notAfter)),
    name,
    spki,
    explicit(3, seq(...o.extensions)),
  );
  const raw = new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      kp.privateKey,
      new Uint8Array(tbs),
    ),
  );
  // WebCrypto gives r ‖ s; X.509 wants SEQUENCE { INTEGER r, INTEGER s }.
  const sig = seq(uint(raw.subarray(0, 32)), uint(raw.subarray(32)));
  return { der: seq(tbs, sigAlg, bits(sig)), pkcs8 };
}

/** A KeyUsage BIT STRING with one byte of flags (trailing zero bits marked unused). */
function tlvBits(flags: number): Uint8Array {
  let unused = 0;
  while (unused < 7 && ((flags >> unused) & 1) === 0) unused++;
  return concat(new Uint8Array([0x03, 0x02, unused, flags]));
}

export { certPin };
