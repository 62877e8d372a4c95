/**
 * The in-process DNS server at 100.100.100.100:53 and [fd7a:115c:a1e0::53]:53:
 * takes a whole IP packet from the tunnel, answers tailnet names from the
 * MagicDNS table and hands everything else to an injected forwarder, and
 * returns the whole IP reply packet.
 *
 * @module
 */

import { buildUdpPacket, ParsedPacket, parsePacket } from "../net/packet.ts";
import type { DNSResolver } from "../netmap/tailcfg.ts";
import {
  CLASS_IN,
  DNS_PORT,
  HEADER_LEN,
  MAX_UDP_PLAIN,
  MAX_UDP_RESPONSE,
  NEGATIVE_TTL,
  OPCODE_QUERY,
  RCODE_FORMERR,
  RCODE_NOTIMP,
  RCODE_NXDOMAIN,
  RCODE_SERVFAIL,
  TYPE_ANY,
  TYPE_SOA,
} from "./constants.ts";
import {
  buildDnsMessage,
  type DnsMessage,
  type DnsRecord,
  getEdns,
  parseDnsMessage,
} from "./message.ts";
import { DnsParseError } from "./parse_error.ts";
import type { MagicDnsTable } from "./magicdns.ts";
import { isQuad100Query } from "./quad100_query.ts";

export { isQuad100Query };

/**
 * Sends a DNS query (wire bytes) to the given upstream resolvers and
 * resolves to the raw response, or null if none answered. The daemon
 * supplies this (UDP, DoH …); quad-100 only chooses the upstreams.
 */
export type DnsForwarder = (
  query: Uint8Array,
  upstreams: readonly DNSResolver[],
) => Promise<Uint8Array | null>;

/** Configuration of a {@linkcode Quad100Responder}. */
export interface Quad100Options {
  /** The current MagicDNS table; replace it with {@linkcode Quad100Responder.setTable}. */
  table: MagicDnsTable;
  /** Where names that are not ours go; absent = SERVFAIL for them. */
  forward?: DnsForwarder;
  /** Resolvers to use when the netmap names none (e.g. the OS's, saved before --accept-dns). */
  systemResolvers?: readonly DNSResolver[];
  /** Give up on an upstream after this long and answer SERVFAIL; default 5000 ms. */
  forwardTimeoutMs?: number;
}

/** Counters of what quad-100 did, for status output. */
export interface Quad100Counters {
  /** Queries answered from the MagicDNS table (including NXDOMAIN/NODATA). */
  local: number;
  /** Queries handed to the forwarder and answered by it. */
  forwarded: number;
  /** SERVFAIL because no upstream exists, it failed, timed out or answered garbage. */
  servfail: number;
  /** FORMERR/NOTIMP replies to queries we could not or would not handle. */
  rejected: number;
  /** Packets dropped without a reply (not a DNS query, malformed IP/UDP). */
  dropped: number;
}

/**
 * The quad-100 DNS responder.
 *
 * @example
 * ```ts
 * import { Quad100Responder } from "./quad100.ts";
 * import { MagicDnsTable } from "./magicdns.ts";
 * const dns = new Quad100Responder({ table: MagicDnsTable.fromNetmap(null, [], null) });
 * await dns.handlePacket(new Uint8Array(0)); // null: not a DNS packet
 * ```
 */
export class Quad100Responder {
  #table: MagicDnsTable;
  #forward: DnsForwarder | undefined;
  #system: readonly DNSResolver[];
  #timeoutMs: number;
  #parsed = new ParsedPacket();
  /** What has been done so far. */
  readonly counters: Quad100Counters = {
    local: 0,
    forwarded: 0,
    servfail: 0,
    rejected: 0,
    dropped: 0,
  };

  /**
   * Takes the initial table and how to forward names it does not own; forwarding times out
   * after 5 s unless `forwardTimeoutMs` says otherwise.
   *
   * @param opts the table, the forwarder and fallbacks
   */
  constructor(opts: Quad100Options) {
    this.#table = opts.table;
    this.#forward = opts.forward;
    this.#system = opts.systemResolvers ?? [];
    this.#timeoutMs = opts.forwardTimeoutMs ?? 5000;
  }

  /** Swaps in a new table (after a netmap update); queries in flight keep the old one. */
  setTable(table: MagicDnsTable): void {
    this.#table = table;
  }

  /**
   * Handles one IP packet. Returns the reply IP packet (UDP from quad-100
   * back to the sender, checksums filled in) or null when the packet is not
   * a DNS query to quad-100 or is too broken to answer. Does not reject on
   * bad input (see {@linkcode Quad100Responder.handleQuery}).
   */
  async handlePacket(ipPacket: Uint8Array): Promise<Uint8Array | null> {
    const p = parsePacket(ipPacket, this.#parsed);
    if (!isQuad100Query(p)) {
      this.counters.dropped++;
      return null;
    }
    const src = p.srcIp();
    const dst = p.dstIp();
    const srcPort = p.srcPort;
    const query = p.payload().slice();
    const reply = await this.handleQuery(query);
    if (reply === null) return null;
    return buildUdpPacket({
      src: dst,
      dst: src,
      srcPort: DNS_PORT,
      dstPort: srcPort,
      payload: reply,
    });
  }

  /**
   * Answers one DNS query given as wire bytes (the UDP payload). Null when
   * the bytes are not a query at all (too short for a header, or a response).
   * Does not reject on bad input: a malformed query gets FORMERR, and an
   * upstream failure or unusable upstream answer SERVFAIL (the data plane
   * calls this without a catch).
   */
  async handleQuery(query: Uint8Array): Promise<Uint8Array | null> {
    if (query.length < HEADER_LEN || (query[2] & 0x80) !== 0) {
      this.counters.dropped++;
      return null;
    }
    let msg: DnsMessage;
    try {
      msg = parseDnsMessage(query);
    } catch (e) {
      if (!(e instanceof DnsParseError)) throw e;
      this.counters.rejected++;
      return errorReply(query, RCODE_FORMERR);
    }
    const edns = getEdns(msg);
    const limit = Math.min(MAX_UDP_RESPONSE, Math.max(MAX_UDP_PLAIN, edns?.udpSize ?? 0));
    if (msg.opcode !== OPCODE_QUERY) {
      this.counters.rejected++;
      return errorReply(query, RCODE_NOTIMP);
    }
    if (msg.questions.length !== 1) {
      this.counters.rejected++;
      return errorReply(query, RCODE_FORMERR);
    }
    const q = msg.questions[0];
    const table = this.#table;
    if (q.class === CLASS_IN || q.class === TYPE_ANY) {
      const ans = table.lookup(q.name, q.type);
      if (ans.kind !== "not-ours") {
        this.counters.local++;
        const reply = replyTo(msg);
        if (ans.kind === "nxdomain") {
          reply.rcode = RCODE_NXDOMAIN;
          if (ans.zone) reply.authorities.push(soa(ans.zone));
        } else {
          reply.rcode = ans.rcode;
          reply.answers = ans.records;
          if (ans.records.length === 0 && ans.zone && ans.rcode === 0) {
            reply.authorities.push(soa(ans.zone));
          }
        }
        return buildDnsMessage(reply, { maxSize: limit });
      }
    }
    const upstreams = table.upstreamsFor(q.name, this.#system);
    if (!this.#forward || upstreams.length === 0) {
      this.counters.servfail++;
      return servfail(msg, limit);
    }
    const raw = await this.#forwardWithTimeout(query, upstreams);
    let resp: DnsMessage | null = null;
    if (raw !== null) {
      try {
        resp = parseDnsMessage(raw);
      } catch {
        resp = null;
      }
    }
    if (resp === null || resp.id !== msg.id || !resp.response) {
      this.counters.servfail++;
      return servfail(msg, limit);
    }
    let reply = raw!;
    if (reply.length > limit) {
      try {
        reply = buildDnsMessage(resp, { maxSize: limit });
      } catch {
        // Too big even cut down to its question section: as garbage, not a reason to throw.
        this.counters.servfail++;
        return servfail(msg, limit);
      }
    }
    this.counters.forwarded++;
    return reply;
  }

  async #forwardWithTimeout(
    query: Uint8Array,
    upstreams: DNSResolver[],
  ): Promise<Uint8Array | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.#timeoutMs);
    });
    try {
      return await Promise.race([this.#forward!(query, upstreams).catch(() => null), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function replyTo(q: DnsMessage): DnsMessage {
  return {
    id: q.id,
    response: true,
    opcode: q.opcode,
    authoritative: true,
    truncated: false,
    recursionDesired: q.recursionDesired,
    recursionAvailable: q.recursionDesired,
    authenticData: false,
    checkingDisabled: q.checkingDisabled,
    rcode: 0,
    questions: q.questions.slice(0, 1),
    answers: [],
    authorities: [],
    additionals: [],
  };
}

function servfail(q: DnsMessage, limit: number): Uint8Array {
  const r = replyTo(q);
  r.authoritative = false;
  r.rcode = RCODE_SERVFAIL;
  return buildDnsMessage(r, { maxSize: limit });
}

/** A reply built from the raw header alone, for queries whose body does not parse. */
function errorReply(query: Uint8Array, rcode: number): Uint8Array {
  const out = new Uint8Array(HEADER_LEN);
  out[0] = query[0];
  out[1] = query[1];
  out[2] = 0x80 | (query[2] & 0x79); // QR, keep opcode and RD
  out[3] = ((query[2] & 0x01) << 7) | rcode;
  return out;
}

/**
 * The SOA that bounds negative caching (RFC 2308) for names in `zone`.
 * Only its TTLs matter; the names are placeholders, as in tailscaled.
 */
function soa(zone: string): DnsRecord {
  const enc = (name: string): number[] => {
    if (name === ".") return [0];
    const out: number[] = [];
    for (const label of name.slice(0, -1).split(".")) {
      out.push(label.length, ...new TextEncoder().encode(label));
    }
    out.push(0);
    return out;
  };
  const n = enc(zone);
  const data = new Uint8Array(n.length * 2 + 20);
  data.set(n, 0);
  data.set(n, n.length);
  const v = new DataView(data.buffer);
  const at = n.length * 2;
  v.setUint32(at, 1); // serial: nothing consumes it
  for (let i = 1; i < 5; i++) v.setUint32(at + 4 * i, NEGATIVE_TTL);
  return { name: zone, type: TYPE_SOA, class: CLASS_IN, ttl: NEGATIVE_TTL, data };
}
