/**
 * What a node's thread reads while its data-plane Worker sleeps (`ts_plane_host.ts`,
 * `wg_plane_host.ts`): the TUN and the socket, through a few buffers, keeping what needs the
 * plane (to wake it) and passing on what the node handles itself.
 *
 * @module
 */
import type { UdpSocket } from "../../ffi/udp.ts";
import { looksLikeDisco } from "../disco/frame.ts";
import { isQuad100Query } from "../dns/quad100_query.ts";
import { addrKey } from "../magicsock/addr_key.ts";
import type { PacketDevice } from "../net/packet_device.ts";
import { ParsedPacket, parsePacket } from "../net/packet_parse.ts";
import { looksLikeStunResponse } from "../stun/sniff.ts";
import type { DropCounters } from "../wireguard/drops.ts";
import { looksLikeWireGuard } from "../wireguard/sniff.ts";
import { type SleepingDevice, wakeVerdict } from "../wireguard/wake.ts";

/** Reads per call at most, so a flood cannot hold the thread. */
const ROUNDS = 16;

/**
 * The sleeping node's reads: a few buffers, only what an idle node's traffic needs.
 *
 * @example
 * ```ts ignore
 * const io = new SleepIo(1280);
 * io.readWireGuard(udp, asleep, (pkt, from) => held.push({ pkt, from }), (why) => drops[why]++);
 * io.readTun(tun, (pkt) => held.push(pkt));
 * ```
 */
export class SleepIo {
  readonly #bufs: Uint8Array[];
  readonly #sizes: number[];
  readonly #addrs: Uint8Array[];
  readonly #parsed = new ParsedPacket();

  /** Buffers for packets of up to `mtu` bytes. */
  constructor(mtu: number) {
    this.#bufs = Array.from({ length: 8 }, () => new Uint8Array(Math.max(2048, mtu + 128)));
    this.#sizes = new Array<number>(8).fill(0);
    this.#addrs = Array.from({ length: 8 }, () => new Uint8Array(28));
  }

  /**
   * A tailnet node's socket: WireGuard from a known peer address is held with that peer's key;
   * disco and STUN go to magicsock.
   */
  readUdp(
    sock: UdpSocket,
    hold: (key: Uint8Array, pkt: Uint8Array) => void,
    byAddr: ReadonlyMap<number | string, Uint8Array>,
    to: {
      disco(pkt: Uint8Array, from: Uint8Array): void;
      stun(pkt: Uint8Array, from: Uint8Array): void;
    },
  ): void {
    this.#eachDatagram(sock, (pkt, from) => {
      if (looksLikeWireGuard(pkt)) {
        const key = byAddr.get(addrKey(from));
        if (key) hold(key, pkt.slice());
      } else if (looksLikeDisco(pkt)) to.disco(pkt.slice(), from.slice());
      else if (looksLikeStunResponse(pkt)) to.stun(pkt.slice(), from.slice());
    });
  }

  /**
   * A plain WireGuard node's socket: a WireGuard datagram the sleeping device must wake for
   * (`wake.ts`: an initiation with a right mac1, a transport message to a kept session) is held
   * with its sender; any other goes to `drop` with the reason the device would count; what is
   * not WireGuard is not for this node.
   */
  readWireGuard(
    sock: UdpSocket,
    dev: SleepingDevice,
    hold: (pkt: Uint8Array, from: Uint8Array) => void,
    drop: (reason: keyof DropCounters) => void,
  ): void {
    this.#eachDatagram(sock, (pkt, from) => {
      if (!looksLikeWireGuard(pkt)) return;
      const verdict = wakeVerdict(pkt, dev);
      if (verdict === "wake") hold(pkt.slice(), from.slice());
      else drop(verdict);
    });
  }

  /**
   * Packets for the tunnel are held; multicast (router and listener chatter) and unparseable
   * packets are dropped. With `dns`, quad-100 queries go there (a tailnet's MagicDNS).
   */
  readTun(tun: PacketDevice, hold: (pkt: Uint8Array) => void, dns?: (q: Uint8Array) => void) {
    const bufs = this.#bufs, sizes = this.#sizes;
    for (let rounds = 0; rounds < ROUNDS; rounds++) {
      const n = tun.readBatch(bufs, sizes, 0);
      for (let i = 0; i < n; i++) {
        const pkt = bufs[i].subarray(0, sizes[i]);
        const p = parsePacket(pkt, this.#parsed);
        if (dns && isQuad100Query(p)) dns(pkt.slice());
        else if (p.problem === null && !isMulticast(p)) hold(pkt.slice());
      }
      if (n === 0 && !tun.pending) return;
    }
  }

  /** Hands each waiting datagram to `f`, as views valid during the call. */
  #eachDatagram(sock: UdpSocket, f: (pkt: Uint8Array, from: Uint8Array) => void): void {
    const bufs = this.#bufs, sizes = this.#sizes, addrs = this.#addrs;
    for (let rounds = 0; rounds < ROUNDS; rounds++) {
      const m = sock.recvBatch(bufs, sizes, addrs, 0);
      for (let i = 0; i < m; i++) f(bufs[i].subarray(0, sizes[i]), addrs[i]);
      if (m === 0 && !sock.pending) return;
    }
  }
}

function isMulticast(p: ParsedPacket): boolean {
  const b = p.buf[p.dstOff];
  return p.version === 4 ? b >= 224 : b === 0xff;
}
