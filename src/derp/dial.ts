/**
 * Dials a DERP server: TCP or TLS (CA-verified, `sha256-raw:` pinned, or insecure
 * for tests), the HTTP upgrade, then the DERP handshake. One deadline covers all of
 * it; when the first address fails to connect, the region's other addresses are
 * tried in order (derphttp's dialRegion).
 *
 * @module
 */

import { type DuplexConn, writeAll } from "./conn.ts";
import {
  CLIENT_CONNECT_TIMEOUT_MS,
  DIAL_NODE_TIMEOUT_MS,
  FAST_START_HEADER,
  IDEAL_NODE_HEADER,
} from "./constants.ts";
import { DerpClient, type DerpClientOptions } from "./client.ts";
import { readHttpHead } from "./http_head.ts";
import { dialTcp } from "../net/bypass_dial.ts";
import { parseMetaCert } from "./meta_cert.ts";
import { bytesEqual } from "../bytes/equal.ts";
import { parseNodePublicLoose } from "../key/node_key.ts";
import { closeOnAbort, closeQuietly, deadline, raceAbort } from "../net/abortable.ts";

/** One address of a region's DERP server: what to dial and how to check it. */
export interface DerpDialCandidate {
  /** Server URL; its host is the Host header and TLS name. */
  url: string;
  /** Dial this address instead of resolving the URL's host. */
  dialHost?: string;
  /** DERPNode.CertName semantics (see {@link DialOptions.certName}). */
  certName?: string;
  /** DERPNode.InsecureForTests. */
  insecureForTests?: boolean;
  /** Ideal-Node header value: the region's first node's name, when this is not it. */
  idealNode?: string;
}

/** Options for {@link dialDerp}. */
export interface DialOptions extends DerpClientOptions {
  /**
   * DERPNode.CertName semantics: `sha256-raw:<hex>` pins the leaf certificate's
   * SHA-256; any other value is the name the certificate must be valid for.
   */
  certName?: string;
  /** Skip certificate checks (tests only; DERPNode.InsecureForTests). */
  insecureForTests?: boolean;
  /** Extra CA certificates (PEM) to trust. */
  caCerts?: string[];
  /** Dial this host instead of the URL's (the URL host stays the Host/SNI). */
  dialHost?: string;
  /** Ideal-Node header value, when not connecting to the region's first node. */
  idealNode?: string;
  /**
   * Resolves the server's host name when no `dialHost` forces an address
   * (warren's own resolver: tailnet names first, then the system's). Null
   * or a failure falls back to the system resolver.
   */
  resolveHost?: (host: string) => Promise<string | null>;
  /**
   * Time limit for everything — DNS, TCP, TLS, HTTP upgrade and DERP handshake, over
   * all candidates (default 10 s, derphttp's connect timeout).
   */
  connectTimeoutMs?: number;
  /**
   * Time limit for resolving and TCP-connecting to one candidate before the next is
   * tried (default 1.5 s, derphttp's dialNodeTimeout).
   */
  nodeConnectTimeoutMs?: number;
  /**
   * Further addresses of the same region (its other nodes, IPv6 after IPv4), tried in
   * order when connecting to `url` fails.
   */
  alternates?: DerpDialCandidate[];
}

/**
 * Connects to a DERP server URL such as `https://derp.example.com/derp` or
 * `http://127.0.0.1:3340/derp` and completes the handshake.
 *
 * @example
 * ```ts
 * const c = await dialDerp("http://127.0.0.1:3340/derp", { privateKey });
 * await c.send(peerKey, packet);
 * ```
 * @throws {Error} "derp dial …: …" naming the step that failed
 */
export async function dialDerp(url: string, opts: DialOptions): Promise<DerpClient> {
  const first: DerpDialCandidate = {
    url,
    dialHost: opts.dialHost,
    certName: opts.certName,
    insecureForTests: opts.insecureForTests,
    idealNode: opts.idealNode,
  };
  const candidates = [first, ...(opts.alternates ?? [])];
  for (const c of candidates) parseDerpUrl(c.url);
  const timeoutMs = opts.connectTimeoutMs ?? CLIENT_CONNECT_TIMEOUT_MS;
  using overall = deadline(timeoutMs);
  let firstErr: Error | null = null;
  let tried = 0;
  for (const cand of candidates) {
    if (overall.signal.aborted) break;
    tried++;
    let connected: Connected;
    try {
      connected = await connectCandidate(cand, opts, overall.signal);
    } catch (e) {
      firstErr ??= new Error(`derp dial ${cand.url}: ${whyFailed(e, overall, timeoutMs)}`);
      continue;
    }
    try {
      using _ = closeOnAbort(connected.conn, overall.signal);
      return await upgrade(connected, cand, opts);
    } catch (e) {
      closeQuietly(connected.conn);
      // The server answered TCP and TLS: it is there, so its error is the answer.
      throw new Error(`derp dial ${cand.url}: ${whyFailed(e, overall, timeoutMs)}`);
    }
  }
  const err = firstErr ?? new Error(`derp dial ${url}: timed out after ${timeoutMs} ms`);
  if (tried > 1) err.message += ` (and ${tried - 1} other address${tried > 2 ? "es" : ""})`;
  throw err;
}

function whyFailed(e: unknown, overall: { expired: boolean }, timeoutMs: number): string {
  if (overall.expired) return `timed out after ${timeoutMs} ms`;
  return e instanceof Error ? e.message : String(e);
}

/** The parts of a DERP URL a dial needs. */
interface DerpUrl {
  tls: boolean;
  host: string;
  port: number;
  path: string;
  hostHeader: string;
}

function parseDerpUrl(url: string): DerpUrl {
  const u = new URL(url);
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new TypeError(`DERP URL "${url}" must be http:// or https://`);
  }
  const tls = u.protocol === "https:";
  return {
    tls,
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : tls ? 443 : 80,
    path: u.pathname === "/" ? "/derp" : u.pathname,
    hostHeader: u.port ? `${u.hostname}:${u.port}` : u.hostname,
  };
}

/** The HTTP upgrade and the DERP handshake on a connected stream. */
async function upgrade(
  c: Connected,
  cand: DerpDialCandidate,
  opts: DialOptions,
): Promise<DerpClient> {
  const { path, hostHeader } = parseDerpUrl(cand.url);
  const conn = c.conn;
  let req = `GET ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: warren\r\n` +
    `Connection: Upgrade\r\nUpgrade: DERP\r\n`;
  if (cand.idealNode) req += `${IDEAL_NODE_HEADER}: ${cand.idealNode}\r\n`;
  if (c.metaServerKey) {
    // The meta certificate told us the server key: no HTTP response, ClientInfo at once.
    await writeAll(conn, new TextEncoder().encode(`${req}${FAST_START_HEADER}: 1\r\n\r\n`));
    return await DerpClient.handshake(conn, { ...opts, serverPublic: c.metaServerKey });
  }
  await writeAll(conn, new TextEncoder().encode(req + "\r\n"));
  const head = await readHttpHead(conn, 16 * 1024);
  if (!head) throw new Error("server closed the connection before replying");
  const status = Number(head.startLine[1]);
  if (status !== 101) {
    throw new Error(`server replied ${head.startLine.slice(1).join(" ")}, want 101`);
  }
  const advertised = head.headers.get("derp-public-key");
  const client = await DerpClient.handshake(conn, opts, head.rest);
  if (advertised) {
    let k: Uint8Array | null = null;
    try {
      k = parseNodePublicLoose(advertised);
    } catch {
      // A malformed header is not fatal: the ServerKey frame is authoritative.
    }
    if (k && !bytesEqual(k, client.serverPublic)) {
      client.close();
      throw new Error("Derp-Public-Key header does not match the ServerKey frame");
    }
  }
  return client;
}

/** The connection, and the server key if its TLS chain carried a meta certificate. */
interface Connected {
  conn: DuplexConn;
  metaServerKey?: Uint8Array;
}

/**
 * TCP, then TLS if the URL is https, to one candidate: DNS and the TCP connect within
 * the per-node limit, TLS within the overall deadline. A connection that completes
 * after its limit has fired is closed.
 */
async function connectCandidate(
  cand: DerpDialCandidate,
  opts: DialOptions,
  overall: AbortSignal,
): Promise<Connected> {
  const { tls, host, port } = parseDerpUrl(cand.url);
  using node = deadline(opts.nodeConnectTimeoutMs ?? DIAL_NODE_TIMEOUT_MS, overall);
  const signal = node.signal;
  const resolved = cand.dialHost ??
    (opts.resolveHost
      ? await raceAbort(opts.resolveHost(host).catch(() => null), signal, () => {})
      : null);
  const hostname = resolved ?? host;
  if (!tls) {
    return { conn: await raceAbort(dialTcp({ hostname, port, signal }), signal) };
  }
  const pin = cand.certName?.startsWith("sha256-raw:") ? cand.certName.slice(11) : undefined;
  // The per-node limit stops at TCP connect (derphttp's dialNode); TLS has the rest.
  // node:tls is loaded on first use: a tailnet with only http DERP never loads it.
  const { connectNodeTls } = await import("./node_tls_conn.ts");
  const c = await raceAbort(
    connectNodeTls({
      hostname,
      port,
      // derphttp's tlsServerName: a CertName that is a name is both the SNI and the check.
      serverName: !pin && cand.certName ? cand.certName : host,
      pinSha256: pin,
      insecure: cand.insecureForTests,
      caCerts: opts.caCerts,
      connectSignal: signal,
      signal: overall,
    }),
    overall,
  );
  // A CA-verified server may carry the meta certificate too; it only saves a round trip.
  const meta = opts.serverPublic ? null : parseMetaCert(c.peerChain);
  return { conn: c, metaServerKey: meta?.serverPublic };
}
