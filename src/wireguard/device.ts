/**
 * The WireGuard device: peers, cryptokey routing, handshakes, sessions and
 * timers. It is driven from outside — packets from the TUN and the bind,
 * and `tick()` — and does its I/O only through the `Bind` and `TunSink` it
 * was given, so two devices can talk in memory with a fake clock.
 *
 * @module
 */
import { bytesEqual } from "../bytes/equal.ts";
import { toHex } from "../bytes/hex.ts";
import { publicKeyFrom, sharedSecret } from "../crypto/x25519.ts";
import type { IpPrefix } from "../net/ip.ts";
import { AllowedIps } from "./allowed_ips.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { StaticIdentity } from "./handshake.ts";
import { Handshakes, shortKey } from "./handshakes.ts";
import { IndexTable } from "./index_table.ts";
import type { Keypair } from "./keypair.ts";
import type { LoadMode } from "./load.ts";
import { Peer, type PeerConfig } from "./peer.ts";
import { TimerBatch } from "./timer_batch.ts";
import { DEFAULT_TIMINGS, type Timings } from "./timings.ts";
import {
  destinationOffset,
  ipPacketLength,
  openTransport,
  sealTransport,
  sourceOffset,
  TRANSPORT_HEADER_SIZE,
  TRANSPORT_OVERHEAD,
  transportCounter,
  transportReceiver,
} from "./transport.ts";
import { type DropCounters, zeroDrops } from "./drops.ts";
import { restorePeerSessions, type SavedPeer, savePeerSessions } from "./session_state.ts";

export type { DropCounters, SavedPeer };

/** Sends datagrams: `bufs[i].subarray(offset, offset + sizes[i])` to `endpoints[i]`. */
export interface Bind {
  /** Sends the first `count` packets of the batch. */
  send(
    bufs: Uint8Array[],
    sizes: number[],
    endpoints: Uint8Array[],
    count: number,
    offset: number,
  ): void;
}

/** Delivers decrypted IP packets: `bufs[i].subarray(offset, offset + sizes[i])`. */
export interface TunSink {
  /** Writes the first `count` packets of the batch. */
  write(bufs: Uint8Array[], sizes: number[], offset: number, count: number): void;
}

/** Something that takes datagrams from a bind: a Device, or a fake in tests. */
export interface PacketReceiver {
  /** Handles `bufs[i][0, sizes[i])` from `endpoints[i]`, for the first `count` packets. */
  receivePackets(bufs: Uint8Array[], sizes: number[], endpoints: Uint8Array[], count: number): void;
}

/** Everything a device needs. */
export interface DeviceOptions {
  /** Our static private key. */
  privateKey: Uint8Array;
  /** Where datagrams go. */
  bind: Bind;
  /** Where decrypted packets go. */
  tun: TunSink;
  /** Inner MTU; padding never grows a packet past it. Default 1420. */
  mtu?: number;
  /** Time source; the system clock by default. */
  clock?: Clock;
  /** Protocol timers, shortened in tests. */
  timings?: Partial<Timings>;
  /** When to demand cookies. Default "auto" (on measured load). */
  loadMode?: LoadMode;
  /** Uniform [0,1) randomness for jitter. */
  random?: () => number;
  /** Receives one line per notable event (handshakes, drops by reason are counted, not logged). */
  log?: (line: string) => void;
}

const TYPE_INITIATION = 1;
const TYPE_RESPONSE = 2;
const TYPE_COOKIE_REPLY = 3;
const TYPE_TRANSPORT = 4;
const MIN_TRANSPORT = TRANSPORT_HEADER_SIZE + 16;

/** A WireGuard interface's protocol engine. */
export class Device implements PacketReceiver {
  readonly #identity: StaticIdentity;
  readonly #bind: Bind;
  readonly #tun: TunSink;
  readonly #clock: Clock;
  readonly #timings: Timings;
  readonly #random: () => number;
  readonly #log: (line: string) => void;
  readonly #mtu: number;
  readonly #peers = new Map<string, Peer>();
  readonly #allowed = new AllowedIps<Peer>();
  readonly #indices = new IndexTable<Peer>();
  readonly #hs: Handshakes;
  // Output batches, reused across calls so the hot path does not allocate arrays.
  readonly #outBufs: Uint8Array[] = [];
  readonly #outSizes: number[] = [];
  readonly #outEps: Uint8Array[] = [];
  /** The timer events of the batch being received, run at each settle point. */
  readonly #batch = new TimerBatch();
  /** Drop counters by reason. */
  readonly drops: DropCounters = zeroDrops();

  /** Creates a device with no peers. */
  constructor(options: DeviceOptions) {
    const priv = options.privateKey.slice();
    this.#identity = { privateKey: priv, publicKey: publicKeyFrom(priv) };
    this.#bind = options.bind;
    this.#tun = options.tun;
    this.#clock = options.clock ?? systemClock;
    this.#timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.#random = options.random ?? Math.random;
    this.#log = options.log ?? (() => {});
    this.#mtu = options.mtu ?? 1420;
    this.#hs = new Handshakes({
      identity: this.#identity,
      indices: this.#indices,
      clock: this.#clock,
      timings: this.#timings,
      bind: this.#bind,
      log: this.#log,
      drops: this.drops,
      peerByKey: (key) => this.#peers.get(keyId(key)),
      onInitiatorComplete: (peer) => this.#sendKeepalive(peer),
    }, options.loadMode);
  }

  /** Our static public key. */
  get publicKey(): Uint8Array {
    return this.#identity.publicKey;
  }

  /** The inner MTU. */
  get mtu(): number {
    return this.#mtu;
  }

  /** The protocol timers in force (the whitepaper's, or the shortened ones it was given). */
  get timings(): Readonly<Timings> {
    return this.#timings;
  }

  /** Every configured peer. */
  peers(): Peer[] {
    return [...this.#peers.values()];
  }

  /** The peer with `publicKey`, if configured. */
  peer(publicKey: Uint8Array): Peer | undefined {
    return this.#peers.get(keyId(publicKey));
  }

  /** Allowed IPs routed to `peer`. */
  allowedIpsOf(peer: Peer): IpPrefix[] {
    return this.#allowed.entriesFor(peer);
  }

  /** Adds a peer (or updates one with the same key) and routes `allowedIps` to it. */
  addPeer(config: PeerConfig & { allowedIps?: IpPrefix[] }): Peer {
    const id = keyId(config.publicKey);
    let peer = this.#peers.get(id);
    if (peer === undefined) {
      if (bytesEqual(config.publicKey, this.#identity.publicKey)) {
        throw new RangeError("Cannot add a peer with the device's own public key");
      }
      const ss = sharedSecret(this.#identity.privateKey, config.publicKey);
      peer = new Peer(config, this.#timings, ss, this.#random);
      this.#peers.set(id, peer);
    } else {
      peer.presharedKey = config.presharedKey ?? null;
      peer.persistentKeepaliveMs = (config.persistentKeepalive ?? 0) * 1000;
      if (config.endpoint) peer.endpoint = config.endpoint.slice();
      this.#allowed.removeValue(peer);
    }
    for (const p of config.allowedIps ?? []) this.#allowed.insert(p, peer);
    if (peer.persistentKeepaliveMs > 0 && peer.endpoint !== null) {
      // wg(8): setting a persistent keepalive sends one at once, opening NAT state.
      this.#sendKeepalive(peer);
    }
    return peer;
  }

  /** Removes a peer, its routes and its sessions. */
  removePeer(publicKey: Uint8Array): boolean {
    const id = keyId(publicKey);
    const peer = this.#peers.get(id);
    if (peer === undefined) return false;
    this.#hs.zeroKeys(peer);
    peer.timers.stopAll();
    this.#allowed.removeValue(peer);
    this.#peers.delete(id);
    return true;
  }

  /** Sets where `peer` is reached. */
  setEndpoint(peer: Peer, endpoint: Uint8Array | null): void {
    peer.endpoint = endpoint ? endpoint.slice() : null;
  }

  /**
   * Encrypts and sends packets read from the TUN. Packet i is at
   * `bufs[i][offset, offset + sizes[i])`; `offset` must be at least 16 and each
   * buffer needs `TRANSPORT_OVERHEAD` spare bytes after the packet. The
   * buffers are reused as the outgoing datagrams.
   */
  sendPackets(bufs: Uint8Array[], sizes: number[], offset: number, count: number): void {
    const now = this.#clock.now();
    const outBufs = this.#outBufs, outSizes = this.#outSizes, outEps = this.#outEps;
    let out = 0;
    for (let i = 0; i < count; i++) {
      const buf = bufs[i];
      const len = sizes[i];
      const version = buf[offset] >> 4;
      if (len < 20 || (version !== 4 && version !== 6) || (version === 6 && len < 40)) {
        this.drops.malformed++;
        continue;
      }
      const peer = this.#allowed.lookup(buf, offset + destinationOffset(version), version);
      if (peer === undefined) {
        this.drops.noRoute++;
        continue;
      }
      const kp = peer.current;
      if (kp === null || peer.endpoint === null || !this.#usableForSending(kp, now)) {
        peer.stage(buf.subarray(offset, offset + len));
        this.#hs.initiate(peer, false);
        continue;
      }
      const counter = kp.sendCounter++;
      const size = sealTransport(kp, counter, buf, offset, len, this.#mtu);
      outBufs[out] = buf;
      outSizes[out] = size;
      outEps[out] = peer.endpoint;
      out++;
      peer.txBytes += size;
      this.#afterDataSent(peer, kp, counter, now);
    }
    if (out > 0) this.#bind.send(outBufs, outSizes, outEps, out, offset - TRANSPORT_HEADER_SIZE);
  }

  /**
   * Handles datagrams from the bind: packet i is `bufs[i][0, sizes[i])` from
   * `endpoints[i]`. Decrypted packets are written to the TUN in one batch
   * (in place, at offset 16 of the same buffers).
   */
  receivePackets(bufs: Uint8Array[], sizes: number[], endpoints: Uint8Array[], count: number) {
    const now = this.#clock.now();
    const outBufs = this.#outBufs, outSizes = this.#outSizes;
    let out = 0;
    for (let i = 0; i < count; i++) {
      const buf = bufs[i];
      const size = sizes[i];
      if (size < 4 || buf[1] !== 0 || buf[2] !== 0 || buf[3] !== 0) {
        this.drops.malformed++;
        continue;
      }
      switch (buf[0]) {
        case TYPE_TRANSPORT: {
          const n = this.#receiveTransport(buf, size, endpoints[i], now);
          if (n > 0) {
            outBufs[out] = buf;
            outSizes[out] = n;
            out++;
          }
          break;
        }
        case TYPE_INITIATION:
          this.#batch.settle(now);
          this.#hs.receiveInitiation(buf.subarray(0, size), endpoints[i], now);
          break;
        case TYPE_RESPONSE:
          this.#batch.settle(now);
          this.#hs.receiveResponse(buf.subarray(0, size), endpoints[i], now);
          break;
        case TYPE_COOKIE_REPLY:
          this.#batch.settle(now);
          this.#hs.receiveCookieReply(buf.subarray(0, size), now);
          break;
        default:
          this.drops.malformed++;
      }
    }
    this.#batch.settle(now);
    if (out > 0) this.#tun.write(outBufs, outSizes, TRANSPORT_HEADER_SIZE, out);
  }

  /** Runs every timer that is due. Call at least as often as `nextDeadline()` says. */
  tick(): void {
    const now = this.#clock.now();
    for (const peer of this.#peers.values()) {
      if (peer.timers.nextDeadline() > now) continue;
      for (const kind of peer.timers.expire(now)) {
        switch (kind) {
          case "retransmitHandshake":
            this.#hs.retransmit(peer, now);
            break;
          case "sendKeepalive":
            this.#sendKeepalive(peer);
            if (peer.timers.needAnotherKeepalive) {
              peer.timers.needAnotherKeepalive = false;
              peer.timers.deadlines.sendKeepalive = now + this.#timings.keepaliveTimeout;
            }
            break;
          case "newHandshake":
            this.#log(`peer ${shortKey(peer)}: no reply to data, starting a new handshake`);
            this.#hs.initiate(peer, false);
            break;
          case "zeroKeyMaterial":
            this.#hs.zeroKeys(peer);
            break;
          case "persistentKeepalive":
            if (peer.persistentKeepaliveMs > 0) this.#sendKeepalive(peer);
            break;
        }
      }
    }
  }

  /** The earliest monotonic time at which `tick()` has work, or Infinity. */
  nextDeadline(): number {
    let min = Infinity;
    for (const peer of this.#peers.values()) {
      const d = peer.timers.nextDeadline();
      if (d < min) min = d;
    }
    return min;
  }

  /**
   * Whether the device may be saved ({@linkcode Device.saveSessions}) and rebuilt elsewhere
   * with nothing lost: no handshake under way or owed, no keepalive owed, no packet staged, no
   * persistent keepalive to send — unless `keepalivesElsewhere`: whoever holds the saved
   * sessions sends those (`keepalive_asleep.ts`). Sessions may exist; they move with the save.
   * (An initiation given up on is not carried: its late answer goes unmatched, as after a
   * restart.)
   */
  atRest(keepalivesElsewhere = false): boolean {
    for (const peer of this.#peers.values()) {
      if (peer.staged.length > 0) return false;
      if (peer.persistentKeepaliveMs > 0 && !keepalivesElsewhere) return false;
      const t = peer.timers;
      if (
        t.pending("retransmitHandshake") || t.pending("sendKeepalive") ||
        t.pending("newHandshake")
      ) return false;
    }
    return true;
  }

  /**
   * Every peer's usable sessions and handshake memory (`session_state.ts`), for another device
   * to go on with. Save only a device at rest that sends nothing afterwards: two devices
   * sending on one session would reuse its nonces.
   */
  saveSessions(): SavedPeer[] {
    const now = this.#clock.now();
    const out: SavedPeer[] = [];
    for (const peer of this.#peers.values()) {
      const saved = savePeerSessions(peer, now, this.#timings);
      if (saved !== null) out.push(saved);
    }
    return out;
  }

  /**
   * Takes sessions another device saved `elapsedMs` ago, for the peers configured here that
   * have none yet (configure the peers first).
   */
  restoreSessions(saved: readonly SavedPeer[], elapsedMs: number): void {
    const now = this.#clock.now();
    for (const s of saved) {
      const peer = this.#peers.get(keyId(s.publicKey));
      if (peer) restorePeerSessions(peer, s, elapsedMs, now, this.#timings, this.#indices);
    }
  }

  /** Removes every peer and wipes all keys. */
  close(): void {
    for (const peer of [...this.#peers.values()]) this.removePeer(peer.publicKey);
  }

  // --- sending -------------------------------------------------------------

  #usableForSending(kp: Keypair, now: number): boolean {
    return now - kp.created < this.#timings.rejectAfterTime &&
      kp.sendCounter < this.#timings.rejectAfterMessages;
  }

  #afterDataSent(peer: Peer, kp: Keypair, counter: number, now: number): void {
    peer.timers.anyAuthenticatedPacketTraversal(now, peer.persistentKeepaliveMs);
    peer.timers.anyAuthenticatedPacketSent();
    peer.timers.dataSent(now);
    this.#keepKeyFresh(peer, kp, counter, now);
  }

  /**
   * keepKeyFreshSending: the initiator rekeys on age or volume after any send, a keepalive's
   * too — else a session that carries only keepalives would run on to Reject-After-Time.
   */
  #keepKeyFresh(peer: Peer, kp: Keypair, counter: number, now: number): void {
    if (
      kp.isInitiator &&
      (counter >= this.#timings.rekeyAfterMessages ||
        now - kp.created >= this.#timings.rekeyAfterTime)
    ) {
      this.#hs.initiate(peer, false);
    }
  }

  /** Encrypts and sends one plaintext (staged packet or empty keepalive) outside a batch. */
  #sendOne(peer: Peer, plaintext: Uint8Array, now: number): boolean {
    const kp = peer.current;
    if (kp === null || peer.endpoint === null || !this.#usableForSending(kp, now)) return false;
    const buf = new Uint8Array(TRANSPORT_HEADER_SIZE + plaintext.length + TRANSPORT_OVERHEAD);
    buf.set(plaintext, TRANSPORT_HEADER_SIZE);
    const counter = kp.sendCounter++;
    const size = sealTransport(
      kp,
      counter,
      buf,
      TRANSPORT_HEADER_SIZE,
      plaintext.length,
      this.#mtu,
    );
    this.#bind.send([buf], [size], [peer.endpoint], 1, 0);
    peer.txBytes += size;
    if (plaintext.length > 0) {
      this.#afterDataSent(peer, kp, counter, now);
    } else {
      peer.keepaliveBytes += size;
      peer.timers.anyAuthenticatedPacketTraversal(now, peer.persistentKeepaliveMs);
      peer.timers.anyAuthenticatedPacketSent();
      this.#keepKeyFresh(peer, kp, counter, now);
    }
    return true;
  }

  #sendKeepalive(peer: Peer): void {
    const now = this.#clock.now();
    if (peer.staged.length > 0 && this.#sendStaged(peer, now)) return;
    if (!this.#sendOne(peer, EMPTY, now)) this.#hs.initiate(peer, false);
  }

  /** Sends staged packets; false if there is no usable session (they stay staged). */
  #sendStaged(peer: Peer, now: number): boolean {
    while (peer.staged.length > 0) {
      if (!this.#sendOne(peer, peer.staged[0], now)) {
        this.#hs.initiate(peer, false);
        return false;
      }
      peer.staged.shift();
    }
    return true;
  }

  // --- receiving data ------------------------------------------------------

  /** Opens one transport message in place; returns the inner packet length to deliver (0: none). */
  #receiveTransport(buf: Uint8Array, size: number, source: Uint8Array, now: number): number {
    if (size < MIN_TRANSPORT) {
      this.drops.malformed++;
      return 0;
    }
    const receiver = transportReceiver(buf);
    const peer = this.#indices.lookup(receiver);
    const kp = peer?.keypairFor(receiver);
    if (!peer || !kp || now - kp.created >= this.#timings.rejectAfterTime) {
      this.drops.unauthenticated++;
      return 0;
    }
    const counter = transportCounter(buf);
    if (counter >= this.#timings.rejectAfterMessages) {
      this.drops.replay++;
      return 0;
    }
    const n = openTransport(kp, counter, buf, size);
    if (n < 0) {
      this.drops.unauthenticated++;
      return 0;
    }
    if (!kp.replay.accept(counter)) {
      this.drops.replay++;
      return 0;
    }
    if (kp === peer.next) {
      this.#batch.settle(now);
      this.#confirmNext(peer, kp, now);
    } else if (
      kp === peer.current && kp.isInitiator &&
      now - kp.created >=
        this.#timings.rejectAfterTime - this.#timings.keepaliveTimeout -
          this.#timings.rekeyTimeout &&
      !peer.timers.pending("retransmitHandshake")
    ) {
      // keepKeyFreshReceiving: rekey before the session dies under us.
      this.#batch.settle(now);
      this.#hs.initiate(peer, false);
    }
    peer.roam(source);
    peer.rxBytes += size;
    this.#batch.received(peer, n > 0);
    if (n === 0) {
      peer.keepaliveBytes += size;
      return 0; // keepalive
    }
    const off = TRANSPORT_HEADER_SIZE;
    const len = ipPacketLength(buf, off, n);
    if (len < 0) {
      this.drops.malformed++;
      return 0;
    }
    const version = (buf[off] >> 4) as 4 | 6; // ipPacketLength accepted only these
    if (this.#allowed.lookup(buf, off + sourceOffset(version), version) !== peer) {
      this.drops.sourceNotAllowed++;
      return 0;
    }
    return len;
  }

  /** The initiator used our new session: it becomes current. */
  #confirmNext(peer: Peer, kp: Keypair, now: number): void {
    if (peer.previous !== null) this.#hs.dropKeypair(peer.previous);
    peer.previous = peer.current;
    peer.current = kp;
    peer.next = null;
    peer.timers.handshakeComplete();
    if (peer.staged.length > 0) this.#sendStaged(peer, now);
  }
}

const EMPTY = new Uint8Array(0);

function keyId(key: Uint8Array): string {
  return toHex(key);
}
