/**
 * The server's certificate chain and signing key for the TLS 1.3 server: the chain as one
 * prebuilt Certificate message (every handshake sends the same bytes), and the
 * CertificateVerify signature scheme for the key (ECDSA P-256/P-384, Ed25519, RSA-PSS).
 *
 * @module
 */

import { constants, createPrivateKey, type KeyObject, sign } from "node:crypto";
import { certificate } from "./messages.ts";

/** A server identity ready for handshakes. */
export interface TlsServerIdentity {
  /** The certificates in the order sent (leaf first). */
  readonly chain: Uint8Array[];
  /** The Certificate handshake message, built once. */
  readonly certificateMessage: Uint8Array;
  /** The signing key. */
  readonly key: KeyObject;
  /** Signature schemes the key can make, best first. */
  readonly schemes: readonly number[];
}

const ECDSA_P256_SHA256 = 0x0403;
const ECDSA_P384_SHA384 = 0x0503;
const RSA_PSS_RSAE_SHA256 = 0x0804;
const RSA_PSS_RSAE_SHA384 = 0x0805;
const RSA_PSS_RSAE_SHA512 = 0x0806;
const ED25519 = 0x0807;
const RSA_PSS_PSS_SHA256 = 0x0809;

/** Every DER certificate in a PEM text, in order. */
export function pemCertificates(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) {
    out.push(Uint8Array.fromBase64(m[1].replace(/\s+/g, "")));
  }
  return out;
}

/**
 * Builds the identity from a PEM chain (leaf first; derper's meta certificate may follow)
 * and a PEM private key.
 *
 * @throws {Error} if there is no certificate or the key type cannot sign TLS 1.3
 */
export function tlsServerIdentity(certPem: string, keyPem: string): TlsServerIdentity {
  const chain = pemCertificates(certPem);
  if (chain.length === 0) throw new Error("Cannot serve TLS: no certificate in the PEM text");
  const key = createPrivateKey(keyPem);
  return { chain, certificateMessage: certificate(chain), key, schemes: schemesFor(key) };
}

function schemesFor(key: KeyObject): number[] {
  switch (key.asymmetricKeyType) {
    case "ec": {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === "prime256v1" || curve === "P-256") return [ECDSA_P256_SHA256];
      if (curve === "secp384r1" || curve === "P-384") return [ECDSA_P384_SHA384];
      throw new Error(`Cannot serve TLS 1.3 with an EC key on curve ${curve}`);
    }
    case "ed25519":
      return [ED25519];
    case "rsa":
      return [RSA_PSS_RSAE_SHA256, RSA_PSS_RSAE_SHA384, RSA_PSS_RSAE_SHA512];
    case "rsa-pss":
      return [RSA_PSS_PSS_SHA256];
    default:
      throw new Error(`Cannot serve TLS 1.3 with a ${key.asymmetricKeyType} key`);
  }
}

/** The first of our schemes the client accepts, or null. */
export function chooseScheme(id: TlsServerIdentity, clientSchemes: number[]): number | null {
  return id.schemes.find((s) => clientSchemes.includes(s)) ?? null;
}

/** Signs CertificateVerify content under scheme (one of {@link TlsServerIdentity.schemes}). */
export function signWith(id: TlsServerIdentity, scheme: number, content: Uint8Array): Uint8Array {
  switch (scheme) {
    case ED25519:
      return new Uint8Array(sign(null, content, id.key));
    case ECDSA_P256_SHA256:
      return new Uint8Array(sign("sha256", content, id.key));
    case ECDSA_P384_SHA384:
      return new Uint8Array(sign("sha384", content, id.key));
    default: {
      const hash = scheme === RSA_PSS_RSAE_SHA384
        ? "sha384"
        : scheme === RSA_PSS_RSAE_SHA512
        ? "sha512"
        : "sha256";
      const saltLength = hash === "sha256" ? 32 : hash === "sha384" ? 48 : 64;
      return new Uint8Array(
        sign(hash, content, {
          key: id.key,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength,
        }),
      );
    }
  }
}
