/**
 * The sleep cycle both Worker-plane hosts run (`wg_plane_host.ts` for a plain WireGuard node,
 * `ts_plane_host.ts` for a tailnet node): a Worker awake; falling asleep, its sessions handed up
 * and kept here; asleep, this thread watching the plane's fds and holding the packets that need
 * it; waking, a new Worker starting with the sessions and the held packets; stopped. A Worker
 * that cannot start is retried {@linkcode RETRY_MS} later. What a Worker is, how one starts with
 * the node's state and what a sleeping node reads are the host's ({@linkcode SleepCycleHost}).
 *
 * @module
 */
import { Poller } from "../../ffi/poll.ts";
import { wipeSavedSessions } from "../wireguard/session_state.ts";
import { KeptSessions } from "./kept_sessions.ts";
import type { PlaneSessions } from "./ts_plane_messages.ts";

/** Packets held while the plane sleeps or wakes; more are dropped (their senders retry). */
export const MAX_HELD = 256;
/** After a Worker that could not start, the next try waits this long, ms. */
export const RETRY_MS = 5_000;
/** A sleeping node's longest wait; a wake-up or stop ends it sooner. */
const WATCH_WAIT_MS = 10_000;

type State = "awake" | "sleeping" | "asleep" | "waking" | "stopped";

/** One Worker's life, as the cycle sees it. */
export interface PlaneLife {
  /** Settles once the Worker is gone: asleep as it said, failed, or stopped. */
  readonly done: Promise<void>;
  /** Stops the Worker. */
  stop(): Promise<void>;
}

/** What a host tells the cycle about its Worker and its node. */
export interface SleepCycleHost<L extends PlaneLife, H> {
  /**
   * Starts a Worker with the node's state and `sessions` (null at first, and when none were
   * kept). `held` is what was held so far; a host that hands it to the Worker here gets the
   * same list again in {@linkcode adopt}.
   */
  start(sessions: PlaneSessions | null, held: readonly H[]): Promise<L>;
  /** A Worker is up; `held` is every packet held until now, for it. */
  adopt(life: L, held: readonly H[]): void;
  /** The fds a sleeping node watches (read once, at the first sleep). */
  watchFds(): number[];
  /** After each wake-up of the watch: reads what came, giving what needs the plane to `hold`. */
  read(hold: (h: H) => void): void;
  /**
   * When the host has work of its own while the plane sleeps (a keepalive owed), as
   * `performance.now()` ms; Infinity or absent for none. The watch wakes for it.
   */
  due?(): number;
  /**
   * After each wake-up of the watch: the host's own work that is due; true if it needs a
   * Worker for it (a keepalive with no usable session: the Worker handshakes). It must move
   * `due` past now either way.
   */
  tick?(): boolean;
  /** `life` ended asleep: before the watch, e.g. to hold what it had not read yet. */
  ended?(life: L, hold: (h: H) => void): void;
  /** One line per event. */
  log(line: string): void;
  /** After each sleep: gives back what the Worker left resident. */
  released?(): void;
}

/**
 * A Worker plane across its sleeps; `L` is its Worker, `H` a held packet.
 *
 * @example
 * ```ts ignore
 * const cycle = await SleepCycle.start(host);
 * cycle.awake?.status();            // the Worker, while awake
 * if (cycle.fallingAsleep(msg.sessions)) keepTheRest(msg); // on the Worker's asleep message
 * cycle.hold(pkt); cycle.wake();     // a packet for a sleeping plane
 * await cycle.stop();
 * ```
 */
export class SleepCycle<L extends PlaneLife, H> {
  readonly #host: SleepCycleHost<L, H>;
  #state: State = "waking";
  #life: L | null = null;
  readonly #kept = new KeptSessions();
  #held: H[] = [];
  #retryAt = 0;
  #poller: Poller | null = null;
  #fds: number[] | null = null;
  #resolveDone!: () => void;
  /** Settles when the plane stopped for good: by {@linkcode stop}, or a Worker that failed. */
  readonly done: Promise<void> = new Promise((r) => this.#resolveDone = r);
  /** Packets dropped past {@linkcode MAX_HELD}, or held for a Worker that could not start. */
  heldDrops = 0;

  private constructor(host: SleepCycleHost<L, H>) {
    this.#host = host;
  }

  /** Starts the plane awake; rejects with the Worker's reason if it cannot start. */
  static async start<L extends PlaneLife, H>(
    host: SleepCycleHost<L, H>,
  ): Promise<SleepCycle<L, H>> {
    const cycle = new SleepCycle(host);
    cycle.#adopt(await host.start(null, []));
    return cycle;
  }

  /** Whether the Worker is asleep (or falling asleep, or waking). */
  get asleep(): boolean {
    return this.#state !== "awake";
  }

  /** The sessions kept for the next Worker while the plane sleeps, else null. */
  get sessions(): PlaneSessions | null {
    return this.#kept.current;
  }

  /** The Worker while it is awake, else null. */
  get awake(): L | null {
    return this.#state === "awake" ? this.#life : null;
  }

  /**
   * The Worker says it is falling asleep and hands up `sessions`: kept until the next Worker
   * takes them. False (and the keys wiped) unless it was awake: a stop or a wake came first.
   */
  fallingAsleep(sessions: PlaneSessions): boolean {
    if (this.#state !== "awake") {
      wipeSavedSessions(sessions.peers);
      return false;
    }
    this.#state = "sleeping";
    this.#kept.keep(sessions);
    return true;
  }

  /** Holds a packet for the next Worker (dropped, and counted, past {@linkcode MAX_HELD}). */
  hold(h: H): void {
    if (this.#held.length < MAX_HELD) this.#held.push(h);
    else this.heldDrops++;
  }

  /** Starts a Worker for the held packets (at most once per {@linkcode RETRY_MS} after a failure). */
  wake(): void {
    if (this.#state !== "asleep" || performance.now() < this.#retryAt) return;
    this.#state = "waking";
    this.#poller?.wake();
    const since = performance.now();
    this.#host.start(this.#kept.current, this.#held).then((life) => {
      if (this.#state !== "waking") return void life.stop();
      this.#host.log(`data plane awake in ${Math.round(performance.now() - since)} ms`);
      this.#adopt(life);
    }, (e) => {
      if (this.#state !== "waking") return;
      this.#host.log(`cannot wake the data plane: ${e instanceof Error ? e.message : e}`);
      this.heldDrops += this.#held.length;
      this.#held = [];
      this.#retryAt = performance.now() + RETRY_MS;
      this.#state = "asleep";
      void this.#watch();
    });
  }

  /** Stops the plane for good (the Worker, or the watch). Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === "stopped") return;
    this.#state = "stopped";
    this.#poller?.wake();
    await this.#life?.stop();
    this.#poller?.close();
    this.#kept.drop();
    this.#resolveDone();
  }

  /** A Worker is up with its copy of the sessions: it takes what was held meanwhile. */
  #adopt(life: L): void {
    this.#life = life;
    this.#state = "awake";
    this.#kept.drop(); // the Worker has its copy: this one's send counters are stale now
    const held = this.#held;
    this.#held = [];
    this.#host.adopt(life, held);
    life.done.then(() => this.#ended(life));
  }

  /** The Worker is gone: asleep as it said, or failed. */
  #ended(life: L): void {
    if (this.#life !== life) return;
    this.#life = null;
    if (this.#state !== "sleeping") {
      if (this.#state !== "stopped") {
        this.#state = "stopped";
        this.#kept.drop();
        this.#resolveDone();
      }
      return;
    }
    this.#host.ended?.(life, (h) => this.hold(h));
    this.#state = "asleep";
    this.#host.log(this.#kept.asleepLine());
    this.#host.released?.();
    if (this.#held.length > 0) this.wake();
    else void this.#watch();
  }

  /** While asleep: the host's fds, read on this thread until a packet needs the plane. */
  async #watch(): Promise<void> {
    const poller = this.#poller ??= new Poller();
    const fds = this.#fds ??= this.#host.watchFds();
    while (this.#state === "asleep") {
      const due = this.#host.due?.() ?? Infinity;
      const wait = Math.max(0, Math.min(WATCH_WAIT_MS, due - performance.now()));
      try {
        await poller.wait(fds, Math.ceil(wait));
      } catch {
        return; // closed by stop()
      }
      if (this.#state !== "asleep") return;
      this.#kept.expireIfStale();
      this.#host.read((h) => this.hold(h));
      const needsWorker = this.#host.tick?.() ?? false;
      if (this.#held.length > 0 || needsWorker) this.wake();
    }
  }
}
