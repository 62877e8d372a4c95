/**
 * magicsock's UDP socket as a data-plane source: one batch of datagrams is
 * split by kind — STUN responses, disco messages, WireGuard packets — and
 * WireGuard packets go on to the device with the sending peer's node key as
 * their endpoint, once a source address is known to belong to a peer.
 *
 * @module
 */
import type { UdpSocket } from "../../ffi/udp.ts";
import { addrKey, MAX_ADDRS_PER_PEER } from "./addr_key.ts";
import { allocPacketBuffers } from "../crypto/wasm/arena.ts";
import { bytesEqual } from "../bytes/equal.ts";
import type { PacketReceiver } from "../wireguard/device.ts";
import { BATCH, type DatagramSource } from "../net/batch.ts";
import { looksLikeDisco } from "../disco/frame.ts";
import { looksLikeStunResponse } from "../stun/sniff.ts";
import { looksLikeWireGuard } from "../wireguard/sniff.ts";

/** A source address: a sockaddr_in6 (IPv4 as v4-mapped), as the socket fills it in. */
const ADDR_BYTES = 28;

/** Source addresses remembered over all peers, oldest forgotten first. */
export const MAX_PEER_ADDRS = 4096;

/** What the socket hands up besides WireGuard packets. */
export interface UdpHandlers {
  /** A STUN binding response arrived from `from`. */
  stun(buf: Uint8Array, from: Uint8Array): void;
  /** A disco message arrived from `from`. */
  disco(buf: Uint8Array, from: Uint8Array): void;
}

/** The UDP half of magicsock. */
export class UdpConn implements DatagramSource {
  readonly #udp: UdpSocket;
  readonly #handlers: UdpHandlers;
  #receiver: PacketReceiver | null = null;
  readonly #bufs: Uint8Array[];
  readonly #sizes: number[];
  readonly #addrs: Uint8Array[];
  readonly #outBufs: Uint8Array[] = [];
  readonly #outSizes: number[] = [];
  readonly #outEps: Uint8Array[] = [];
  /**
   * Source address → peer node key (the device's endpoint for that peer), in the order
   * the addresses were last confirmed: the first entry is the oldest.
   */
  readonly #peers = new Map<number | string, Uint8Array>();
  /** Peer node key → its addresses in #peers, oldest first (keys compare by identity). */
  readonly #byPeer = new Map<Uint8Array, (number | string)[]>();
  /**
   * The source address last found in #peers, and its peer: a batch's datagrams mostly come from
   * one address, and its key (a number above 2^31 for IPv4) would be a new heap number per
   * datagram. Cleared whenever an address leaves #peers (a new one cannot make it stale).
   */
  readonly #lastAddr = new Uint8Array(ADDR_BYTES);
  #lastPeer: Uint8Array | undefined = undefined;
  /** WireGuard packets from addresses no peer is known at. */
  unknownSource = 0;

  /** Wraps a bound socket; `mtu` sizes the receive buffers. */
  constructor(udp: UdpSocket, handlers: UdpHandlers, mtu: number) {
    this.#udp = udp;
    this.#handlers = handlers;
    const size = Math.max(2048, mtu + 256);
    this.#bufs = allocPacketBuffers(BATCH, size);
    this.#sizes = new Array<number>(BATCH).fill(0);
    this.#addrs = Array.from({ length: BATCH }, () => new Uint8Array(ADDR_BYTES));
  }

  /** The socket's descriptor, for the data-plane wait. */
  get fd(): number {
    return this.#udp.fd;
  }

  /** Whether datagrams already read wait for the next {@link drain} (UDP GRO). */
  get pending(): boolean {
    return this.#udp.pending;
  }

  /** The bound port. */
  get port(): number {
    return this.#udp.port;
  }

  /** Where WireGuard packets go. */
  attach(receiver: PacketReceiver): void {
    this.#receiver = receiver;
  }

  /**
   * Records that datagrams from `addr` (28-byte sockaddr) are from the peer with `nodeKey`.
   * A peer behind a rebinding NAT shows up from ever-new ports, so each peer keeps at most
   * {@link MAX_ADDRS_PER_PEER} addresses and all peers together {@link MAX_PEER_ADDRS};
   * beyond either the least recently confirmed address is forgotten.
   */
  setPeerAddr(addr: Uint8Array, nodeKey: Uint8Array): void {
    const k = addrKey(addr);
    this.#unlink(k);
    this.#peers.set(k, nodeKey);
    let list = this.#byPeer.get(nodeKey);
    if (!list) this.#byPeer.set(nodeKey, list = []);
    list.push(k);
    if (list.length > MAX_ADDRS_PER_PEER) this.#unlink(list[0]);
    if (this.#peers.size > MAX_PEER_ADDRS) this.#unlink(this.#peers.keys().next().value!);
  }

  /** Forgets every address of the peer with `nodeKey`. */
  forgetPeer(nodeKey: Uint8Array): void {
    this.#lastPeer = undefined;
    for (const k of this.#byPeer.get(nodeKey) ?? []) this.#peers.delete(k);
    this.#byPeer.delete(nodeKey);
  }

  /** The peer datagrams from `addr` are taken to be from, if any. */
  peerAt(addr: Uint8Array): Uint8Array | undefined {
    return this.#peers.get(addrKey(addr));
  }

  /** How many source addresses are mapped to peers (all of them, or `nodeKey`'s). */
  peerAddrCount(nodeKey?: Uint8Array): number {
    return nodeKey ? (this.#byPeer.get(nodeKey)?.length ?? 0) : this.#peers.size;
  }

  /** Removes address `k` from both maps. */
  #unlink(k: number | string): void {
    const owner = this.#peers.get(k);
    if (owner === undefined) return;
    this.#lastPeer = undefined;
    this.#peers.delete(k);
    const list = this.#byPeer.get(owner)!;
    list.splice(list.indexOf(k), 1);
    if (list.length === 0) this.#byPeer.delete(owner);
  }

  /** Reads one batch and dispatches it; returns how many datagrams were read. */
  drain(): number {
    const bufs = this.#bufs, sizes = this.#sizes, addrs = this.#addrs;
    const m = this.#udp.recvBatch(bufs, sizes, addrs, 0);
    if (m === 0) return 0;
    let out = 0;
    for (let i = 0; i < m; i++) {
      const buf = bufs[i], size = sizes[i];
      if (looksLikeWireGuard(buf)) {
        const key = this.#peerFrom(addrs[i]);
        if (key === undefined) {
          this.unknownSource++;
          continue;
        }
        this.#outBufs[out] = buf;
        this.#outSizes[out] = size;
        this.#outEps[out] = key;
        out++;
      } else if (looksLikeDisco(buf.subarray(0, size))) {
        this.#handlers.disco(buf.slice(0, size), addrs[i].slice());
      } else if (looksLikeStunResponse(buf.subarray(0, size))) {
        this.#handlers.stun(buf.slice(0, size), addrs[i].slice());
      }
    }
    if (out > 0) this.#receiver?.receivePackets(this.#outBufs, this.#outSizes, this.#outEps, out);
    return m;
  }

  /** The peer datagrams from `addr` come from, through the one-entry cache. */
  #peerFrom(addr: Uint8Array): Uint8Array | undefined {
    // `addr` is one of #addrs, ADDR_BYTES long like #lastAddr.
    if (this.#lastPeer !== undefined && bytesEqual(addr, this.#lastAddr)) return this.#lastPeer;
    const key = this.#peers.get(addrKey(addr));
    if (key !== undefined) {
      this.#lastAddr.set(addr);
      this.#lastPeer = key;
    }
    return key;
  }

  /** Sends datagrams; `to[i]` is a 28-byte sockaddr. */
  send(bufs: Uint8Array[], sizes: number[], to: Uint8Array[], count: number, offset: number): void {
    let sent = this.#udp.sendBatch(bufs, sizes, to, count, offset);
    for (let tries = 0; sent < count && tries < 16; tries++) {
      sent += this.#udp.sendBatch(
        bufs.slice(sent),
        sizes.slice(sent),
        to.slice(sent),
        count - sent,
        offset,
      );
    }
  }

  /** Sends one datagram. */
  sendOne(packet: Uint8Array, to: Uint8Array): void {
    this.#udp.sendBatch([packet], [packet.length], [to], 1, 0);
  }

  /** Closes the socket. */
  close(): void {
    this.#udp.close();
  }
}
