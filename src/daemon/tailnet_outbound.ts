/**
 * What a tailnet node does with each packet it reads from its TUN before WireGuard sees it,
 * wherever the data plane runs: a DNS query to quad-100 goes to MagicDNS instead of a peer;
 * the node's own UDP probe to a peer's endpoint that the kernel routed into the TUN (an
 * endpoint inside a subnet this node routes to that peer) is dropped; every other packet is
 * noted by the packet filter, so the replies to flows this node opened are let in.
 *
 * @module
 */
import type { PacketFilter } from "../filter/filter.ts";
import { isQuad100Query } from "../dns/quad100_query.ts";
import { ParsedPacket, parsePacket } from "../net/packet.ts";
import { isOwnUnderlay } from "./underlay_loop.ts";

/** What the hook reads, each when a packet needs it. */
export interface TailnetOutboundParts {
  /** Takes a quad-100 query (a copy, the caller may keep it). */
  dns(query: Uint8Array): void;
  /** Whether the packets come from a kernel TUN (the underlay check applies only there). */
  kernelTun: boolean;
  /** magicsock's UDP port. */
  port(): number;
  /** The node's own addresses (`Node.Addresses`). */
  self(): readonly string[] | null | undefined;
  /** The current inbound filter. */
  filter(): PacketFilter | null;
}

/** The data plane's outbound hook for a tailnet node: true when the packet was consumed. */
export function tailnetOutbound(
  parts: TailnetOutboundParts,
): (buf: Uint8Array, off: number, len: number) => boolean {
  const parsed = new ParsedPacket();
  return (buf, off, len) => {
    const pkt = buf.subarray(off, off + len);
    if (isQuad100Query(parsePacket(pkt, parsed))) {
      parts.dns(pkt.slice());
      return true;
    }
    if (parts.kernelTun && isOwnUnderlay(parsed, parts.port(), parts.self())) return true;
    // Parsed once above: the filter's own noteOutbound() would parse the packet again.
    parts.filter()?.noteOutboundParsed(parsed);
    return false;
  };
}
