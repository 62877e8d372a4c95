/**
 * The IP layer of the userspace stack, between the packets of the tunnel and
 * the transports: validates each incoming packet (lengths, IPv4 header
 * checksum, transport checksum, addressed to one of ours), reassembles
 * fragments (answering a timed-out one with ICMP Time Exceeded), and dispatches — ICMP echo answered, UDP to the bind table, TCP
 * to a handler, any other protocol answered with protocol unreachable — and
 * on the way out fragments what exceeds the MTU. Packets to an address in a
 * routed prefix (a subnet router's or exit node's, see `setRoutes`) go to
 * the routed handlers instead, whatever their port. Every dropped packet is
 * counted by reason; nothing here throws on input.
 *
 * @module
 */

import {
  finishChecksum,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_HEADER_LEN,
  IPV6_HEADER_LEN,
  ParsedPacket,
  parsePacket,
  sumWords,
  transportChecksumOk,
} from "../net/packet.ts";
import {
  buildEchoReply,
  IcmpErrorLimiter,
  type IcmpErrorRate,
  isEchoRequest,
} from "./icmp_echo.ts";
import { fragmentPacket } from "./ip_fragment.ts";
import { IpReassembler, isFragment, type ReassemblyLimits } from "./ip_reassembly.ts";
import { PrefixTrie } from "../net/prefix_trie.ts";
import type { IpPrefix } from "../net/ip.ts";
import type { Clock, PacketOut } from "./types.ts";
import { UdpTable } from "./udp_endpoints.ts";

/**
 * Takes a TCP segment addressed to the stack. `p` is parsed and checksummed
 * (IP and TCP), and valid only during the call: the object is reused.
 */
export type TcpHandler = (p: ParsedPacket) => void;

/**
 * Where packets to a routed address (not one of ours, inside a prefix given
 * to `setRoutes`) go. Each takes a parsed, checksummed packet valid only
 * during the call; a missing one drops its protocol (counted).
 */
export interface RoutedHandlers {
  /** TCP segments. */
  tcp?: (p: ParsedPacket) => void;
  /** UDP datagrams. */
  udp?: (p: ParsedPacket) => void;
  /** ICMP and ICMPv6 echo requests. */
  echo?: (p: ParsedPacket) => void;
}

/** How to build an {@linkcode IpInput}. */
export interface IpInputOptions {
  /** Time, for reassembly timeouts and the ICMP error rate limit. */
  clock: Clock;
  /** Where packets the stack sends go (already fragmented to `mtu`). */
  out: PacketOut;
  /** The stack's own addresses (4 or 16 bytes each); packets to others are dropped. */
  addresses: Uint8Array[];
  /** TCP segments for us; without it they are dropped and counted. */
  tcp?: TcpHandler;
  /** ICMP and ICMPv6 messages other than echo requests (errors for our flows, echo replies). */
  icmp?: (p: ParsedPacket) => void;
  /** Largest packet sent in one piece; default 1280 (the tailnet's TUN MTU). */
  mtu?: number;
  /** Overrides of the reassembly limits. */
  reassembly?: Partial<ReassemblyLimits>;
  /** Overrides of the ICMP error rate limit. */
  icmpErrorRate?: Partial<IcmpErrorRate>;
  /**
   * Whether transport checksums (TCP, UDP, ICMP) of whole packets are
   * verified; default true. False for input that was authenticated end to
   * end before it got here — WireGuard's Poly1305 tag covers every byte the
   * peer's stack wrote, so a packet it let through cannot have been damaged
   * on the way, which is all a checksum detects (Linux's WireGuard marks
   * such packets CHECKSUM_UNNECESSARY for the same reason). The IPv4 header
   * checksum is checked regardless, as Linux does.
   */
  verifyChecksums?: boolean;
}

/** What an {@linkcode IpInput} did with the packets it was given. */
export interface IpInputCounters {
  /** Packets given to {@linkcode IpInput.input}. */
  received: number;
  /** Dropped: not IPv4/IPv6, lengths that do not add up, or a header that does not parse. */
  malformed: number;
  /** Dropped: the IPv4 header checksum is wrong. */
  badHeaderChecksum: number;
  /** Dropped: the UDP, TCP, ICMP or ICMPv6 checksum is wrong. */
  badChecksum: number;
  /** Dropped: addressed to an address that is not ours (multicast and broadcast too). */
  notOurs: number;
  /** Dropped: from a multicast, broadcast or unspecified source. */
  badSource: number;
  /** Fragments handed to reassembly (see {@linkcode IpInput.reassembler} for their fate). */
  fragments: number;
  /** Echo requests answered. */
  echoReplied: number;
  /** Other ICMP messages, handed to the `icmp` option or dropped. */
  icmpOther: number;
  /** UDP datagrams given to the bind table (its counters say what became of them). */
  udp: number;
  /** UDP datagrams to a port nobody is bound to. */
  udpNoPort: number;
  /** TCP segments given to the handler. */
  tcp: number;
  /** TCP segments dropped for want of a handler. */
  tcpNoHandler: number;
  /** Packets of another protocol (answered with protocol unreachable when allowed). */
  unknownProtocol: number;
  /** Packets to a routed address handed to a routed handler. */
  routed: number;
  /** Packets to a routed address dropped: no handler for their protocol. */
  routedDropped: number;
  /** Packets sent, counting each fragment. */
  sent: number;
  /** Packets not sent because they exceed the MTU and may not be fragmented. */
  sendTooBig: number;
}

/**
 * The IP layer: `input()` what arrives, read `udp` for sockets, wire TCP
 * through the `tcp` option.
 *
 * @example
 * ```ts
 * import { IpInput } from "./ip_input.ts";
 * import { FakeClock } from "./types.ts";
 * import { buildIcmpPacket } from "../net/packet.ts";
 * const sent: Uint8Array[] = [];
 * const ip = new IpInput({
 *   clock: new FakeClock(), out: (p) => sent.push(p), addresses: [new Uint8Array([10, 0, 0, 2])],
 * });
 * ip.input(buildIcmpPacket({
 *   src: new Uint8Array([10, 0, 0, 1]), dst: new Uint8Array([10, 0, 0, 2]), type: 8,
 * }));
 * sent[0][20]; // 0: an echo reply
 * ```
 */
export class IpInput {
  /** Counters by outcome. */
  readonly counters: IpInputCounters = {
    received: 0,
    malformed: 0,
    badHeaderChecksum: 0,
    badChecksum: 0,
    notOurs: 0,
    badSource: 0,
    fragments: 0,
    echoReplied: 0,
    icmpOther: 0,
    udp: 0,
    udpNoPort: 0,
    tcp: 0,
    tcpNoHandler: 0,
    unknownProtocol: 0,
    routed: 0,
    routedDropped: 0,
    sent: 0,
    sendTooBig: 0,
  };
  /** The UDP sockets of the stack. */
  readonly udp: UdpTable;
  /** The fragment reassembler (its counters say what became of fragments). */
  readonly reassembler: IpReassembler;
  /** The ICMP error builder and its rate limit. */
  readonly icmpErrors: IcmpErrorLimiter;
  readonly #out: PacketOut;
  readonly #mtu: number;
  readonly #parsed = new ParsedPacket();
  readonly #verify: boolean;
  #addresses: Uint8Array[];
  #tcp: TcpHandler | undefined;
  #icmp: ((p: ParsedPacket) => void) | undefined;
  #ipId = 0;
  #fragId = 0;
  #routes: PrefixTrie<true> | null = null;
  #routed: RoutedHandlers = {};
  /** The packet being validated is to a routed address, not ours. */
  #toRouted = false;

  /** Creates the IP layer; see {@linkcode IpInputOptions}. */
  constructor(opts: IpInputOptions) {
    this.#out = opts.out;
    this.#mtu = opts.mtu ?? 1280;
    this.#addresses = opts.addresses.map((a) => a.slice());
    this.#tcp = opts.tcp;
    this.#icmp = opts.icmp;
    this.#verify = opts.verifyChecksums ?? true;
    this.reassembler = new IpReassembler(opts.clock, opts.reassembly);
    this.reassembler.onTimeout = (first) => {
      const err = this.icmpErrors.timeExceeded(parsePacket(first));
      if (err !== null) this.send(err);
    };
    this.icmpErrors = new IcmpErrorLimiter(opts.clock, opts.icmpErrorRate);
    this.udp = new UdpTable((p) => this.send(p), this.#addresses);
    this.#ipId = Math.floor(Math.random() * 0x10000);
    this.#fragId = Math.floor(Math.random() * 0x1_0000_0000);
  }

  /** Replaces the stack's addresses (the node was renumbered). */
  setAddresses(addresses: Uint8Array[]): void {
    this.#addresses = addresses.map((a) => a.slice());
    this.udp.setSources(this.#addresses);
  }

  /** Sets (or clears) the TCP handler, for wiring TCP in after construction. */
  setTcpHandler(tcp: TcpHandler | undefined): void {
    this.#tcp = tcp;
  }

  /**
   * Sets the prefixes whose addresses the stack takes packets for besides
   * its own (a subnet router's, an exit node's): they go to the routed
   * handlers. An empty list routes nothing.
   */
  setRoutes(prefixes: readonly IpPrefix[]): void {
    if (prefixes.length === 0) {
      this.#routes = null;
      return;
    }
    const t = new PrefixTrie<true>();
    for (const p of prefixes) t.insert(p, true);
    this.#routes = t;
  }

  /** Sets where packets to routed addresses go (`{}`: dropped, counted). */
  setRoutedHandlers(h: RoutedHandlers): void {
    this.#routed = h;
  }

  /** Whether `ip` is a routed address: in a routed prefix and not ours. */
  isRouted(ip: Uint8Array): boolean {
    return !this.isOurs(ip) && this.#routes?.lookupIp(ip) !== undefined;
  }

  /** The stack's addresses now (copies): a transport picks its source address from them. */
  get addresses(): Uint8Array[] {
    return this.#addresses.map((a) => a.slice());
  }

  /** Whether `ip` (4 or 16 bytes) is one of the stack's addresses. */
  isOurs(ip: Uint8Array): boolean {
    return this.#ours(ip, 0, ip.length);
  }

  /** Takes one packet from the network. Never throws (but the handlers it calls may). */
  input(packet: Uint8Array): void {
    this.counters.received++;
    // Held fragments time out as packets go by, not only when more fragments come.
    if (this.reassembler.pendingDatagrams > 0) this.reassembler.expire();
    const b = this.#validate(packet);
    if (b === null) return;
    let whole: Uint8Array | null = b;
    if (isFragment(b)) {
      this.counters.fragments++;
      whole = this.reassembler.push(b);
      if (whole === null) return;
    }
    const routed = this.#toRouted;
    const p = parsePacket(whole, this.#parsed);
    if (p.problem !== null) {
      this.counters.malformed++;
      return;
    }
    // #validate checked the IPv4 header checksum of a packet that came in one piece.
    if (whole !== b && !headerChecksumOk(p)) {
      this.counters.badHeaderChecksum++;
      return;
    }
    if (this.#verify && !transportChecksumOk(p)) {
      this.counters.badChecksum++;
      return;
    }
    if (routed) this.#dispatchRouted(p);
    else this.#dispatch(p);
  }

  /**
   * Sends a packet the stack built, split into fragments if it exceeds the
   * MTU (an IPv4 packet loses DF and gets an ID for that; an IPv6 one gets
   * a Fragment header). Returns false if it could not be sent.
   */
  send(packet: Uint8Array): boolean {
    if (packet.length <= this.#mtu) {
      this.counters.sent++;
      this.#out(packet);
      return true;
    }
    let frags: Uint8Array[];
    try {
      if (packet[0] >> 4 === 4) {
        const b = packet.slice();
        b[6] &= ~0x40;
        this.#ipId = (this.#ipId + 1) & 0xffff;
        b[4] = this.#ipId >> 8;
        b[5] = this.#ipId & 0xff;
        frags = fragmentPacket(b, this.#mtu);
      } else {
        this.#fragId = (this.#fragId + 1) >>> 0;
        frags = fragmentPacket(packet, this.#mtu, this.#fragId);
      }
    } catch {
      this.counters.sendTooBig++;
      return false;
    }
    for (const f of frags) {
      this.counters.sent++;
      this.#out(f);
    }
    return true;
  }

  /** The IP packet in `b` if its lengths, header checksum and addresses pass; null (counted) if not. */
  #validate(b: Uint8Array): Uint8Array | null {
    const v = b.length > 0 ? b[0] >> 4 : 0;
    let total: number, srcOff: number, dstOff: number, len: number;
    if (v === 4) {
      if (b.length < IPV4_HEADER_LEN) return this.#malformed();
      const ihl = (b[0] & 0x0f) << 2;
      total = (b[2] << 8) | b[3];
      if (ihl < IPV4_HEADER_LEN || total < ihl || total > b.length) return this.#malformed();
      if (finishChecksum(sumWords(b, 0, ihl)) !== 0) {
        this.counters.badHeaderChecksum++;
        return null;
      }
      srcOff = 12, dstOff = 16, len = 4;
    } else if (v === 6) {
      if (b.length < IPV6_HEADER_LEN) return this.#malformed();
      total = IPV6_HEADER_LEN + ((b[4] << 8) | b[5]);
      if (total > b.length) return this.#malformed();
      srcOff = 8, dstOff = 24, len = 16;
    } else {
      return this.#malformed();
    }
    this.#toRouted = false;
    if (!this.#ours(b, dstOff, len)) {
      if (this.#routes?.lookupIp(b.subarray(dstOff, dstOff + len)) === undefined) {
        this.counters.notOurs++;
        return null;
      }
      this.#toRouted = true;
    }
    if (!unicastSource(b, srcOff, len)) {
      this.counters.badSource++;
      return null;
    }
    // Bytes past the IP length (link padding) are not part of the packet.
    return total === b.length ? b : b.subarray(0, total);
  }

  #malformed(): null {
    this.counters.malformed++;
    return null;
  }

  #ours(b: Uint8Array, off: number, len: number): boolean {
    const addrs = this.#addresses;
    outer: for (let k = 0; k < addrs.length; k++) {
      const a = addrs[k];
      if (a.length !== len) continue;
      for (let i = 0; i < len; i++) if (a[i] !== b[off + i]) continue outer;
      return true;
    }
    return false;
  }

  #dispatchRouted(p: ParsedPacket): void {
    const h = this.#routed;
    const handler = p.proto === IPPROTO_TCP
      ? h.tcp
      : p.proto === IPPROTO_UDP
      ? h.udp
      : (p.proto === IPPROTO_ICMP || p.proto === IPPROTO_ICMPV6) && isEchoRequest(p)
      ? h.echo
      : undefined;
    if (handler === undefined) {
      this.counters.routedDropped++;
      return;
    }
    this.counters.routed++;
    handler(p);
  }

  #dispatch(p: ParsedPacket): void {
    switch (p.proto) {
      case IPPROTO_ICMP:
      case IPPROTO_ICMPV6:
        if (isEchoRequest(p)) {
          this.counters.echoReplied++;
          this.send(buildEchoReply(p));
          return;
        }
        this.counters.icmpOther++;
        this.#icmp?.(p);
        return;
      case IPPROTO_UDP:
        this.counters.udp++;
        if (!this.udp.deliver(p)) {
          this.counters.udpNoPort++;
          const err = this.icmpErrors.unreachable(p, "port");
          if (err !== null) this.send(err);
        }
        return;
      case IPPROTO_TCP:
        if (this.#tcp === undefined) {
          this.counters.tcpNoHandler++;
          return;
        }
        this.counters.tcp++;
        this.#tcp(p);
        return;
      default: {
        this.counters.unknownProtocol++;
        const err = this.icmpErrors.unreachable(p, "protocol");
        if (err !== null) this.send(err);
      }
    }
  }
}

/** Whether a parsed packet's IPv4 header checksum is right (IPv6 has none). */
function headerChecksumOk(p: ParsedPacket): boolean {
  return p.version !== 4 || finishChecksum(sumWords(p.buf, 0, p.l4Off)) === 0;
}

/** Whether a source address is one a packet may come from: not unspecified, multicast or broadcast. */
function unicastSource(b: Uint8Array, off: number, len: number): boolean {
  if (len === 4) return b[off] !== 0 && b[off] < 224;
  if (b[off] === 0xff) return false;
  for (let i = 0; i < 16; i++) if (b[off + i] !== 0) return true;
  return false;
}
