/**
 * Dialing the TS2021 control channel (protocol doc §2.2–2.5): `POST /ts2021`
 * with the Noise initiation in `X-Tailscale-Handshake`, a 101 upgrade, the
 * handshake response, the optional early payload, then HTTP/2 over Noise.
 *
 * @module
 */
import http2 from "node:http2";
import { encodeBase64 } from "./_base64.ts";
import { clientHandshake, HandshakeRefusedError } from "./controlbase/handshake.ts";
import { type ByteStream, NoiseConn, writeAll } from "./controlbase/conn.ts";
import { HEADER_LEN, MAX_FRAME_SIZE } from "./controlbase/constants.ts";
import { readEarlyPayload } from "./early_noise.ts";
import { findHeadEnd, parseResponseHead } from "./http_head.ts";
import {
  DIAL_TIMEOUT_MS,
  HANDSHAKE_HEADER,
  TS2021_PATH,
  UPGRADE_HEAD_LIMIT,
  UPGRADE_PROTOCOL,
  WARREN_VERSION,
} from "./constants.ts";
import { ControlError, oneLine } from "./errors.ts";
import type { EarlyNoise } from "../netmap/tailcfg.ts";

/** Options for {@link dialTs2021}. */
export interface DialOptions {
  /** Time limit for connect + upgrade + handshake + early payload (default 10 s). */
  timeoutMs?: number;
  /** Cancels the dial. */
  signal?: AbortSignal;
  /** Extra CA certificates (PEM) for `https` control URLs. */
  caCerts?: string[];
}

/** An established TS2021 connection: HTTP/2 over Noise. */
export interface Ts2021Connection {
  /** The Noise record connection. */
  conn: NoiseConn;
  /** The HTTP/2 client session running over it. */
  session: http2.ClientHttp2Session;
  /** The early payload, if the server sent one. */
  early: EarlyNoise | null;
  /** Resolves when the connection is closed or fails. */
  closed: Promise<void>;
  /** Whether it is still usable. */
  readonly alive: boolean;
  /** Closes the HTTP/2 session and the connection. */
  close(): void;
}

/** Where the `POST /ts2021` upgrade request for a control URL is sent. */
export interface Ts2021Target {
  /** Whether to dial TLS (an `https:` URL). */
  tls: boolean;
  /** Host to dial, with IPv6 brackets removed. */
  hostname: string;
  /** TCP port: the URL's, or 443/80 by scheme. */
  port: number;
  /** The `Host:` header value: the URL's host, port included when it has one. */
  hostHeader: string;
  /** The URL's origin, used to name the server in error messages. */
  origin: string;
}

/** Works out where `POST /ts2021` goes for a control URL. */
export function ts2021Target(controlUrl: string): Ts2021Target {
  let u: URL;
  try {
    u = new URL(controlUrl);
  } catch {
    throw new TypeError(`Cannot use control URL ${JSON.stringify(controlUrl)}: not a URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new TypeError(`Cannot use control URL ${controlUrl}: scheme must be http or https`);
  }
  const tls = u.protocol === "https:";
  const port = u.port === "" ? (tls ? 443 : 80) : Number(u.port);
  const hostname = u.hostname.replace(/^\[(.*)\]$/, "$1");
  return { tls, hostname, port, hostHeader: u.host, origin: u.origin };
}

/**
 * Dials the control server's TS2021 endpoint with the machine key, pinned to
 * `serverKey` (from `/key`), and returns HTTP/2 over Noise.
 *
 * @example
 * ```ts ignore
 * const key = await fetchServerKey(url, CAPABILITY_VERSION);
 * const c = await dialTs2021(url, machinePrivate, key, CAPABILITY_VERSION);
 * ```
 * @throws {ControlError} "unreachable", "protocol", "version", "http" with a one-line message
 */
export async function dialTs2021(
  controlUrl: string,
  machineKey: Uint8Array,
  serverKey: Uint8Array,
  capver: number,
  opts: DialOptions = {},
): Promise<Ts2021Connection> {
  const target = ts2021Target(controlUrl);
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? DIAL_TIMEOUT_MS);
  const signal = opts.signal === undefined ? timeout : AbortSignal.any([timeout, opts.signal]);
  const hs = clientHandshake(machineKey, serverKey, capver);

  let stream: Deno.Conn | null = null;
  const onAbort = () => {
    try {
      stream?.close();
    } catch { /* already closed */ }
  };
  signal.addEventListener("abort", onAbort, { once: true });
  const fail = (
    kind: ConstructorParameters<typeof ControlError>[0],
    msg: string,
    cause?: unknown,
  ) => {
    onAbort();
    if (opts.signal?.aborted) return new ControlError("aborted", "control: aborted", { cause });
    if (timeout.aborted) {
      return new ControlError(
        "unreachable",
        `control: timed out connecting to ${target.origin}${TS2021_PATH}`,
        { cause },
      );
    }
    return new ControlError(kind, msg, { cause });
  };

  try {
    try {
      const connectP: Promise<Deno.Conn> = target.tls
        ? Deno.connectTls({
          hostname: target.hostname,
          port: target.port,
          alpnProtocols: ["http/1.1"],
          caCerts: opts.caCerts,
        })
        : Deno.connect({ hostname: target.hostname, port: target.port });
      stream = await raceAbort(connectP, signal);
      if (target.tls) await raceAbort((stream as Deno.TlsConn).handshake(), signal);
    } catch (err) {
      throw fail(
        "unreachable",
        `control: cannot reach ${target.origin}: ${oneLine((err as Error).message)}`,
        err,
      );
    }

    const request = [
      `POST ${TS2021_PATH} HTTP/1.1`,
      `Host: ${target.hostHeader}`,
      `User-Agent: warren/${WARREN_VERSION}`,
      "Content-Length: 0",
      "Connection: upgrade",
      `Upgrade: ${UPGRADE_PROTOCOL}`,
      `${HANDSHAKE_HEADER}: ${encodeBase64(hs.initiation)}`,
      "",
      "",
    ].join("\r\n");
    let reader: BufferedReader;
    try {
      await writeAll(stream, new TextEncoder().encode(request));
      reader = new BufferedReader(stream);
    } catch (err) {
      throw fail("unreachable", `control: cannot send upgrade request to ${target.origin}`, err);
    }

    let head;
    try {
      head = parseResponseHead(await reader.readHead(UPGRADE_HEAD_LIMIT));
    } catch (err) {
      throw fail(
        "protocol",
        `control: ${target.origin}${TS2021_PATH} did not answer the upgrade: ${
          oneLine((err as Error).message)
        }`,
        err,
      );
    }
    reader.unshift(head.rest);
    if (head.status !== 101) {
      const body = await reader.readSome(2048, 1000).catch(() => new Uint8Array(0));
      const text = oneLine(new TextDecoder().decode(body));
      const kind = /version/i.test(text) ? "version" : "http";
      throw fail(
        kind,
        `control: ${target.origin}${TS2021_PATH} refused the upgrade with HTTP ${head.status}${
          text ? `: ${text}` : ""
        }`,
      );
    }
    if ((head.headers.get("upgrade") ?? "").toLowerCase() !== UPGRADE_PROTOCOL) {
      throw fail(
        "protocol",
        `control: ${target.origin} upgraded to ${
          JSON.stringify(head.headers.get("upgrade") ?? "")
        }, not ${UPGRADE_PROTOCOL}`,
      );
    }

    let keys;
    try {
      const hdr = await reader.readExact(HEADER_LEN);
      const len = (hdr[1] << 8) | hdr[2];
      if (HEADER_LEN + len > MAX_FRAME_SIZE) throw new RangeError(`frame of ${len} bytes`);
      const payload = await reader.readExact(len);
      const frame = new Uint8Array(HEADER_LEN + len);
      frame.set(hdr);
      frame.set(payload, HEADER_LEN);
      keys = hs.finish(frame);
    } catch (err) {
      if (err instanceof HandshakeRefusedError) {
        const kind = /version/i.test(err.serverMessage) ? "version" : "protocol";
        throw fail(
          kind,
          `control: ${target.origin} refused the Noise handshake: ${oneLine(err.serverMessage)}`,
          err,
        );
      }
      throw fail(
        "protocol",
        `control: Noise handshake with ${target.origin} failed: ${oneLine((err as Error).message)}`,
        err,
      );
    }

    const conn = new NoiseConn(stream, keys, { buffered: reader.drain(), version: capver });
    let early: EarlyNoise | null;
    try {
      early = await raceAbort(readEarlyPayload(conn), signal);
    } catch (err) {
      conn.close();
      const msg = (err as Error).message;
      const ended = /ended after 0 of/.test(msg);
      throw fail(
        ended ? "version" : "protocol",
        ended
          ? `control: ${target.origin} closed the connection after the handshake (capability version ${capver} rejected?)`
          : `control: reading the early payload from ${target.origin} failed: ${oneLine(msg)}`,
        err,
      );
    }
    signal.removeEventListener("abort", onAbort);
    return startHttp2(conn, early, target.hostname);
  } catch (err) {
    signal.removeEventListener("abort", onAbort);
    throw err;
  }
}

function startHttp2(conn: NoiseConn, early: EarlyNoise | null, hostname: string): Ts2021Connection {
  const duplex = conn.toDuplex();
  const authority = hostname.includes(":") ? `[${hostname}]` : hostname;
  const session = http2.connect(`https://${authority}`, { createConnection: () => duplex });
  let alive = true;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => resolveClosed = r);
  const down = () => {
    if (!alive) return;
    alive = false;
    conn.close();
    resolveClosed();
  };
  // Errors surface on the individual requests; the session just goes down.
  session.on("error", down);
  session.on("close", down);
  session.on("goaway", down);
  duplex.on("close", down);
  return {
    conn,
    session,
    early,
    closed,
    get alive() {
      return alive && !session.closed && !session.destroyed && !conn.closed;
    },
    close() {
      if (!session.destroyed) session.destroy();
      down();
    },
  };
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** Reads from a stream with pushback, until the Noise conn takes over. */
class BufferedReader {
  #stream: ByteStream;
  #buf = new Uint8Array(0);

  constructor(stream: ByteStream) {
    this.#stream = stream;
  }

  unshift(bytes: Uint8Array): void {
    const b = new Uint8Array(bytes.length + this.#buf.length);
    b.set(bytes);
    b.set(this.#buf, bytes.length);
    this.#buf = b;
  }

  drain(): Uint8Array {
    const b = this.#buf;
    this.#buf = new Uint8Array(0);
    return b;
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(4096);
    const n = await this.#stream.read(chunk);
    if (n === null) return false;
    const b = new Uint8Array(this.#buf.length + n);
    b.set(this.#buf);
    b.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = b;
    return true;
  }

  async readHead(limit: number): Promise<Uint8Array> {
    while (findHeadEnd(this.#buf) < 0) {
      if (this.#buf.length > limit) throw new RangeError(`response head over ${limit} bytes`);
      if (!(await this.#fill())) {
        throw new Error(
          this.#buf.length === 0
            ? "connection closed without a response"
            : "connection closed inside the response head",
        );
      }
    }
    return this.drain();
  }

  async readExact(n: number): Promise<Uint8Array> {
    while (this.#buf.length < n) {
      if (!(await this.#fill())) {
        throw new Error(`connection closed after ${this.#buf.length} of ${n} expected bytes`);
      }
    }
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }

  /** Reads whatever arrives within `ms` (for an error body), up to `max` bytes. */
  async readSome(max: number, ms: number): Promise<Uint8Array> {
    const deadline = Date.now() + ms;
    while (this.#buf.length < max && Date.now() < deadline) {
      const more = await Promise.race([
        this.#fill(),
        new Promise<boolean>((r) => setTimeout(() => r(false), Math.max(0, deadline - Date.now()))),
      ]);
      if (!more) break;
    }
    return this.drain().subarray(0, max);
  }
}
