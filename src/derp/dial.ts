/**
 * Dials a DERP server: TCP or TLS (CA-verified, `sha256-raw:` pinned, or insecure
 * for tests), the HTTP upgrade, then the DERP handshake.
 *
 * @module
 */

import { bytesEqual } from "../bytes/equal.ts";
import { closeQuietly, type DuplexConn, writeAll } from "./conn.ts";
import { CLIENT_CONNECT_TIMEOUT_MS, FAST_START_HEADER, IDEAL_NODE_HEADER } from "./constants.ts";
import { DerpClient, type DerpClientOptions } from "./client.ts";
import { readHttpHead } from "./http_head.ts";
import { connectNodeTls } from "./node_tls_conn.ts";
import { parseMetaCert } from "./meta_cert.ts";
import { parseNodePublicLoose } from "../key/node_key.ts";

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
  /** Overall connect timeout (default 10 s). */
  connectTimeoutMs?: number;
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
  const u = new URL(url);
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new TypeError(`DERP URL "${url}" must be http:// or https://`);
  }
  const tlsOn = u.protocol === "https:";
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const port = u.port ? Number(u.port) : tlsOn ? 443 : 80;
  const path = u.pathname === "/" ? "/derp" : u.pathname;
  const timeoutMs = opts.connectTimeoutMs ?? CLIENT_CONNECT_TIMEOUT_MS;
  let conn: DuplexConn | null = null;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (conn) closeQuietly(conn);
  }, timeoutMs);
  try {
    const c = await connect(host, port, tlsOn, opts);
    conn = c.conn;
    if (timedOut) throw new Error("timed out");
    const hostHeader = u.port ? `${u.hostname}:${u.port}` : u.hostname;
    let req = `GET ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: warren\r\n` +
      `Connection: Upgrade\r\nUpgrade: DERP\r\n`;
    if (opts.idealNode) req += `${IDEAL_NODE_HEADER}: ${opts.idealNode}\r\n`;
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
  } catch (e) {
    if (conn) closeQuietly(conn);
    const why = timedOut ? `timed out after ${timeoutMs} ms` : (e as Error).message;
    throw new Error(`derp dial ${url}: ${why}`);
  } finally {
    clearTimeout(timer);
  }
}

/** The connection, and the server key if its TLS chain carried a meta certificate. */
interface Connected {
  conn: DuplexConn;
  metaServerKey?: Uint8Array;
}

async function connect(
  host: string,
  port: number,
  tlsOn: boolean,
  opts: DialOptions,
): Promise<Connected> {
  const dialHost = opts.dialHost ??
    (opts.resolveHost ? await opts.resolveHost(host).catch(() => null) : null) ?? host;
  if (!tlsOn) {
    const c = await Deno.connect({ hostname: dialHost, port });
    c.setNoDelay(true);
    c.setKeepAlive(true);
    return { conn: c };
  }
  const pin = opts.certName?.startsWith("sha256-raw:") ? opts.certName.slice(11) : undefined;
  if (pin || opts.insecureForTests) {
    const c = await connectNodeTls({
      hostname: dialHost,
      port,
      serverName: host,
      pinSha256: pin,
      insecure: opts.insecureForTests,
    });
    const meta = opts.serverPublic ? null : parseMetaCert(c.peerChain);
    return { conn: c, metaServerKey: meta?.serverPublic };
  }
  const tcp = await Deno.connect({ hostname: dialHost, port });
  tcp.setNoDelay(true);
  tcp.setKeepAlive(true);
  const c = await Deno.startTls(tcp, {
    hostname: opts.certName ?? host,
    caCerts: opts.caCerts,
  });
  await c.handshake();
  // Deno.TlsConn does not show the peer's chain, so no meta certificate here.
  return { conn: c };
}
