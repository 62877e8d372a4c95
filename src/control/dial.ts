/**
 * Dialing the TS2021 control channel (protocol doc §2.2–2.5): `POST /ts2021`
 * with the Noise initiation in `X-Tailscale-Handshake`, a 101 upgrade, the
 * handshake response, the optional early payload, then HTTP/2 over Noise.
 * One deadline covers every step of every attempt (see dial_plan.ts for which
 * ports are tried); whatever a lost or abandoned attempt opened is closed.
 *
 * @module
 */
import { encodeBase64 } from "./_base64.ts";
import { BufferedReader } from "./_buffered_reader.ts";
import { clientHandshake, HandshakeRefusedError } from "./controlbase/handshake.ts";
import { type ByteStream, NoiseConn, writeAll } from "./controlbase/conn.ts";
import { HEADER_LEN, MAX_FRAME_SIZE } from "./controlbase/constants.ts";
import { readEarlyPayload } from "./early_noise.ts";
import { H2Connection } from "./h2/connection.ts";
import { parseResponseHead } from "./http_head.ts";
import { raceAttempts, ts2021Plan, type Ts2021Target, ts2021Target } from "./dial_plan.ts";
import { dialTcp } from "../net/bypass_dial.ts";
import {
  closeOnAbort,
  closeQuietly,
  type Deadline,
  deadline,
  raceAbort,
} from "../net/abortable.ts";
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
  /** The HTTP/2 client connection running over it. */
  session: H2Connection;
  /** The early payload, if the server sent one. */
  early: EarlyNoise | null;
  /** Resolves when the connection is closed or fails. */
  closed: Promise<void>;
  /** Whether it is still usable. */
  readonly alive: boolean;
  /** Closes the HTTP/2 session and the connection. */
  close(): void;
}

export { type Ts2021Target, ts2021Target };

/**
 * Dials the control server's TS2021 endpoint with the machine key, pinned to
 * `serverKey` (from `/key`), and returns HTTP/2 over Noise.
 *
 * @example
 * ```ts ignore
 * const key = await fetchServerKey(url, CAPABILITY_VERSION);
 * const c = await dialTs2021(url, machinePrivate, key, CAPABILITY_VERSION);
 * ```
 * @throws {ControlError} "unreachable", "protocol", "version", "http", "aborted" with a one-line message
 */
export async function dialTs2021(
  controlUrl: string,
  machineKey: Uint8Array,
  serverKey: Uint8Array,
  capver: number,
  opts: DialOptions = {},
): Promise<Ts2021Connection> {
  const named = ts2021Target(controlUrl);
  const plan = ts2021Plan(controlUrl);
  using overall = deadline(opts.timeoutMs ?? DIAL_TIMEOUT_MS, opts.signal);
  const dial: DialContext = { machineKey, serverKey, capver, caCerts: opts.caCerts, overall, opts };
  const conn = await raceAttempts(plan, (t, signal) => dialAttempt(dial, t, signal), {
    signal: overall.signal,
    discard: (late) => late.conn.close(),
    preferred: Math.max(0, plan.findIndex((t) => t.tls === named.tls)),
  });
  return startHttp2(conn.conn, conn.early, named.hostname);
}

/** What every attempt of one dial shares. */
interface DialContext {
  machineKey: Uint8Array;
  serverKey: Uint8Array;
  capver: number;
  caCerts?: string[];
  overall: Deadline;
  opts: DialOptions;
}

/** A finished Noise handshake, before HTTP/2 starts on it. */
interface NoiseReady {
  conn: NoiseConn;
  early: EarlyNoise | null;
}

/**
 * One attempt: connect, send the upgrade, read the reply and the handshake response,
 * then the early payload. `signal` aborts it (deadline, caller, or another attempt
 * won); the stream is closed on any failure.
 */
async function dialAttempt(
  dial: DialContext,
  target: Ts2021Target,
  signal: AbortSignal,
): Promise<NoiseReady> {
  const hs = clientHandshake(dial.machineKey, dial.serverKey, dial.capver);
  let stream: ByteStream | null = null;
  try {
    stream = await openStream(target, dial.caCerts, signal).catch((err) => {
      throw new ControlError(
        "unreachable",
        `control: cannot reach ${target.origin}: ${oneLine((err as Error).message)}`,
        { cause: err },
      );
    });
    using _ = closeOnAbort(stream, signal);
    const reader = await sendUpgrade(stream, target, hs.initiation);
    await readUpgradeReply(reader, target);
    const keys = await readHandshakeReply(reader, target, hs.finish);
    const conn = new NoiseConn(stream, keys, { buffered: reader.drain(), version: dial.capver });
    const early = await readEarly(conn, target, dial.capver, signal);
    return { conn, early };
  } catch (err) {
    closeQuietly(stream);
    throw explainAbort(err, dial, target);
  }
}

/** A failure caused by the deadline or the caller says so, whatever step it broke. */
function explainAbort(err: unknown, dial: DialContext, target: Ts2021Target): unknown {
  if (dial.opts.signal?.aborted) {
    return new ControlError("aborted", "control: aborted", { cause: err });
  }
  if (dial.overall.expired) {
    return new ControlError(
      "unreachable",
      `control: timed out connecting to ${target.origin}${TS2021_PATH}`,
      { cause: err },
    );
  }
  return err;
}

/** TCP, and TLS for an https target; a connection completing after `signal` fired is closed. */
async function openStream(
  target: Ts2021Target,
  caCerts: string[] | undefined,
  signal: AbortSignal,
): Promise<ByteStream> {
  if (!target.tls) {
    const tcp = { hostname: target.hostname, port: target.port, signal };
    return await raceAbort(dialTcp(tcp), signal);
  }
  // node:tls, not Deno.connectTls: a Deno.TlsConn closed mid-handshake keeps its socket.
  // Loaded on first use, so a node on an http control server never loads node:tls.
  const { connectNodeTls } = await import("../derp/node_tls_conn.ts");
  return await raceAbort(
    connectNodeTls({
      hostname: target.hostname,
      port: target.port,
      serverName: target.hostname,
      caCerts,
      alpnProtocols: ["http/1.1"],
      signal,
    }),
    signal,
  );
}

/** Writes `POST /ts2021` with the Noise initiation; returns the reader for the reply. */
async function sendUpgrade(
  stream: ByteStream,
  target: Ts2021Target,
  initiation: Uint8Array,
): Promise<BufferedReader> {
  const request = [
    `POST ${TS2021_PATH} HTTP/1.1`,
    `Host: ${target.hostHeader}`,
    `User-Agent: warren/${WARREN_VERSION}`,
    "Content-Length: 0",
    "Connection: upgrade",
    `Upgrade: ${UPGRADE_PROTOCOL}`,
    `${HANDSHAKE_HEADER}: ${encodeBase64(initiation)}`,
    "",
    "",
  ].join("\r\n");
  try {
    await writeAll(stream, new TextEncoder().encode(request));
  } catch (err) {
    throw new ControlError(
      "unreachable",
      `control: cannot send upgrade request to ${target.origin}`,
      { cause: err },
    );
  }
  return new BufferedReader(stream);
}

/** Reads the HTTP reply; anything but `101` to the TS2021 protocol is an error. */
async function readUpgradeReply(reader: BufferedReader, target: Ts2021Target): Promise<void> {
  let head;
  try {
    head = parseResponseHead(await reader.readHead(UPGRADE_HEAD_LIMIT));
  } catch (err) {
    throw new ControlError(
      "protocol",
      `control: ${target.origin}${TS2021_PATH} did not answer the upgrade: ${
        oneLine((err as Error).message)
      }`,
      { cause: err },
    );
  }
  reader.unshift(head.rest);
  if (head.status !== 101) {
    const body = await reader.readSome(2048, 1000).catch(() => new Uint8Array(0));
    const text = oneLine(new TextDecoder().decode(body));
    throw new ControlError(
      /version/i.test(text) ? "version" : "http",
      `control: ${target.origin}${TS2021_PATH} refused the upgrade with HTTP ${head.status}${
        text ? `: ${text}` : ""
      }`,
    );
  }
  const upgrade = head.headers.get("upgrade") ?? "";
  if (upgrade.toLowerCase() !== UPGRADE_PROTOCOL) {
    throw new ControlError(
      "protocol",
      `control: ${target.origin} upgraded to ${JSON.stringify(upgrade)}, not ${UPGRADE_PROTOCOL}`,
    );
  }
}

/** Reads the server's handshake frame and completes the Noise IK handshake with it. */
async function readHandshakeReply<K>(
  reader: BufferedReader,
  target: Ts2021Target,
  finish: (frame: Uint8Array) => K,
): Promise<K> {
  try {
    const hdr = await reader.readExact(HEADER_LEN);
    const len = (hdr[1] << 8) | hdr[2];
    if (HEADER_LEN + len > MAX_FRAME_SIZE) throw new RangeError(`frame of ${len} bytes`);
    const payload = await reader.readExact(len);
    const frame = new Uint8Array(HEADER_LEN + len);
    frame.set(hdr);
    frame.set(payload, HEADER_LEN);
    return finish(frame);
  } catch (err) {
    if (err instanceof HandshakeRefusedError) {
      throw new ControlError(
        /version/i.test(err.serverMessage) ? "version" : "protocol",
        `control: ${target.origin} refused the Noise handshake: ${oneLine(err.serverMessage)}`,
        { cause: err },
      );
    }
    throw new ControlError(
      "protocol",
      `control: Noise handshake with ${target.origin} failed: ${oneLine((err as Error).message)}`,
      { cause: err },
    );
  }
}

/** The optional early payload; a close right after the handshake means our version was refused. */
async function readEarly(
  conn: NoiseConn,
  target: Ts2021Target,
  capver: number,
  signal: AbortSignal,
): Promise<EarlyNoise | null> {
  try {
    return await raceAbort(readEarlyPayload(conn), signal, () => {});
  } catch (err) {
    conn.close();
    const msg = (err as Error).message;
    if (/ended after 0 of/.test(msg)) {
      throw new ControlError(
        "version",
        `control: ${target.origin} closed the connection after the handshake (capability version ${capver} rejected?)`,
        { cause: err },
      );
    }
    throw new ControlError(
      "protocol",
      `control: reading the early payload from ${target.origin} failed: ${oneLine(msg)}`,
      { cause: err },
    );
  }
}

function startHttp2(conn: NoiseConn, early: EarlyNoise | null, hostname: string): Ts2021Connection {
  // :authority is the bare hostname (no port), as tailscaled sends it.
  const authority = hostname.includes(":") ? `[${hostname}]` : hostname;
  const session = new H2Connection(conn, { authority });
  let alive = true;
  const closed = session.closed.then(() => {
    alive = false;
    conn.close();
  });
  return {
    conn,
    session,
    early,
    closed,
    get alive() {
      return alive && session.alive && !conn.closed;
    },
    close() {
      session.close();
      conn.close();
    },
  };
}
