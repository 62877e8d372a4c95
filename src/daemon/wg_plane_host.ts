/**
 * A plain WireGuard node's Worker plane across its sleeps, as `ts_plane_host.ts` is a tailnet
 * node's. An idle node has no use for the Worker's isolate (~8 MB here), so once its device is
 * at rest — no handshake or keepalive owed, no persistent keepalive — and no byte has moved for
 * the quiet time, the Worker hands up its sessions, endpoints and counters and ends. Meanwhile
 * this thread watches the TUN and the socket through the thread pool; the first WireGuard
 * datagram or TUN packet starts a Worker again with that state and the packets read, so the
 * peer goes on with the same session and no handshake is needed.
 *
 * The sessions' keys stay on this thread only while the plane sleeps: they are wiped once a
 * new Worker has its copy, at stop, and once none is usable any more (Reject-After-Time).
 *
 * @module
 */
import { Poller } from "../../ffi/poll.ts";
import { TunDevice } from "../../ffi/tun.ts";
import { UdpSocket } from "../../ffi/udp.ts";
import { wipeSavedSessions } from "../wireguard/session_state.ts";
import type { DeviceStatus } from "./device_status.ts";
import { KeptSessions } from "./kept_sessions.ts";
import type { FromPlane, HeldPackets, WgPlaneState } from "./plane_messages.ts";
import { type PlaneRunner, PlaneThread } from "./plane_thread.ts";
import { SleepIo } from "./sleep_io.ts";
import type { PlaneSpec } from "./wg_plane.ts";

/** Packets held while the plane sleeps or wakes; more are dropped (their senders retry). */
const MAX_HELD = 256;
/** After a Worker that could not start, the next try waits this long, ms. */
const RETRY_MS = 5_000;
/** A sleeping node's longest wait; a wake-up or stop ends it sooner. */
const WATCH_WAIT_MS = 10_000;

type State = "awake" | "sleeping" | "asleep" | "waking" | "stopped";

/** The sleeping node's reads: this thread's views of the plane's fds, and a few buffers. */
interface WatchIo {
  tun: TunDevice;
  udp: UdpSocket;
  reads: SleepIo;
}

/** The Worker plane of a plain WireGuard node, awake or asleep. */
export class WgPlaneHost implements PlaneRunner {
  /** Always "worker". */
  readonly mode = "worker";
  readonly #spec: PlaneSpec;
  readonly #url: URL;
  readonly #log: (line: string) => void;
  readonly #released: (() => void) | undefined;
  #state: State = "waking";
  #thread: PlaneThread<DeviceStatus> | null = null;
  /** What the sleeping plane left besides its sessions. */
  #sleep: Omit<WgPlaneState, "sessions"> | null = null;
  readonly #kept = new KeptSessions();
  #last: DeviceStatus | null = null;
  #held: HeldPackets = { tun: [], udp: [] };
  #retryAt = 0;
  #poller: Poller | null = null;
  #io: WatchIo | null = null;
  #resolveDone!: () => void;
  /** Settles when the plane stopped for good: by {@linkcode stop}, or a Worker that failed. */
  readonly done: Promise<void> = new Promise((r) => this.#resolveDone = r);
  /** Packets dropped for want of room while the plane slept or woke. */
  heldDrops = 0;

  private constructor(
    spec: PlaneSpec,
    url: URL,
    log: (line: string) => void,
    released?: () => void,
  ) {
    this.#spec = spec;
    this.#url = url;
    this.#log = log;
    this.#released = released;
  }

  /**
   * Starts the plane awake in a Worker running `url`; rejects with the Worker's reason if it
   * cannot start. `released` runs after each sleep (to give back what the Worker left resident).
   */
  static async start(
    spec: PlaneSpec,
    url: URL,
    log: (line: string) => void,
    released?: () => void,
  ): Promise<WgPlaneHost> {
    const host = new WgPlaneHost(spec, url, log, released);
    host.#adopt(await host.#startThread());
    return host;
  }

  /** Whether the Worker is asleep (or falling asleep, or waking). */
  get asleep(): boolean {
    return this.#state !== "awake";
  }

  /** The device's part of the node's status, read in the Worker when awake. */
  async status(): Promise<DeviceStatus> {
    if (this.#state === "awake") {
      try {
        return await this.#thread!.status();
      } catch {
        // It fell asleep meanwhile: its last status came with the state.
      }
    }
    if (this.#last) return this.#last;
    throw new Error("Cannot read status: data plane stopped");
  }

  /** Stops the plane for good (the Worker, or the watch). Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === "stopped") return;
    this.#state = "stopped";
    this.#poller?.wake();
    await this.#thread?.stop();
    this.#poller?.close();
    this.#kept.drop();
    this.#resolveDone();
  }

  #startThread(): Promise<PlaneThread<DeviceStatus>> {
    const s = this.#sleep, sessions = this.#kept.current;
    const resume = s && sessions ? { ...s, sessions } : null;
    const spec: PlaneSpec = { ...this.#spec, resume, held: this.#held };
    return PlaneThread.start<DeviceStatus>(this.#url, { spec }, this.#log, (m) => {
      const a = m as FromPlane<DeviceStatus>;
      if (a.type === "asleep") this.#fellAsleep(a.state, a.status);
    });
  }

  /** A Worker is up with its own copy of the state and the held packets. */
  #adopt(t: PlaneThread<DeviceStatus>): void {
    this.#thread = t;
    this.#state = "awake";
    this.#sleep = null;
    this.#kept.drop(); // the Worker has its copy
    this.#held = { tun: [], udp: [] };
    t.done.then(() => this.#ended(t));
  }

  #fellAsleep(state: WgPlaneState, status: DeviceStatus): void {
    if (this.#state !== "awake") return wipeSavedSessions(state.sessions.peers);
    this.#state = "sleeping";
    const { sessions, ...rest } = state;
    this.#sleep = rest;
    this.#kept.keep(sessions);
    this.#last = status;
  }

  /** The Worker is gone: asleep as it said, or failed. */
  #ended(t: PlaneThread<DeviceStatus>): void {
    if (this.#thread !== t) return;
    this.#thread = null;
    if (this.#state !== "sleeping") {
      if (this.#state !== "stopped") {
        this.#state = "stopped";
        this.#kept.drop();
        this.#resolveDone();
      }
      return;
    }
    this.#state = "asleep";
    this.#log(this.#kept.asleepLine());
    this.#released?.();
    void this.#watch();
  }

  /** Starts a Worker for the held packets (at most once per {@linkcode RETRY_MS} after a failure). */
  #wake(): void {
    if (this.#state !== "asleep" || performance.now() < this.#retryAt) return;
    this.#state = "waking";
    this.#poller?.wake();
    const since = performance.now();
    this.#startThread().then((t) => {
      if (this.#state !== "waking") return void t.stop();
      this.#log(`data plane awake in ${Math.round(performance.now() - since)} ms`);
      this.#adopt(t);
    }, (e) => {
      if (this.#state !== "waking") return;
      this.#log(`cannot wake the data plane: ${e instanceof Error ? e.message : e}`);
      this.heldDrops += this.#held.tun.length + this.#held.udp.length;
      this.#held = { tun: [], udp: [] };
      this.#retryAt = performance.now() + RETRY_MS;
      this.#state = "asleep";
      void this.#watch();
    });
  }

  /** While asleep: the TUN and the socket, read on this thread until a packet needs the plane. */
  async #watch(): Promise<void> {
    const poller = this.#poller ??= new Poller();
    const io = this.#io ??= {
      tun: TunDevice.adopt(this.#spec.tun),
      udp: UdpSocket.adopt(this.#spec.udp),
      reads: new SleepIo(this.#spec.mtu),
    };
    while (this.#state === "asleep") {
      try {
        await poller.wait([io.tun.fd, io.udp.fd], WATCH_WAIT_MS);
      } catch {
        return; // closed by stop()
      }
      if (this.#state !== "asleep") return;
      this.#kept.expireIfStale();
      io.reads.readWireGuard(io.udp, (pkt, from) => {
        if (this.#room()) this.#held.udp.push({ pkt, from });
      });
      io.reads.readTun(io.tun, (pkt) => {
        if (this.#room()) this.#held.tun.push(pkt);
      });
      if (this.#held.tun.length + this.#held.udp.length > 0) this.#wake();
    }
  }

  #room(): boolean {
    if (this.#held.tun.length + this.#held.udp.length < MAX_HELD) return true;
    this.heldDrops++;
    return false;
  }
}
