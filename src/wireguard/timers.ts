/**
 * The per-peer timer state machine of the WireGuard whitepaper §6, with the
 * event names wireguard-go uses. It only keeps deadlines; the device asks
 * which have expired and performs the actions, so it runs on any clock.
 *
 * @module
 */
import type { Timings } from "./timings.ts";

/** The five timers a peer runs. */
export type TimerKind =
  | "retransmitHandshake"
  | "sendKeepalive"
  | "newHandshake"
  | "zeroKeyMaterial"
  | "persistentKeepalive";

const KINDS: readonly TimerKind[] = [
  "retransmitHandshake",
  "sendKeepalive",
  "newHandshake",
  "zeroKeyMaterial",
  "persistentKeepalive",
];

/** Deadlines of one peer's timers; `Infinity` means stopped. */
export class PeerTimers {
  /** Deadline per timer, monotonic ms. */
  readonly deadlines: Record<TimerKind, number> = {
    retransmitHandshake: Infinity,
    sendKeepalive: Infinity,
    newHandshake: Infinity,
    zeroKeyMaterial: Infinity,
    persistentKeepalive: Infinity,
  };
  /** Handshake retries since the last completed handshake. */
  handshakeAttempts = 0;
  /** A keepalive became due while one was already pending. */
  needAnotherKeepalive = false;

  #t: Timings;
  #random: () => number;

  /**
   * Starts with every timer stopped; `random` is injectable so tests get a fixed jitter.
   *
   * @param timings the protocol intervals (the whitepaper's, or shortened ones for tests)
   * @param random uniform in [0, 1), for jitter
   */
  constructor(timings: Timings, random: () => number = Math.random) {
    this.#t = timings;
    this.#random = random;
  }

  #jitter(): number {
    return Math.floor(this.#random() * this.#t.rekeyTimeoutJitterMax);
  }

  /** Whether `kind` is running. */
  pending(kind: TimerKind): boolean {
    return this.deadlines[kind] !== Infinity;
  }

  /** Stops `kind`. */
  stop(kind: TimerKind): void {
    this.deadlines[kind] = Infinity;
  }

  /** Stops every timer (peer removed or device down). */
  stopAll(): void {
    for (const k of KINDS) this.deadlines[k] = Infinity;
  }

  /** We sent a data packet (not a keepalive): expect an answer or rekey. */
  dataSent(now: number): void {
    if (!this.pending("newHandshake")) {
      this.deadlines.newHandshake = now + this.#t.keepaliveTimeout + this.#t.rekeyTimeout +
        this.#jitter();
    }
  }

  /** We received a data packet: acknowledge it with a keepalive if we send nothing. */
  dataReceived(now: number): void {
    if (!this.pending("sendKeepalive")) {
      this.deadlines.sendKeepalive = now + this.#t.keepaliveTimeout;
    } else {
      this.needAnotherKeepalive = true;
    }
  }

  /** Any authenticated packet went out: it doubles as the keepalive. */
  anyAuthenticatedPacketSent(): void {
    this.stop("sendKeepalive");
  }

  /** Any authenticated packet arrived: the peer is alive, no rekey needed for silence. */
  anyAuthenticatedPacketReceived(): void {
    this.stop("newHandshake");
  }

  /** Any authenticated packet crossed in either direction: restart persistent keepalive. */
  anyAuthenticatedPacketTraversal(now: number, persistentKeepaliveMs: number): void {
    if (persistentKeepaliveMs > 0) {
      this.deadlines.persistentKeepalive = now + persistentKeepaliveMs;
    }
  }

  /** We sent a handshake initiation: retry if unanswered. */
  handshakeInitiated(now: number): void {
    this.deadlines.retransmitHandshake = now + this.#t.rekeyTimeout + this.#jitter();
  }

  /** A handshake completed. */
  handshakeComplete(): void {
    this.stop("retransmitHandshake");
    this.handshakeAttempts = 0;
    this.needAnotherKeepalive = false;
  }

  /** New session keys exist: wipe them if no new handshake follows for three reject periods. */
  sessionDerived(now: number): void {
    this.deadlines.zeroKeyMaterial = now + this.#t.rejectAfterTime * 3;
  }

  /** Retries allowed before giving up, per REKEY_ATTEMPT_TIME / REKEY_TIMEOUT. */
  get maxHandshakeAttempts(): number {
    return Math.floor(this.#t.rekeyAttemptTime / this.#t.rekeyTimeout);
  }

  /** The earliest deadline, or Infinity. */
  nextDeadline(): number {
    let min = Infinity;
    for (const k of KINDS) if (this.deadlines[k] < min) min = this.deadlines[k];
    return min;
  }

  /** Stops and returns the timers whose deadline is at or before `now`. */
  expire(now: number): TimerKind[] {
    let fired: TimerKind[] | undefined;
    for (const k of KINDS) {
      if (this.deadlines[k] <= now) {
        this.deadlines[k] = Infinity;
        (fired ??= []).push(k);
      }
    }
    return fired ?? NONE;
  }
}

const NONE: TimerKind[] = [];
