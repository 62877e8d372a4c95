/**
 * `ControlClient`: one control server, one TS2021 connection (re-dialed when
 * it dies), and the three requests a node makes: register, the streamed map
 * poll and lite updates (protocol doc §3–4).
 *
 * @module
 */
import type {
  Hostinfo,
  MapRequest,
  MapResponse,
  RegisterRequest,
  RegisterResponse,
} from "../netmap/tailcfg.ts";
import { formatDiscoPublic, formatNodePublic, isZeroKey } from "../key/node_key.ts";
import {
  CAPABILITY_VERSION,
  LB_HEADER,
  MAP_PATH,
  REGISTER_PATH,
  RESPONSE_BODY_LIMIT,
  WATCHDOG_TIMEOUT_MS,
  ZERO_NODE_KEY,
  ZERO_TIME,
} from "./constants.ts";
import { type DialOptions, dialTs2021, type Ts2021Connection } from "./dial.ts";
import { fetchServerKey } from "./server_key.ts";
import { ControlError, oneLine } from "./errors.ts";
import { h2Request, httpError, postJson, readBody } from "./h2.ts";
import { decodeMapMessage, MapMessageDecoder } from "./map_stream.ts";

/** Options for {@link ControlClient}. */
export interface ControlClientOptions {
  /** Control server URL, e.g. `https://controlplane.tailscale.com` or a Headscale URL. */
  controlUrl: string;
  /** The machine private key (Noise static key). */
  machineKey: Uint8Array;
  /** Capability version to claim (default {@link CAPABILITY_VERSION}). */
  capver?: number;
  /** The server's Noise key, if already known (skips `/key`). */
  serverKey?: Uint8Array;
  /** Dial options (timeout, CA certs). */
  dial?: DialOptions;
  /** fetch used for `/key` (tests). */
  fetch?: typeof fetch;
  /** Map-stream watchdog in ms (default 120 s). */
  watchdogMs?: number;
}

/** Arguments of {@link ControlClient.register}. */
export interface RegisterOptions {
  /** Pre-auth key. */
  authKey?: string;
  /** AuthURL from a previous response: long-poll until the user approves. */
  followup?: string;
  /** The node public key being registered. */
  nodeKey: Uint8Array;
  /** The previous node public key when rotating. */
  oldNodeKey?: Uint8Array;
  /** Host description. */
  hostinfo: Hostinfo;
  /** Requested expiry (a past time logs out); absent = zero time. */
  expiry?: Date;
  /** Ask to be ephemeral. */
  ephemeral?: boolean;
}

/** Arguments of {@link ControlClient.liteUpdate}. */
export interface LiteUpdateOptions {
  /** Current node public key. */
  nodeKey: Uint8Array;
  /** Current disco public key. */
  discoKey: Uint8Array;
  /** Full Hostinfo. */
  hostinfo: Hostinfo;
  /** UDP endpoints `ip:port`. */
  endpoints?: string[];
  /** Parallel endpoint types. */
  endpointTypes?: number[];
}

/** A streaming map request; Version is filled in when absent. */
export type StreamMapRequest = Omit<MapRequest, "Version"> & { Version?: number };

/**
 * A control client bound to one server and machine key.
 *
 * @example
 * ```ts ignore
 * const c = new ControlClient({ controlUrl, machineKey });
 * const r = await c.register({ authKey, nodeKey, hostinfo });
 * for await (const m of c.streamMap({ NodeKey, DiscoKey, Hostinfo, Stream: true }, signal)) { … }
 * ```
 */
export class ControlClient {
  readonly #opts: ControlClientOptions;
  /** Capability version this client claims in every request (fixed for its life). */
  readonly capver: number;
  #serverKey: Uint8Array | null;
  #conn: Ts2021Connection | null = null;
  #dialing: Promise<Ts2021Connection> | null = null;
  #closed = false;

  /** Creates a client; nothing is dialed until the first request. */
  constructor(opts: ControlClientOptions) {
    this.#opts = opts;
    this.capver = opts.capver ?? CAPABILITY_VERSION;
    this.#serverKey = opts.serverKey ?? null;
  }

  /** The control URL. */
  get controlUrl(): string {
    return this.#opts.controlUrl;
  }

  /** The server's Noise key once fetched. */
  get serverKey(): Uint8Array | null {
    return this.#serverKey;
  }

  /** The current connection, dialing (and fetching `/key`) when there is none or it died. */
  async connection(signal?: AbortSignal): Promise<Ts2021Connection> {
    if (this.#closed) throw new ControlError("aborted", "control: client is closed");
    if (this.#conn !== null && this.#conn.alive) return this.#conn;
    this.#conn = null;
    if (this.#dialing === null) {
      this.#dialing = (async () => {
        if (this.#serverKey === null) {
          this.#serverKey = await fetchServerKey(this.#opts.controlUrl, this.capver, {
            signal,
            fetch: this.#opts.fetch,
          });
        }
        const conn = await dialTs2021(
          this.#opts.controlUrl,
          this.#opts.machineKey,
          this.#serverKey,
          this.capver,
          { ...this.#opts.dial, signal },
        );
        if (this.#closed) {
          conn.close();
          throw new ControlError("aborted", "control: client is closed");
        }
        this.#conn = conn;
        return conn;
      })().finally(() => this.#dialing = null);
    }
    return await this.#dialing;
  }

  /** Drops the current connection so the next request re-dials (and re-fetches `/key`). */
  reset(refetchKey = false): void {
    this.#conn?.close();
    this.#conn = null;
    if (refetchKey && this.#opts.serverKey === undefined) this.#serverKey = null;
  }

  /**
   * `POST /machine/register`.
   *
   * @throws {ControlError} "auth" when the server reports `Error` (e.g.
   *   `control: invalid pre auth key`), "version"/"http" on a non-200
   */
  async register(opts: RegisterOptions, signal?: AbortSignal): Promise<RegisterResponse> {
    const req: RegisterRequest = {
      Version: this.capver,
      NodeKey: formatNodePublic(opts.nodeKey),
      OldNodeKey: opts.oldNodeKey !== undefined && !isZeroKey(opts.oldNodeKey)
        ? formatNodePublic(opts.oldNodeKey)
        : ZERO_NODE_KEY,
      Expiry: opts.expiry !== undefined ? opts.expiry.toISOString() : ZERO_TIME,
      Followup: opts.followup ?? "",
      Hostinfo: opts.hostinfo,
      NodeKeySignature: null,
    };
    if (opts.authKey !== undefined && opts.authKey !== "") req.Auth = { AuthKey: opts.authKey };
    if (opts.ephemeral) req.Ephemeral = true;
    const lb: string[] = [];
    if (req.OldNodeKey !== ZERO_NODE_KEY) lb.push(req.OldNodeKey);
    lb.push(req.NodeKey);
    const conn = await this.connection(signal);
    const res = await postJson(conn.session, REGISTER_PATH, req, { [LB_HEADER]: lb }, signal);
    const body = await readBody(res.stream, RESPONSE_BODY_LIMIT);
    if (res.status !== 200) throw httpError(REGISTER_PATH, res.status, body);
    let resp: RegisterResponse;
    try {
      resp = JSON.parse(new TextDecoder().decode(body));
    } catch (err) {
      throw new ControlError(
        "protocol",
        `control: register response is not JSON: ${oneLine(new TextDecoder().decode(body))}`,
        { cause: err },
      );
    }
    if (resp.Error) throw new ControlError("auth", `control: ${oneLine(resp.Error)}`);
    return resp;
  }

  /**
   * `POST /machine/map` as a stream: yields every MapResponse (keep-alives
   * included, so callers see liveness) until the server ends the stream,
   * `signal` aborts, or the watchdog fires after 120 s of silence.
   *
   * @throws {ControlError} "stream" on a stall or broken connection, "node-key"/"version"/"http" on a non-200
   */
  async *streamMap(request: StreamMapRequest, signal?: AbortSignal): AsyncGenerator<MapResponse> {
    const req: MapRequest = { ...request, Version: request.Version ?? this.capver };
    const zstd = req.Compress === "zstd";
    const conn = await this.connection(signal);
    const res = await postJson(conn.session, MAP_PATH, req, { [LB_HEADER]: req.NodeKey }, signal);
    if (res.status !== 200) {
      throw httpError(MAP_PATH, res.status, await readBody(res.stream, RESPONSE_BODY_LIMIT));
    }
    const stream = res.stream;
    const watchdogMs = this.#opts.watchdogMs ?? WATCHDOG_TIMEOUT_MS;
    let stalled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        stream.cancel(new Error("map stream stalled"));
      }, watchdogMs);
    };
    const onAbort = () => stream.cancel(new Error("aborted"));
    signal?.addEventListener("abort", onAbort, { once: true });
    const decoder = new MapMessageDecoder();
    arm();
    try {
      for await (const chunk of stream) {
        decoder.push(chunk);
        for (let msg = decoder.next(); msg !== null; msg = decoder.next()) {
          arm();
          yield decodeMapMessage(msg, zstd);
        }
      }
    } catch (err) {
      if (err instanceof ControlError || err instanceof SyntaxError || err instanceof RangeError) {
        throw err;
      }
      if (signal?.aborted) throw new ControlError("aborted", "control: aborted", { cause: err });
      if (stalled) {
        throw new ControlError(
          "stream",
          `control: map stream stalled: no message for ${Math.round(watchdogMs / 1000)} s`,
        );
      }
      throw new ControlError("stream", `control: map stream broke: ${oneLine(String(err))}`, {
        cause: err,
      });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      stream.cancel();
    }
    if (signal?.aborted) throw new ControlError("aborted", "control: aborted");
    if (stalled) {
      throw new ControlError(
        "stream",
        `control: map stream stalled: no message for ${Math.round(watchdogMs / 1000)} s`,
      );
    }
    if (decoder.buffered > 0) {
      throw new ControlError("stream", "control: map stream ended inside a message");
    }
    if (!conn.alive) {
      throw new ControlError("stream", "control: connection to the control server was lost");
    }
  }

  /**
   * A lite map update (`Stream:false, OmitPeers:true`): pushes Hostinfo,
   * endpoints and the disco key without disturbing the long poll.
   */
  async liteUpdate(opts: LiteUpdateOptions, signal?: AbortSignal): Promise<void> {
    const req: MapRequest = {
      Version: this.capver,
      NodeKey: formatNodePublic(opts.nodeKey),
      DiscoKey: formatDiscoPublic(opts.discoKey),
      Hostinfo: opts.hostinfo,
      // Stream:false is Go's zero value and omitted on the wire, as tailscaled does.
      OmitPeers: true,
    };
    if (opts.endpoints !== undefined && opts.endpoints.length > 0) {
      req.Endpoints = opts.endpoints;
      req.EndpointTypes = opts.endpointTypes ?? opts.endpoints.map(() => 0);
    }
    const conn = await this.connection(signal);
    const res = await postJson(conn.session, MAP_PATH, req, { [LB_HEADER]: req.NodeKey }, signal);
    const body = await readBody(res.stream, RESPONSE_BODY_LIMIT);
    if (res.status !== 200) throw httpError(MAP_PATH, res.status, body);
  }

  /**
   * Any request over the Noise channel (what control's PingRequest and c2n
   * callbacks use): `url` may be absolute — only its path and query are sent,
   * the connection decides the host — or a path.
   *
   * @returns the status and up to 64 KiB of the body
   * @throws {ControlError} "stream"/"aborted" when no response arrives
   */
  async noiseRequest(
    method: string,
    url: string,
    body: Uint8Array | null = null,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<{ status: number; body: Uint8Array }> {
    const u = new URL(url, this.#opts.controlUrl);
    const conn = await this.connection(signal);
    const res = await h2Request(conn.session, method, u.pathname + u.search, body, headers, signal);
    return { status: res.status, body: await readBody(res.stream, 64 * 1024) };
  }

  /** Closes the connection; later requests fail. */
  close(): void {
    this.#closed = true;
    this.#conn?.close();
    this.#conn = null;
  }
}
