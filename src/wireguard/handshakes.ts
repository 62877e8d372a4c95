/**
 * The handshake half of the WireGuard device (whitepaper §5.4): sending and
 * retrying initiations, admitting handshake messages (mac1, cookies under
 * load, per-source rate limits), answering initiations, completing
 * responses, cookie replies, and the bookkeeping of session slots and
 * indices that handshakes change.
 *
 * @module
 */
import { toHex } from "../bytes/hex.ts";
import { HANDSHAKE_INITIATION_RATE } from "./constants.ts";
import { CookieChecker } from "./cookie.ts";
import type { Clock } from "./clock.ts";
import type { Bind, DropCounters } from "./device.ts";
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  type StaticIdentity,
} from "./handshake.ts";
import type { IndexTable } from "./index_table.ts";
import { Keypair } from "./keypair.ts";
import { type LoadMode, LoadMonitor, RateLimiter } from "./load.ts";
import type { Peer } from "./peer.ts";
import { compareTai64n } from "./tai64n.ts";
import type { Timings } from "./timings.ts";

/** What the handshake layer shares with the device. */
export interface HandshakeContext {
  /** Our static key pair. */
  identity: StaticIdentity;
  /** Receiver indices, shared with transport sessions. */
  indices: IndexTable<Peer>;
  /** Time source. */
  clock: Clock;
  /** Protocol timers. */
  timings: Timings;
  /** Where messages go. */
  bind: Bind;
  /** One line per notable event. */
  log: (line: string) => void;
  /** The device's drop counters. */
  drops: DropCounters;
  /** The configured peer with this static public key. */
  peerByKey(publicKey: Uint8Array): Peer | undefined;
  /** We initiated and the response came: confirm the session (staged data or a keepalive). */
  onInitiatorComplete(peer: Peer): void;
}

const SIZE_INITIATION = 148;
const SIZE_RESPONSE = 92;
const SIZE_COOKIE_REPLY = 64;

/** Handshakes for one device. */
export class Handshakes {
  readonly #ctx: HandshakeContext;
  readonly #checker: CookieChecker;
  readonly #load: LoadMonitor;
  readonly #limiter = new RateLimiter();

  /**
   * Binds the handshake state to the device's identity; the mac1 and cookie keys that
   * incoming messages are checked against come from its public key.
   *
   * @param ctx the device's identity, index table, clock, bind and peer lookup
   * @param loadMode when to demand cookies
   */
  constructor(ctx: HandshakeContext, loadMode: LoadMode = "auto") {
    this.#ctx = ctx;
    this.#checker = new CookieChecker(ctx.identity.publicKey);
    this.#load = new LoadMonitor(loadMode);
  }

  /** Sends an initiation to `peer` (at most one per REKEY_TIMEOUT unless retrying). */
  initiate(peer: Peer, isRetry: boolean): void {
    const now = this.#ctx.clock.now();
    if (!isRetry) {
      peer.timers.handshakeAttempts = 0;
      // At most one initiation per REKEY_TIMEOUT unless the retry timer asks.
      if (now - peer.lastHandshakeSent < this.#ctx.timings.rekeyTimeout) return;
    }
    if (peer.endpoint === null) return;
    peer.lastHandshakeSent = now;
    if (peer.handshake !== null) this.#ctx.indices.free(peer.handshake.localIndex);
    const index = this.#ctx.indices.allocate(peer);
    const { message, state } = createInitiation(
      this.#ctx.identity,
      peer.publicKey,
      index,
      this.#ctx.clock.wallNow(),
      { precomputedStaticStatic: peer.staticShared },
    );
    peer.handshake = state;
    peer.cookies.addMacs(message, now);
    peer.timers.anyAuthenticatedPacketTraversal(now, peer.persistentKeepaliveMs);
    peer.timers.anyAuthenticatedPacketSent();
    peer.timers.handshakeInitiated(now);
    this.#ctx.bind.send([message], [message.length], [peer.endpoint], 1, 0);
    peer.txBytes += message.length;
  }

  /** The retry timer fired: send again, or give up after REKEY_ATTEMPT_TIME. */
  retransmit(peer: Peer, now: number): void {
    if (peer.timers.handshakeAttempts >= peer.timers.maxHandshakeAttempts) {
      this.#ctx.log(
        `peer ${shortKey(peer)}: handshake did not complete after ${
          Math.round(this.#ctx.timings.rekeyAttemptTime / 1000)
        } s, giving up`,
      );
      peer.timers.stop("sendKeepalive");
      peer.staged = [];
      if (!peer.timers.pending("zeroKeyMaterial")) {
        peer.timers.deadlines.zeroKeyMaterial = now + this.#ctx.timings.rejectAfterTime * 3;
      }
      return;
    }
    peer.timers.handshakeAttempts++;
    this.initiate(peer, true);
  }

  /** Common checks for handshake messages: size, mac1, and cookies under load. */
  #admit(msg: Uint8Array, size: number, source: Uint8Array, now: number): boolean {
    if (msg.length !== size || !this.#checker.checkMac1(msg)) {
      this.#ctx.drops.handshake++;
      return false;
    }
    if (!this.#load.record(now)) return true;
    if (!this.#checker.checkMac2(msg, source, now)) {
      const senderIndex = readU32le(msg, 4);
      const reply = this.#checker.createReply(msg, senderIndex, source, now);
      this.#ctx.bind.send([reply], [reply.length], [source], 1, 0);
      this.#ctx.drops.handshake++;
      return false;
    }
    if (!this.#limiter.allow(sourceKey(source), now)) {
      this.#ctx.drops.handshake++;
      return false;
    }
    return true;
  }

  /** Handles an initiation (type 1) from `source`. */
  receiveInitiation(msg: Uint8Array, source: Uint8Array, now: number): void {
    if (!this.#admit(msg, SIZE_INITIATION, source, now)) return;
    const consumed = consumeInitiation(this.#ctx.identity, msg);
    const peer = consumed && this.#ctx.peerByKey(consumed.remoteStatic);
    if (!consumed || !peer) {
      this.#ctx.drops.handshake++;
      return;
    }
    if (
      (peer.lastInitiationTimestamp !== null &&
        compareTai64n(consumed.timestamp, peer.lastInitiationTimestamp) <= 0) ||
      now - peer.lastInitiationConsumed < HANDSHAKE_INITIATION_RATE
    ) {
      this.#ctx.drops.handshake++;
      return;
    }
    peer.lastInitiationTimestamp = consumed.timestamp.slice();
    peer.lastInitiationConsumed = now;
    peer.roam(source);

    const index = this.#ctx.indices.allocate(peer);
    const { message, keys } = createResponse(consumed, index, peer.presharedKey);
    peer.cookies.addMacs(message, now);
    if (peer.next !== null) this.dropKeypair(peer.next);
    peer.next = new Keypair(keys, false, now, index, consumed.remoteIndex);
    peer.lastHandshakeWall = this.#ctx.clock.wallNow();
    peer.timers.sessionDerived(now);
    peer.timers.anyAuthenticatedPacketTraversal(now, peer.persistentKeepaliveMs);
    peer.timers.anyAuthenticatedPacketSent();
    this.#ctx.bind.send([message], [message.length], [peer.endpoint!], 1, 0);
    peer.rxBytes += msg.length;
    peer.txBytes += message.length;
    this.#ctx.log(`peer ${shortKey(peer)}: handshake answered`);
  }

  /** Handles a response (type 2) to one of our initiations. */
  receiveResponse(msg: Uint8Array, source: Uint8Array, now: number): void {
    if (!this.#admit(msg, SIZE_RESPONSE, source, now)) return;
    const receiver = readU32le(msg, 8);
    const peer = this.#ctx.indices.lookup(receiver);
    const state = peer?.handshake;
    if (!peer || !state || state.localIndex !== receiver) {
      this.#ctx.drops.handshake++;
      return;
    }
    const keys = consumeResponse(state, msg, this.#ctx.identity, peer.presharedKey);
    if (keys === null) {
      this.#ctx.drops.handshake++;
      return;
    }
    peer.handshake = null;
    const kp = new Keypair(keys, true, now, receiver, readU32le(msg, 4));
    // The initiator uses the new session at once; what was current (or an
    // unconfirmed next) stays to decrypt packets already in flight.
    const old = peer.next ?? peer.current;
    if (peer.previous !== null && peer.previous !== old) this.dropKeypair(peer.previous);
    if (peer.next !== null && peer.current !== null) this.dropKeypair(peer.current);
    peer.previous = old;
    peer.current = kp;
    peer.next = null;
    peer.roam(source);
    peer.rxBytes += msg.length;
    peer.lastHandshakeWall = this.#ctx.clock.wallNow();
    peer.timers.anyAuthenticatedPacketReceived();
    peer.timers.anyAuthenticatedPacketTraversal(now, peer.persistentKeepaliveMs);
    peer.timers.sessionDerived(now);
    peer.timers.handshakeComplete();
    this.#ctx.log(`peer ${shortKey(peer)}: handshake complete`);
    // Confirm the session to the responder: staged data, or else a keepalive.
    this.#ctx.onInitiatorComplete(peer);
  }

  /** Handles a cookie reply (type 3): the peer is under load and wants mac2. */
  receiveCookieReply(msg: Uint8Array, now: number): void {
    if (msg.length !== SIZE_COOKIE_REPLY) {
      this.#ctx.drops.malformed++;
      return;
    }
    const peer = this.#ctx.indices.lookup(readU32le(msg, 4));
    if (!peer || !peer.cookies.consumeReply(msg, now)) this.#ctx.drops.handshake++;
  }

  /** Retires a session: frees its index and wipes its keys. */
  dropKeypair(kp: Keypair): void {
    this.#ctx.indices.free(kp.localIndex);
    kp.dispose();
  }

  /** Wipes every session and pending handshake of `peer`. */
  zeroKeys(peer: Peer): void {
    for (const kp of [peer.previous, peer.current, peer.next]) {
      if (kp !== null) this.dropKeypair(kp);
    }
    if (peer.handshake !== null) this.#ctx.indices.free(peer.handshake.localIndex);
    peer.previous = peer.current = peer.next = null;
    peer.handshake = null;
    peer.staged = [];
  }
}

/** The first characters of a peer's base64 key, for logs. */
export function shortKey(peer: Peer): string {
  return btoa(String.fromCharCode(...peer.publicKey)).slice(0, 8) + "…";
}

/** Rate-limit key: the source IP without the port. */
function sourceKey(source: Uint8Array): string {
  return toHex(source.length === 28 ? source.subarray(8, 24) : source);
}

function readU32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
