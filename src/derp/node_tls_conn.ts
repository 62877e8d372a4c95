/**
 * TLS through `node:tls` wrapped as a {@link DuplexConn}: CA-verified, a `sha256-raw:`
 * pinned self-signed certificate, or insecure-for-tests. It is used for every DERP TLS
 * dial because Deno.TlsConn cannot be abandoned mid-handshake: closing it cancels the
 * handshake but leaves the TCP socket open until the server hangs up (Deno 2.9), while a
 * node:tls socket is destroyed at once.
 *
 * @module
 */

import tls from "node:tls";
import type { DuplexConn } from "./conn.ts";
import type { PeerCertSummary } from "./meta_cert.ts";
import { bypassMark, dialTcp } from "../net/bypass_dial.ts";
import { raceAbort } from "../net/abortable.ts";
import { streamDuplex } from "../net/stream_duplex.ts";
import { certPin } from "./cert_pin.ts";

/** How to check the server certificate. */
export interface NodeTlsOptions {
  /** Host to connect to. */
  hostname: string;
  /** Port. */
  port: number;
  /**
   * SNI name, and the name a CA-verified certificate must be valid for; default
   * hostname (an IP literal is checked but not sent as SNI).
   */
  serverName?: string;
  /** Lowercase hex SHA-256 of the leaf certificate's DER bytes the server must present. */
  pinSha256?: string;
  /** Accept any certificate (tests only). */
  insecure?: boolean;
  /** Extra CA certificates (PEM) trusted beside the built-in roots. */
  caCerts?: string[];
  /** ALPN protocols to offer (none by default). */
  alpnProtocols?: string[];
  /** Abandons the connect or the handshake: the socket is destroyed and the promise rejects. */
  signal?: AbortSignal;
  /** Like `signal`, but only until the TCP connection is up (a per-address connect limit). */
  connectSignal?: AbortSignal;
}

export { certPin };

/** A TLS connection from {@link connectNodeTls}. */
export interface NodeTlsConn extends DuplexConn {
  /**
   * The server's certificates in the order sent, when TLS 1.3 encrypted them (empty
   * otherwise): where a DERP client looks for the meta certificate.
   */
  readonly peerChain: PeerCertSummary[];
}

/**
 * Connects, completes TLS and checks the pin. With a bypass mark set
 * (`src/net/bypass_dial.ts`) the TCP connection is warren's own marked socket
 * and TLS runs over it; otherwise node:tls opens the socket itself.
 *
 * @throws {Error} if the connection fails or the certificate does not match the pin
 */
export async function connectNodeTls(opts: NodeTlsOptions): Promise<NodeTlsConn> {
  if (bypassMark() === 0) return await handshake(opts, { host: opts.hostname, port: opts.port });
  const signals = [opts.signal, opts.connectSignal].filter((s) => s !== undefined);
  const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined;
  const dial = dialTcp({ hostname: opts.hostname, port: opts.port, signal });
  const tcp = signal ? await raceAbort(dial, signal, (c) => c.close()) : await dial;
  return await handshake({ ...opts, connectSignal: undefined }, { socket: streamDuplex(tcp) });
}

/** TLS over a socket node:tls opens (`host`, `port`) or one it is given (`socket`). */
function handshake(
  opts: NodeTlsOptions,
  transport: { host: string; port: number } | { socket: ReturnType<typeof streamDuplex> },
): Promise<NodeTlsConn> {
  return new Promise((resolve, reject) => {
    const isIp = (h: string) => /^[0-9.]+$/.test(h) || h.includes(":");
    const sni = opts.serverName ?? opts.hostname;
    const caVerified = !opts.pinSha256 && !opts.insecure;
    const sock = tls.connect({
      ...transport,
      // SNI must not carry an IP literal (RFC 6066 §3).
      servername: isIp(sni) ? undefined : sni,
      rejectUnauthorized: caVerified,
      ca: caVerified && opts.caCerts?.length
        ? [...tls.rootCertificates, ...opts.caCerts]
        : undefined,
      ALPNProtocols: opts.alpnProtocols,
      checkServerIdentity: caVerified
        ? (_host, cert) => tls.checkServerIdentity(sni, cert)
        : () => undefined,
    });
    const onAbort = () => fail(opts.signal!.reason);
    const onConnectAbort = () => fail(opts.connectSignal!.reason);
    const unwatch = () => {
      opts.signal?.removeEventListener("abort", onAbort);
      opts.connectSignal?.removeEventListener("abort", onConnectAbort);
    };
    const fail = (e: Error) => {
      unwatch();
      sock.destroy();
      reject(e);
    };
    if (opts.signal?.aborted) return fail(opts.signal.reason);
    if (opts.connectSignal?.aborted) return fail(opts.connectSignal.reason);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    opts.connectSignal?.addEventListener("abort", onConnectAbort, { once: true });
    sock.once("connect", () => {
      opts.connectSignal?.removeEventListener("abort", onConnectAbort);
    });
    sock.once("error", fail);
    sock.once("secureConnect", () => {
      sock.off("error", fail);
      unwatch();
      if (opts.pinSha256 && !opts.insecure) {
        const cert = sock.getPeerCertificate(false);
        const raw = cert && (cert as { raw?: Uint8Array }).raw;
        if (!raw) return fail(new Error("TLS server presented no certificate"));
        const got = certPin(raw);
        if (got !== opts.pinSha256?.toLowerCase()) {
          return fail(new Error(`TLS certificate sha256-raw:${got} does not match the pinned one`));
        }
      }
      const chain = sock.getProtocol() === "TLSv1.3" ? peerChain(sock) : [];
      resolve(new NodeSocketConn(sock, chain));
    });
  });
}

/** The peer's certificates, following issuerCertificate links until they repeat. */
function peerChain(sock: tls.TLSSocket): PeerCertSummary[] {
  const out: PeerCertSummary[] = [];
  const seen = new Set<unknown>();
  let c: tls.DetailedPeerCertificate | undefined = sock.getPeerCertificate(true);
  while (c && c.raw && !seen.has(c) && out.length < 10) {
    seen.add(c);
    const cn = c.subject?.CN;
    out.push({ commonName: Array.isArray(cn) ? cn[0] : cn ?? "", serialHex: c.serialNumber ?? "" });
    c = c.issuerCertificate;
  }
  return out;
}

/** Adapts a node stream socket to read()/write()/close(). */
class NodeSocketConn implements NodeTlsConn {
  readonly peerChain: PeerCertSummary[];
  #sock: tls.TLSSocket;
  #chunks: Uint8Array[] = [];
  #ended = false;
  #error: Error | null = null;
  #waiter: (() => void) | null = null;

  constructor(sock: tls.TLSSocket, chain: PeerCertSummary[]) {
    this.#sock = sock;
    this.peerChain = chain;
    sock.on("data", (d: Uint8Array) => {
      this.#chunks.push(d);
      if (this.#chunks.length > 16) sock.pause(); // bounded buffering: let TCP push back
      this.#notify();
    });
    sock.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    sock.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    sock.on("error", (e: Error) => {
      this.#error = e;
      this.#notify();
    });
  }

  #notify(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      this.#sock.resume();
      await new Promise<void>((r) => (this.#waiter = r));
    }
    const c = this.#chunks[0];
    const n = Math.min(c.length, p.length);
    p.set(c.subarray(0, n));
    if (n === c.length) this.#chunks.shift();
    else this.#chunks[0] = c.subarray(n);
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#sock.write(p.slice(), (err?: Error | null) => (err ? reject(err) : resolve(p.length)));
    });
  }

  close(): void {
    this.#sock.destroy();
  }
}
