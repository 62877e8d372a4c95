/**
 * A sleeping wg-config node's persistent keepalives, on the node's thread: each peer with
 * `PersistentKeepalive` gets its keepalive on time from the kept session while the Worker
 * sleeps, and the peers' own keepalives are taken here instead of waking a Worker for them
 * (`keepalive_asleep.ts` makes and checks them). A peer whose kept session can no longer carry
 * one (Reject-After-Time passed, or none kept) needs a Worker, which handshakes; a keepalive
 * older than the newest received is left for the Worker too.
 *
 * What it changes, the next Worker goes on from: the sessions' counters, and each peer's
 * endpoint (roamed to, as a device follows an authenticated packet) and byte counts.
 *
 * The AEAD is node:crypto's, whose module graph costs a plain node's thread ~4 MB resident
 * (`deno task bench:memory --only wg`): it is loaded only when a sleep has a keepalive to send
 * (at the start of the sleep, well before the first is due) or a peer's keepalive arrives
 * (that one still wakes the Worker, as before; later ones are taken here).
 *
 * @module
 */
import { toHex } from "../bytes/hex.ts";
import { MESSAGE_TRANSPORT_MIN_SIZE as KEEPALIVE_SIZE } from "../wireguard/constants.ts";
import type { Timings } from "../wireguard/timings.ts";
import type { WgPeerCarry } from "./plane_messages.ts";
import { type PlaneSessions, sharedNow } from "./ts_plane_messages.ts";

type Codec = typeof import("../wireguard/keepalive_asleep.ts");

/** One peer's schedule: its interval and when the next keepalive is due (performance.now()). */
interface Schedule {
  intervalMs: number;
  dueAt: number;
  carry: WgPeerCarry;
}

/**
 * The keepalives of one sleep, from the Worker's hand-over to the next Worker.
 *
 * @example
 * ```ts ignore
 * const ka = new SleepKeepalives(timings, intervals);
 * ka.start(state.peers);                       // the Worker fell asleep
 * await poller.wait(fds, ka.due - performance.now());
 * if (ka.tick(sessions, send)) wakeTheWorker();
 * ```
 */
export class SleepKeepalives {
  readonly #timings: Timings;
  readonly #intervals: ReadonlyMap<string, number>;
  #peers = new Map<string, Schedule>();
  #codec: Codec | null = null;
  #loading: Promise<void> | null = null;

  /** `intervalsMs`: each peer's persistent keepalive by hex public key (peers without none). */
  constructor(timings: Timings, intervalsMs: ReadonlyMap<string, number>) {
    this.#timings = timings;
    this.#intervals = intervalsMs;
  }

  /** Settles once the codec is loaded (tests; a sleep with keepalives starts loading it). */
  get ready(): Promise<void> {
    this.#load();
    return this.#loading!;
  }

  /** A sleep begins: the carried peers, whose keepalives are due when the Worker said. */
  start(peers: readonly WgPeerCarry[]): void {
    const now = performance.now();
    this.#peers = new Map();
    for (const carry of peers) {
      const key = toHex(carry.publicKey);
      const intervalMs = this.#intervals.get(key);
      if (!intervalMs) continue;
      this.#peers.set(key, { intervalMs, dueAt: now + (carry.keepaliveInMs ?? intervalMs), carry });
    }
    if (this.#peers.size > 0) this.#load();
  }

  /** Loads the codec once (in the background: a caller that needs it before goes without). */
  #load(): void {
    this.#loading ??= import("../wireguard/keepalive_asleep.ts").then((m) => {
      this.#codec = m;
    });
  }

  /** When the next keepalive is due (performance.now() ms), Infinity if none is scheduled. */
  get due(): number {
    let min = Infinity;
    for (const s of this.#peers.values()) min = Math.min(min, s.dueAt);
    return min;
  }

  /**
   * Sends every keepalive due on its kept session through `send`; true if a peer has no
   * session to carry one (the caller wakes the Worker, which handshakes and sends it).
   */
  tick(
    sessions: PlaneSessions | null,
    send: (msg: Uint8Array, endpoint: Uint8Array) => void,
  ): boolean {
    const now = performance.now();
    let needsWorker = false;
    for (const [key, s] of this.#peers) {
      if (s.dueAt > now) continue;
      s.dueAt = now + s.intervalMs;
      const codec = this.#codec;
      const saved = sessions?.peers.find((p) => toHex(p.publicKey) === key);
      const kp = saved && sessions && codec
        ? codec.sendingKeypair(saved, sharedNow() - sessions.savedAt, this.#timings)
        : null;
      if (codec === null || kp === null || s.carry.endpoint === null) {
        needsWorker = true;
        continue;
      }
      const msg = codec.sealKeepalive(kp);
      send(msg, s.carry.endpoint);
      s.carry.txBytes += msg.length;
    }
    return needsWorker;
  }

  /**
   * A WireGuard datagram the watch read from `from`: true if it was a peer's keepalive, taken
   * (counted, the peer's endpoint moved to `from`, its next keepalive put off an interval, as
   * any authenticated packet does); false for what the Worker must see.
   */
  take(
    pkt: Uint8Array,
    from: Uint8Array,
    sessions: PlaneSessions | null,
    carried: readonly WgPeerCarry[],
  ): boolean {
    if (sessions === null || pkt.length !== KEEPALIVE_SIZE) return false;
    const codec = this.#codec;
    if (codec === null) {
      this.#load();
      return false;
    }
    const elapsed = sharedNow() - sessions.savedAt;
    const peer = codec.openKeepalive(pkt, sessions.peers, elapsed, this.#timings);
    if (peer === null) return false;
    const key = toHex(peer.publicKey);
    const carry = carried.find((c) => toHex(c.publicKey) === key);
    if (carry) {
      carry.rxBytes += pkt.length;
      carry.endpoint = from.slice();
    }
    const s = this.#peers.get(key);
    if (s) s.dueAt = performance.now() + s.intervalMs;
    return true;
  }
}
