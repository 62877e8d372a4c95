/**
 * The per-peer direct-path state machine (issue 5). Pure: every method takes
 * the current time in milliseconds and returns the actions to perform; the
 * caller (magicsock) owns sockets, DERP links, keys and timers.
 *
 * ```
 *   unknown ──ping sent──▶ probing ──pong──▶ direct ◀────────── pong ──┐
 *                             │                │                        │
 *                   all pings timed out   N missed heartbeats           │
 *                             ▼                ▼                        │
 *                         relay-only ◀──── degraded ── pong ──▶ direct  │
 *                             │   no pong for degradedTimeout           │
 *                             └───── reprobe every reprobeInterval ─────┘
 * ```
 *
 * Where WireGuard packets go ({@linkcode PeerPath.sendPath}): direct with a
 * pong in the last `trustUDPAddrDuration` → UDP only; direct but stale, or
 * degraded → UDP and DERP; unknown, probing, relay-only → DERP only. The
 * WireGuard session is independent of the path, so switching never drops it.
 *
 * What it takes and returns is typed in path_types.ts; the candidate endpoints
 * and the pings in flight are kept by path_candidates.ts and path_pings.ts.
 *
 * @module
 */

import { type AddrPort, addrPortEqual, isIPv6, isLinkLocalUnicast } from "./addr.ts";
import { type AddrQuality, betterAddr } from "./better_addr.ts";
import { DERP_MAGIC_IP, MAX_CANDIDATES, TX_ID_LEN } from "./constants.ts";
import { type Candidate, CandidateTable, endpointKey } from "./path_candidates.ts";
import { type SentPing, SentPings, txKey } from "./path_pings.ts";
import type {
  CandidateInfo,
  DiscoAction,
  DiscoVia,
  PathState,
  PingPurpose,
  SendPath,
} from "./path_types.ts";
import { type DiscoTunables, discoTunables } from "./tunables.ts";

/** Least time between two pings answering a peer's pings to the same address. */
const PING_BACK_MIN_MS = 1000;

/** Options for {@linkcode PeerPath}. */
export interface PeerPathOptions {
  /** Overrides of {@linkcode DEFAULT_DISCO_TUNABLES}. */
  tunables?: Partial<DiscoTunables>;
  /** Source of 12-byte TxIDs; default crypto random. */
  randomTxId?: () => Uint8Array;
}
const NO_ACTIONS: readonly DiscoAction[] = Object.freeze([]);
const DERP_ONLY: SendPath = Object.freeze({ udp: null, derp: true });

/**
 * One peer's path state. Drive it with: {@linkcode setEndpoints} on every
 * netmap, {@linkcode noteSend} and {@linkcode sendPath} for outgoing WireGuard
 * packets, the `handle*` methods for disco messages from this peer, and
 * {@linkcode tick} at {@linkcode nextTimerAt} (or on any periodic timer).
 *
 * @example
 * ```ts
 * import { PeerPath } from "./path.ts";
 * import { parseAddrPort } from "./addr.ts";
 * const p = new PeerPath();
 * p.setEndpoints(0, [parseAddrPort("192.0.2.1:41641")]);
 * p.noteSend(0).map((a) => a.kind); // ["ping", "call-me-maybe", "path"] (now "probing")
 * p.sendPath(0); // { udp: null, derp: true }
 * ```
 */
export class PeerPath {
  /** The effective tunables. */
  readonly tunables: Readonly<DiscoTunables>;
  readonly #randomTxId: () => Uint8Array;
  #state: PathState = "unknown";
  #best: AddrQuality | null = null;
  #bestKey: string | null = null;
  #bestPongAt = 0;
  #probingSince = 0;
  #trustUntil = 0;
  #misses = 0;
  #lastHeartbeatTx: string | null = null;
  readonly #candidates = new CandidateTable();
  readonly #sent = new SentPings();
  #lastSend: number | null = null;
  #lastFullPing: number | null = null;
  #nextHeartbeat: number | null = null;

  /** A peer with no endpoints, in state "unknown". */
  constructor(opts?: PeerPathOptions) {
    this.tunables = Object.freeze(discoTunables(opts?.tunables));
    this.#randomTxId = opts?.randomTxId ??
      (() => crypto.getRandomValues(new Uint8Array(TX_ID_LEN)));
  }

  /** The current state. */
  get state(): PathState {
    return this.#state;
  }

  /** The verified direct path (set in "direct" and "degraded"), or null. */
  get best(): AddrPort | null {
    return this.#best?.addr ?? null;
  }

  /** The best path's latest round trip in ms, or null. */
  get bestLatency(): number | null {
    return this.#best?.latency ?? null;
  }

  /**
   * Until when (ms) a direct path carries packets alone ({@linkcode sendPath} says no DERP),
   * 0 when it does not.
   */
  get trustedUntil(): number {
    return this.#best !== null && this.#state === "direct" ? this.#trustUntil : 0;
  }

  /** Every candidate endpoint, for status. */
  candidates(): CandidateInfo[] {
    return this.#candidates.info();
  }

  /**
   * Where a WireGuard packet to this peer goes right now. Has no side effects;
   * call {@linkcode noteSend} too so discovery runs.
   */
  sendPath(now: number): SendPath {
    const best = this.#best;
    if (best === null || (this.#state !== "direct" && this.#state !== "degraded")) {
      return DERP_ONLY;
    }
    return { udp: best.addr, derp: !this.#trusted(now) };
  }

  /**
   * Records that a WireGuard packet is being sent to this peer (keeps the
   * session active, starts heartbeats) and, unless a trusted direct path
   * exists, pings candidates not pinged recently and asks for a CallMeMaybe.
   */
  noteSend(now: number): readonly DiscoAction[] {
    this.#lastSend = now;
    if (this.#nextHeartbeat === null) this.#nextHeartbeat = now + this.tunables.heartbeatInterval;
    if (this.#trusted(now)) return NO_ACTIONS;
    const actions: DiscoAction[] = [];
    // Settle due timeouts first, so a failed probe round turns relay-only
    // (reprobe throttle) instead of being restarted by the very next send.
    this.#expirePings(now);
    this.#transition(now, actions);
    this.#sendDiscoPings(now, true, actions);
    return actions;
  }

  /**
   * Replaces the netmap's endpoints (Node.Endpoints). Endpoints learned from
   * CallMeMaybe or from pings stay; a best path that is no longer a candidate
   * is dropped.
   */
  setEndpoints(now: number, endpoints: readonly AddrPort[]): readonly DiscoAction[] {
    for (const c of this.#candidates.values()) c.fromNetmap = false;
    for (const ep of endpoints) this.#candidates.add(ep).fromNetmap = true;
    const actions: DiscoAction[] = [];
    this.#prune(now, actions);
    return actions;
  }

  /**
   * A CallMeMaybe from this peer (the caller checked it came over DERP from the
   * peer's node key and that the disco key matches the netmap). Replaces the
   * CallMeMaybe-derived endpoints (IPv6 link-local ones skipped), forgets the
   * ping throttles and pings every candidate at once, without a CallMeMaybe back.
   */
  handleCallMeMaybe(now: number, endpoints: readonly AddrPort[]): readonly DiscoAction[] {
    for (const c of this.#candidates.values()) c.fromCallMeMaybe = false;
    for (const ep of endpoints) {
      if (isIPv6(ep.ip) && isLinkLocalUnicast(ep.ip)) continue; // needs a zone to be useful
      this.#candidates.add(ep).fromCallMeMaybe = true;
    }
    const actions: DiscoAction[] = [];
    this.#prune(now, actions);
    for (const c of this.#candidates.values()) c.lastPing = null;
    this.#sendDiscoPings(now, false, actions);
    return actions;
  }

  /**
   * Pings every candidate now, ignoring the throttles, without a CallMeMaybe:
   * for when the driver learned a path works (a user ping was answered).
   */
  probe(now: number): readonly DiscoAction[] {
    const actions: DiscoAction[] = [];
    for (const c of this.#candidates.values()) c.lastPing = null;
    this.#sendDiscoPings(now, false, actions);
    return actions;
  }

  /**
   * A Ping from this peer. Over UDP its source becomes a candidate; the answer
   * is a Pong back the same way, reporting the source (127.3.3.40:<region> for
   * DERP). A duplicate of the last ping from the same source gets no answer.
   */
  handlePing(now: number, txId: Uint8Array, via: DiscoVia): readonly DiscoAction[] {
    if (via.kind === "derp") {
      return [{ kind: "pong", via, txId, src: { ip: DERP_MAGIC_IP.slice(), port: via.region } }];
    }
    const tx = txKey(txId);
    const actions: DiscoAction[] = [];
    let c = this.#candidates.get(endpointKey(via.addr));
    if (c !== undefined && c.lastGotPingTxId === tx) return NO_ACTIONS;
    if (c === undefined) {
      c = this.#candidates.add(via.addr);
      if (this.#candidates.size > MAX_CANDIDATES) this.#prune(now, actions);
    }
    c.lastGotPing = now;
    c.lastGotPingTxId = tx;
    actions.push({ kind: "pong", via, txId, src: via.addr });
    // The peer's NAT has just opened a mapping toward us from this address: if it is not our
    // trusted path, ping it back at once instead of waiting out the throttle (hole punching
    // needs both sides to send while both mappings exist).
    const key = endpointKey(via.addr);
    const untrusted = this.#bestKey !== key || !this.#trusted(now);
    if (untrusted && (c.lastPing === null || now - c.lastPing >= PING_BACK_MIN_MS)) {
      this.#startPing(now, c, "discovery", actions);
    }
    return actions;
  }

  /**
   * A Pong from this peer's disco key. Returns null if the TxID is not one of
   * this peer's outstanding pings (the caller may then offer it to another
   * peer sharing the disco key). Over UDP it verifies the pinged path: the path
   * becomes the best if it is better or the current best is no longer trusted,
   * and a pong for the best path renews trust and returns the peer to "direct".
   */
  handlePong(now: number, txId: Uint8Array, via: DiscoVia): readonly DiscoAction[] | null {
    const tx = txKey(txId);
    const sp = this.#sent.get(tx);
    if (sp === undefined) return null;
    this.#sent.delete(tx);
    if (via.kind === "derp") return NO_ACTIONS;
    const c = this.#candidates.get(sp.toKey);
    if (c === undefined) return NO_ACTIONS; // the endpoint went away meanwhile
    const latency = Math.max(0, now - sp.at);
    c.latency = latency;
    const thisPong: AddrQuality = { addr: sp.to, latency };
    const isBest = this.#bestKey === sp.toKey;
    if (!isBest && !betterAddr(thisPong, this.#best) && this.#trusted(now)) return NO_ACTIONS;
    // This pong's path is (or becomes) the best: verified now, trusted for a while.
    const actions: DiscoAction[] = [];
    this.#bestPongAt = now;
    this.#trustUntil = now + this.tunables.trustUDPAddrDuration;
    this.#misses = 0;
    this.#set(now, "direct", thisPong, sp.toKey, actions);
    return actions;
  }

  /** Forgets a ping the driver could not send (so it is not awaited). */
  forgetPing(txId: Uint8Array): void {
    this.#sent.delete(txKey(txId));
  }

  /**
   * Forgets every path and probe (the peer's disco key changed, or our network
   * did) and returns to "unknown"; candidates stay and are pinged afresh.
   */
  reset(now: number): readonly DiscoAction[] {
    const actions: DiscoAction[] = [];
    this.#set(now, "unknown", null, null, actions);
    this.#sent.clear();
    for (const c of this.#candidates.values()) {
      c.lastPing = null;
      c.latency = null;
    }
    this.#lastFullPing = null;
    this.#lastSend = null;
    this.#nextHeartbeat = null;
    return actions;
  }

  /**
   * Runs what is due: ping timeouts, missed-heartbeat counting, state
   * transitions, heartbeats, and discovery or reprobing while the session is
   * active. Safe to call at any time.
   */
  tick(now: number): readonly DiscoAction[] {
    const actions: DiscoAction[] = [];
    this.#expirePings(now);
    this.#transition(now, actions);
    if (this.#nextHeartbeat !== null && now >= this.#nextHeartbeat) this.#heartbeat(now, actions);
    return actions;
  }

  /** When {@linkcode tick} next has something to do, or null if nothing is pending. */
  nextTimerAt(): number | null {
    let at = this.#sent.nextTimeout(this.tunables.probeTimeout);
    if (this.#nextHeartbeat !== null) at = Math.min(at, this.#nextHeartbeat);
    if (this.#state === "degraded") {
      at = Math.min(at, this.#bestPongAt + this.tunables.degradedTimeout);
    }
    if (this.#state === "probing") {
      // Probing with no discovery ping out (they were pruned) gives up at the next tick.
      const gaveUp = this.#sent.hasDiscovery()
        ? this.#probingSince + this.tunables.probeTimeout
        : this.#probingSince;
      at = Math.min(at, gaveUp);
    }
    return at === Infinity ? null : at;
  }

  // --- internals ---

  #trusted(now: number): boolean {
    return this.#best !== null && this.#state === "direct" && now <= this.#trustUntil;
  }

  /** Drops candidates no source vouches for any more; drops the best path with them. */
  #prune(now: number, actions: DiscoAction[]): void {
    this.#candidates.prune(now, this.tunables.sessionActiveTimeout, (key) => {
      if (key === this.#bestKey) {
        this.#set(now, this.#sent.hasDiscovery() ? "probing" : "unknown", null, null, actions);
      }
    });
  }

  #sendDiscoPings(now: number, sendCallMeMaybe: boolean, actions: DiscoAction[]): void {
    this.#prune(now, actions);
    this.#lastFullPing = now;
    const interval = this.#state === "relay-only"
      ? this.tunables.reprobeInterval
      : this.tunables.discoPingInterval;
    let sentAny = false;
    for (const c of this.#candidates.values()) {
      if (c.lastPing !== null && now - c.lastPing < interval) continue;
      this.#startPing(now, c, "discovery", actions);
      sentAny = true;
    }
    if (!sentAny) return;
    if (sendCallMeMaybe) actions.push({ kind: "call-me-maybe" });
    if (this.#state === "unknown") this.#set(now, "probing", null, null, actions);
  }

  #startPing(now: number, c: Candidate, purpose: PingPurpose, actions: DiscoAction[]): string {
    const txId = this.#randomTxId();
    if (txId.length !== TX_ID_LEN) {
      throw new RangeError(`Disco TxID must be ${TX_ID_LEN} bytes, got ${txId.length}`);
    }
    const tx = txKey(txId);
    const toKey = endpointKey(c.addr);
    this.#sent.add(tx, { txId, to: c.addr, toKey, at: now, purpose, missCounted: false });
    c.lastPing = now;
    actions.push({ kind: "ping", to: c.addr, txId, purpose });
    return tx;
  }

  #expirePings(now: number): void {
    this.#sent.expire(now, this.tunables.probeTimeout, (sp) => this.#countMiss(sp));
  }

  /** A heartbeat to the current best that got no pong counts once as a miss. */
  #countMiss(sp: SentPing): void {
    if (sp.purpose !== "heartbeat" || sp.missCounted || sp.toKey !== this.#bestKey) return;
    sp.missCounted = true;
    this.#misses++;
  }

  #transition(now: number, actions: DiscoAction[]): void {
    const t = this.tunables;
    if (this.#state === "direct" && this.#misses >= t.degradedAfterFailures) {
      this.#trustUntil = 0; // a degraded path never carries traffic alone
      this.#set(now, "degraded", this.#best, this.#bestKey, actions);
    }
    if (this.#state === "degraded" && now - this.#bestPongAt >= t.degradedTimeout) {
      this.#set(now, "relay-only", null, null, actions);
    }
    if (
      this.#state === "probing" &&
      (now - this.#probingSince >= t.probeTimeout || !this.#sent.hasDiscovery())
    ) {
      this.#set(now, "relay-only", null, null, actions);
    }
  }

  #heartbeat(now: number, actions: DiscoAction[]): void {
    const t = this.tunables;
    if (this.#lastSend === null || now - this.#lastSend > t.sessionActiveTimeout) {
      this.#nextHeartbeat = null; // the session is idle: stop until the next send
      return;
    }
    this.#nextHeartbeat = now + t.heartbeatInterval;
    // A heartbeat still unanswered when the next is due counts as missed (it may
    // still be answered until its timeout, and that pong still counts).
    const last = this.#lastHeartbeatTx === null ? undefined : this.#sent.get(this.#lastHeartbeatTx);
    if (last !== undefined) this.#countMiss(last);
    this.#transition(now, actions);
    if (this.#state === "direct" || this.#state === "degraded") {
      const c = this.#bestKey === null ? undefined : this.#candidates.get(this.#bestKey);
      if (c !== undefined) this.#lastHeartbeatTx = this.#startPing(now, c, "heartbeat", actions);
      if (this.#wantFullPing(now)) this.#sendDiscoPings(now, true, actions);
    } else {
      // unknown and probing retry every discoPingInterval, relay-only every reprobeInterval
      this.#sendDiscoPings(now, true, actions);
    }
  }

  #wantFullPing(now: number): boolean {
    const t = this.tunables;
    if (this.#best === null || this.#lastFullPing === null) return true;
    if (!this.#trusted(now)) return true;
    if (this.#best.latency <= t.goodEnoughLatency) return false;
    return now - this.#lastFullPing >= t.upgradeUDPDirectInterval;
  }

  /** Moves to `state` with `best`, reporting a change of either as a "path" action. */
  #set(
    now: number,
    state: PathState,
    best: AddrQuality | null,
    bestKey: string | null,
    actions: DiscoAction[],
  ): void {
    const previousState = this.#state;
    const previousBest = this.#best?.addr ?? null;
    if (bestKey !== this.#bestKey) this.#lastHeartbeatTx = null;
    if (best === null) {
      this.#trustUntil = 0;
      this.#misses = 0;
    }
    if (state === "probing" && previousState !== "probing") this.#probingSince = now;
    this.#state = state;
    this.#best = best;
    this.#bestKey = bestKey;
    const sameBest = previousBest === null
      ? best === null
      : best !== null && addrPortEqual(previousBest, best.addr);
    if (previousState === state && sameBest) return;
    actions.push({
      kind: "path",
      state,
      best: best?.addr ?? null,
      latency: best?.latency ?? null,
      previousState,
      previousBest,
    });
  }
}
