/**
 * `ControlSession`: keeps a node logged in and its netmap current. It
 * registers (pre-auth key, or interactive AuthURL + Followup), replaces an
 * expired node key (OldNodeKey), holds the streamed map poll open, and on
 * any failure re-dials TS2021 with capped exponential backoff and jitter.
 * The data plane never waits on it: the last netmap stays valid while it
 * reconnects.
 *
 * @module
 */
import type { Hostinfo, MapResponse, PingResponse, RegisterResponse } from "../netmap/tailcfg.ts";
import { applyMapResponse } from "../netmap/apply_map_response.ts";
import type { NetworkMap } from "../netmap/network_map.ts";
import type { KeyState } from "../key/state.ts";
import { formatDiscoPublic, formatNodePublic, publicFromPrivate } from "../key/node_key.ts";
import { ControlClient, type ControlClientOptions } from "./client.ts";
import { ControlError } from "./errors.ts";
import { Backoff, sleep } from "./backoff.ts";
import { PingAnswerer } from "./ping_request.ts";

/** How long one PingRequest answer may take (tailscaled: 15 s for the HEAD). */
const PING_ANSWER_TIMEOUT_MS = 15_000;

/** Login/connection state, named as tailscaled names them. */
export type SessionState = "NeedsLogin" | "NeedsMachineAuth" | "Starting" | "Running" | "Stopped";

/** Options for {@link ControlSession}. */
export interface ControlSessionOptions {
  /** Control server URL. */
  controlUrl: string;
  /** Persistent keys. */
  state: KeyState;
  /** Hostinfo to send (see buildHostinfo). */
  hostinfo: Hostinfo;
  /** This run's disco public key. */
  discoKey: Uint8Array;
  /** Pre-auth key; without one, login is interactive (onAuthURL). */
  authKey?: string;
  /** Ask to be ephemeral. */
  ephemeral?: boolean;
  /** Rotate the node key and register again even if already registered. */
  forceReauth?: boolean;
  /** Initial endpoints for lite updates. */
  endpoints?: string[];
  /** Parallel endpoint types. */
  endpointTypes?: number[];
  /** Passed to the ControlClient (capver, serverKey, dial, fetch, watchdogMs). */
  client?: Partial<Omit<ControlClientOptions, "controlUrl" | "machineKey">>;
  /** Backoff bounds (defaults 1 s → 60 s). */
  backoff?: { minMs?: number; maxMs?: number; random?: () => number };
  /** Request zstd compression of map messages (default true). */
  compress?: boolean;
  /** Clock, for tests. */
  now?: () => number;
  /** A new netmap after each non-keepalive message. */
  onNetmap?: (nm: NetworkMap, resp: MapResponse) => void;
  /** State changes. */
  onState?: (state: SessionState) => void;
  /** Interactive login: show this URL to the user. */
  onAuthURL?: (url: string) => void;
  /** A failure the session will retry after (or, if state is Stopped, gave up on). */
  onError?: (err: ControlError) => void;
  /** Registration finished (for status: user, login). */
  onRegistered?: (resp: RegisterResponse) => void;
  /** Answers a "disco" PingRequest: ping this Tailscale IP over the data plane. */
  discoPing?: (ip: string) => Promise<PingResponse>;
  /** Log lines about control's requests (PingRequest answers). */
  log?: (line: string) => void;
}

/**
 * A self-healing control session.
 *
 * @example
 * ```ts ignore
 * const s = new ControlSession({ controlUrl, state, hostinfo, discoKey, authKey,
 *   onNetmap: (nm) => engine.reconfigure(nm) });
 * await s.start(); // resolves once logged in; the map loop runs in the background
 * ```
 */
export class ControlSession {
  readonly #opts: ControlSessionOptions;
  /** The Noise client the session registers and streams the map through; it owns the connection. */
  readonly #client: ControlClient;
  #state: SessionState = "Stopped";
  #netmap: NetworkMap | null = null;
  #abort = new AbortController();
  #loop: Promise<void> | null = null;
  #hostinfo: Hostinfo;
  readonly #discoKey: Uint8Array;
  #endpoints: string[];
  #endpointTypes: number[];
  #needLogin = false;
  readonly #pings: PingAnswerer;
  /** Paused (`tailscale down`): the map poll stays closed until resumed. */
  #paused = false;
  #pause = new AbortController();
  #resume: (() => void) | null = null;

  /** Creates the session; nothing happens until {@link start}. */
  constructor(opts: ControlSessionOptions) {
    this.#opts = opts;
    this.#hostinfo = opts.hostinfo;
    this.#discoKey = opts.discoKey;
    this.#endpoints = opts.endpoints ?? [];
    this.#endpointTypes = opts.endpointTypes ?? [];
    this.#client = new ControlClient({
      ...opts.client,
      controlUrl: opts.controlUrl,
      machineKey: opts.state.machineKey,
    });
    const fetchFn = opts.client?.fetch ?? fetch;
    // Each answer ends with the session or after the time tailscaled allows, whichever is first.
    const answerSignal = () =>
      AbortSignal.any([this.#abort.signal, AbortSignal.timeout(PING_ANSWER_TIMEOUT_MS)]);
    this.#pings = new PingAnswerer({
      noise: async (method, url, body) =>
        (await this.#client.noiseRequest(
          method,
          url,
          body,
          {},
          answerSignal(),
        )).status,
      http: async (method, url, body) => {
        const res = await fetchFn(url, {
          method,
          body: body === null ? null : new Uint8Array(body),
          signal: answerSignal(),
        });
        await res.body?.cancel();
        return res.status;
      },
      discoPing: opts.discoPing,
      log: opts.log ?? (() => {}),
    });
  }

  /** Current state. */
  get state(): SessionState {
    return this.#state;
  }

  /**
   * The latest netmap. Across a reconnect it stays the old stream's until the
   * new stream's first (full) message replaces it.
   */
  get netmap(): NetworkMap | null {
    return this.#netmap;
  }

  /**
   * Logs in (retrying transient failures with backoff), then runs the map
   * loop in the background. Rejects on a fatal error: bad auth key, rejected
   * version, or close() before login finished.
   */
  async start(): Promise<void> {
    if (this.#loop !== null) throw new Error("ControlSession already started");
    this.#setState("Starting");
    await this.#loginWithRetry(this.#opts.forceReauth ?? false);
    this.#loop = this.#mapLoop().catch((err) => {
      if (!this.#abort.signal.aborted) this.#report(asControlError(err));
    }).finally(() => this.#setState("Stopped"));
  }

  /** Pushes new endpoints to control (lite update), without touching the map stream. */
  async setEndpoints(endpoints: string[], endpointTypes?: number[]): Promise<void> {
    this.#endpoints = endpoints;
    this.#endpointTypes = endpointTypes ?? endpoints.map(() => 0);
    await this.#liteUpdate();
  }

  /** Replaces the Hostinfo (e.g. new NetInfo.PreferredDERP) and pushes it. */
  async setHostinfo(hostinfo: Hostinfo): Promise<void> {
    this.#hostinfo = hostinfo;
    await this.#liteUpdate();
  }

  /**
   * Closes the map poll and keeps it closed (true), or opens it again (false): what
   * tailscaled's control client does for `WantRunning: false`, so control sees the node
   * offline while the process stays up. Lite updates wait for the next poll's request.
   */
  setPaused(paused: boolean): void {
    if (paused === this.#paused) return;
    this.#paused = paused;
    if (paused) this.#pause.abort(new ControlError("aborted", "control: paused"));
    else {
      this.#pause = new AbortController();
      this.#resume?.();
    }
  }

  /**
   * Logs out: registers the node key with an expiry in the past, which control (Headscale,
   * Tailscale) takes as a logout and expires the key, as tailscaled's controlclient does.
   */
  async logout(): Promise<void> {
    await this.#client.register({
      nodeKey: publicFromPrivate(this.#opts.state.nodeKey),
      hostinfo: this.#hostinfo,
      expiry: new Date(123_000), // tailscaled's time.Unix(123, 0): far in the past
    }, this.#abort.signal);
  }

  /** Stops the loop and closes the connection. */
  async close(): Promise<void> {
    this.#abort.abort(new ControlError("aborted", "control: session closed"));
    this.#client.close();
    await this.#loop?.catch(() => {});
    this.#setState("Stopped");
  }

  #setState(s: SessionState): void {
    if (this.#state === s) return;
    this.#state = s;
    this.#opts.onState?.(s);
  }

  #report(err: ControlError): void {
    this.#opts.onError?.(err);
  }

  async #liteUpdate(): Promise<void> {
    if (this.#state !== "Running") return;
    await this.#client.liteUpdate({
      nodeKey: publicFromPrivate(this.#opts.state.nodeKey),
      discoKey: this.#discoKey,
      hostinfo: this.#hostinfo,
      endpoints: this.#endpoints,
      endpointTypes: this.#endpointTypes,
    }, this.#abort.signal);
  }

  async #loginWithRetry(forceNewKey: boolean): Promise<void> {
    const backoff = new Backoff(this.#opts.backoff);
    while (true) {
      try {
        await this.#login(forceNewKey);
        return;
      } catch (err) {
        const e = asControlError(err);
        if (this.#abort.signal.aborted || isFatal(e)) {
          this.#setState("Stopped");
          throw e;
        }
        this.#report(e);
        this.#client.reset(e.kind === "protocol");
        await sleep(backoff.next(), this.#abort.signal).catch(() => {});
        if (this.#abort.signal.aborted) throw e;
      }
    }
  }

  async #login(forceNewKey: boolean): Promise<void> {
    const st = this.#opts.state;
    const signal = this.#abort.signal;
    if (forceNewKey) await st.rotateNodeKey();
    let rotatedForExpiry = false;
    let followup: string | undefined;
    while (true) {
      const old = st.oldNodeKey;
      const resp = await this.#client.register({
        authKey: followup === undefined ? this.#opts.authKey : undefined,
        followup,
        nodeKey: publicFromPrivate(st.nodeKey),
        oldNodeKey: old === null ? undefined : publicFromPrivate(old),
        hostinfo: this.#hostinfo,
        ephemeral: this.#opts.ephemeral,
      }, signal);
      if (resp.NodeKeyExpired) {
        if (rotatedForExpiry) {
          throw new ControlError(
            "node-key",
            "control: the server reports even a fresh node key as expired; log in again",
          );
        }
        rotatedForExpiry = true;
        this.#setState("NeedsLogin");
        await st.rotateNodeKey();
        continue;
      }
      if (resp.AuthURL) {
        this.#setState("NeedsLogin");
        if (resp.AuthURL !== followup) this.#opts.onAuthURL?.(resp.AuthURL);
        followup = resp.AuthURL;
        continue;
      }
      if (!resp.MachineAuthorized) {
        this.#setState("NeedsMachineAuth");
        throw new ControlError(
          "auth",
          "control: this machine is waiting for approval by a tailnet admin",
        );
      }
      await st.commitNodeKey();
      this.#needLogin = false;
      this.#setState("Starting");
      this.#opts.onRegistered?.(resp);
      return;
    }
  }

  async #mapLoop(): Promise<void> {
    const signal = this.#abort.signal;
    const backoff = new Backoff(this.#opts.backoff);
    const now = this.#opts.now ?? Date.now;
    while (!signal.aborted) {
      if (this.#paused) {
        this.#setState("Stopped");
        await new Promise<void>((r) => {
          this.#resume = r;
          signal.addEventListener("abort", () => r(), { once: true });
        });
        this.#resume = null;
        if (!signal.aborted) this.#setState("Starting");
        continue;
      }
      try {
        if (this.#needLogin) await this.#login(true);
        await this.#pollOnce(AbortSignal.any([signal, this.#pause.signal]), now, backoff);
        // A clean end of stream: reconnect after a short pause.
      } catch (err) {
        if (signal.aborted) return;
        if (this.#paused) continue;
        const e = asControlError(err);
        if (e.kind === "version") {
          this.#report(e);
          return;
        }
        if (e.kind === "node-key") this.#needLogin = true;
        if (
          e.kind === "auth" && this.#opts.authKey === undefined &&
          this.#state !== "NeedsMachineAuth"
        ) {
          this.#needLogin = true;
        }
        this.#report(e);
        this.#client.reset(e.kind === "protocol");
      }
      if (this.#state === "Running") this.#setState("Starting");
      await sleep(backoff.next(), signal).catch(() => {});
    }
  }

  async #pollOnce(signal: AbortSignal, now: () => number, backoff: Backoff): Promise<void> {
    const st = this.#opts.state;
    let first = true;
    // The netmap belongs to this stream: its first message is a full map that replaces
    // whatever an earlier stream built (tailscaled starts a fresh mapSession per poll).
    // Until that message arrives, #netmap stays the previous stream's, so the data plane
    // keeps running on it instead of an empty map.
    let streamNetmap: NetworkMap | null = null;
    for await (
      const resp of this.#client.streamMap({
        NodeKey: formatNodePublic(publicFromPrivate(st.nodeKey)),
        DiscoKey: formatDiscoPublic(this.#discoKey),
        Hostinfo: this.#hostinfo,
        Stream: true,
        KeepAlive: true,
        Compress: this.#opts.compress === false ? undefined : "zstd",
        Endpoints: this.#endpoints.length > 0 ? this.#endpoints : undefined,
        EndpointTypes: this.#endpoints.length > 0 ? this.#endpointTypes : undefined,
      }, signal)
    ) {
      // Honoured on keep-alives too, as tailscaled does.
      this.#pings.answer(resp.PingRequest);
      if (resp.KeepAlive) continue;
      streamNetmap = applyMapResponse(streamNetmap, resp, now());
      this.#netmap = streamNetmap;
      backoff.reset();
      if (first) {
        first = false;
        this.#setState("Running");
        // Streaming requests are read-only for capver ≥ 68: push Hostinfo/endpoints/disco key.
        this.#liteUpdate().catch((err) => this.#report(asControlError(err)));
      }
      this.#opts.onNetmap?.(this.#netmap, resp);
      const self = this.#netmap.self;
      if (self && (self.Expired || keyExpired(self.KeyExpiry, now()))) {
        this.#needLogin = true;
        this.#setState("NeedsLogin");
        throw new ControlError("node-key", "control: this node's key has expired");
      }
    }
  }
}

function keyExpired(expiry: string | undefined, now: number): boolean {
  if (!expiry || expiry.startsWith("0001-01-01")) return false;
  const t = Date.parse(expiry);
  return Number.isFinite(t) && t <= now;
}

function isFatal(e: ControlError): boolean {
  return e.kind === "version" || e.kind === "aborted" ||
    (e.kind === "auth" && !/waiting for approval/.test(e.message));
}

function asControlError(err: unknown): ControlError {
  if (err instanceof ControlError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new ControlError("protocol", msg.startsWith("control:") ? msg : `control: ${msg}`, {
    cause: err,
  });
}
