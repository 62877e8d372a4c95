/**
 * Forwarding DNS queries the quad-100 responder does not answer itself to
 * upstream resolvers over UDP (first answer wins, resolvers tried in order).
 *
 * Bounded against load and hostile answers: at most {@link MAX_DNS_IN_FLIGHT} queries
 * at once, a small fixed pool of sockets shared by all of them, and an answer is taken
 * only from the upstream asked, with the ID we sent and the question we asked.
 *
 * @module
 */
import type { Socket } from "node:dgram";
import type { DnsForwarder } from "../dns/quad100.ts";
import { HEADER_LEN } from "../dns/constants.ts";
import { readName } from "../dns/name.ts";

// node:dgram loads with the first query forwarded upstream: a node whose MagicDNS answers only
// tailnet names (or that forwards none) does not carry the module.
let dgramModule: Promise<typeof import("node:dgram")> | null = null;
const loadDgram = () => dgramModule ??= import("node:dgram");

/** Per-upstream timeout before the next resolver is tried. */
const UPSTREAM_TIMEOUT_MS = 2000;

/** Queries in flight at once (tailscaled: net/dns maxActiveQueries, 256); more are dropped. */
export const MAX_DNS_IN_FLIGHT = 256;

/**
 * Sockets per address family. Several, picked at random per query, so an off-path
 * spoofer has to guess the source port as well as the 16-bit ID and the question.
 */
export const DNS_SOCKETS_PER_FAMILY = 4;

/** "1.1.1.1", "1.1.1.1:5353", "[2606::1]:53" → host/port; null for DoH and other forms. */
export function udpUpstream(addr: string): { host: string; port: number } | null {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(addr);
  if (v6) return { host: v6[1], port: Number(v6[2] ?? 53) };
  const v4 = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(addr);
  if (v4) return { host: v4[1], port: Number(v4[2] ?? 53) };
  if (/^[0-9a-f:]+$/i.test(addr) && addr.includes(":")) return { host: addr, port: 53 };
  return null;
}

/** The first question of a DNS message, name lowercased; null if it has none or is broken. */
export function firstQuestion(
  msg: Uint8Array,
): { name: string; type: number; class: number } | null {
  if (msg.length < HEADER_LEN || ((msg[4] << 8) | msg[5]) === 0) return null;
  try {
    const { name, next } = readName(msg, HEADER_LEN);
    if (next + 4 > msg.length) return null;
    return {
      // Upstreams may change the case of the name (0x20 mixing, canonicalisation).
      name: name.toLowerCase(),
      type: (msg[next] << 8) | msg[next + 1],
      class: (msg[next + 2] << 8) | msg[next + 3],
    };
  } catch {
    return null;
  }
}

/** Options of {@link UdpDnsForwarder}. */
export interface UdpDnsForwarderOptions {
  /** Per-upstream timeout; default 2000 ms. */
  timeoutMs?: number;
  /** Queries in flight at once; default {@link MAX_DNS_IN_FLIGHT}. */
  maxInFlight?: number;
}

interface Pending {
  host: string;
  port: number;
  question: { name: string; type: number; class: number };
  finish: (answer: Uint8Array | null) => void;
}

interface PooledSocket {
  sock: Socket;
  /** Upstream-facing ID → the query waiting for it. */
  pending: Map<number, Pending>;
}

/** A forwarder that asks each usable upstream over UDP in turn, through a socket pool. */
export class UdpDnsForwarder {
  readonly #timeoutMs: number;
  readonly #max: number;
  readonly #pools: Record<"udp4" | "udp6", PooledSocket[]> = { udp4: [], udp6: [] };
  #inFlight = 0;
  #closed = false;
  /** Queries refused because {@link MAX_DNS_IN_FLIGHT} were already in flight. */
  refused = 0;

  /** Creates the forwarder; sockets are opened on first use. */
  constructor(opts: UdpDnsForwarderOptions = {}) {
    this.#timeoutMs = opts.timeoutMs ?? UPSTREAM_TIMEOUT_MS;
    this.#max = opts.maxInFlight ?? MAX_DNS_IN_FLIGHT;
  }

  /** Queries being forwarded now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Whether a new query would be refused. */
  get full(): boolean {
    return this.#inFlight >= this.#max;
  }

  /** Open sockets (never more than {@link DNS_SOCKETS_PER_FAMILY} per family). */
  get socketCount(): number {
    return this.#pools.udp4.length + this.#pools.udp6.length;
  }

  /**
   * Forwards `query` (wire bytes) to the usable upstreams in order; the first matching
   * answer wins, with the query's own ID. Null when none answered in time, the query has
   * no question, or the forwarder is full (then nothing is sent).
   */
  readonly forward: DnsForwarder = async (query, upstreams) => {
    if (this.#closed || this.full) {
      this.refused++;
      return null;
    }
    const question = firstQuestion(query);
    if (!question) return null;
    this.#inFlight++;
    try {
      for (const r of upstreams) {
        const up = r.Addr ? udpUpstream(r.Addr) : null;
        if (!up) continue; // DoH and PeerAPI resolvers are not spoken yet
        const answer = await this.#ask(query, question, up.host, up.port);
        if (answer) return answer;
        if (this.#closed) break;
      }
      return null;
    } finally {
      this.#inFlight--;
    }
  };

  /** Closes every socket; queries in flight resolve to null. */
  close(): void {
    this.#closed = true;
    for (const family of ["udp4", "udp6"] as const) {
      for (const p of this.#pools[family].splice(0)) this.#retire(p);
    }
  }

  async #ask(
    query: Uint8Array,
    question: Pending["question"],
    host: string,
    port: number,
  ): Promise<Uint8Array | null> {
    if (this.#closed) return null; // no new socket after close()
    const { createSocket } = await loadDgram();
    if (this.#closed) return null;
    const family = host.includes(":") ? "udp6" : "udp4";
    const pooled = this.#socket(family, createSocket);
    let id = 0;
    do id = crypto.getRandomValues(new Uint16Array(1))[0]; while (pooled.pending.has(id));
    const out = query.slice();
    out[0] = id >> 8;
    out[1] = id & 0xff;
    return await new Promise((resolve) => {
      const timer = setTimeout(() => finish(null), this.#timeoutMs);
      const finish = (answer: Uint8Array | null) => {
        clearTimeout(timer);
        pooled.pending.delete(id);
        if (answer) {
          answer[0] = query[0];
          answer[1] = query[1];
        }
        resolve(answer);
      };
      pooled.pending.set(id, { host: canonicalIp(host), port, question, finish });
      pooled.sock.send(out, port, host, (err) => {
        if (err) finish(null);
      });
    });
  }

  #socket(
    family: "udp4" | "udp6",
    createSocket: typeof import("node:dgram").createSocket,
  ): PooledSocket {
    const pool = this.#pools[family];
    if (pool.length < DNS_SOCKETS_PER_FAMILY) {
      const sock = createSocket(family);
      const p: PooledSocket = { sock, pending: new Map() };
      sock.on("message", (msg: Uint8Array, from: { address: string; port: number }) => {
        this.#onAnswer(p, msg, from);
      });
      sock.on("error", () => {
        // A broken socket leaves the pool; its queries fail now, not at their timeout.
        const i = pool.indexOf(p);
        if (i >= 0) pool.splice(i, 1);
        this.#retire(p);
      });
      sock.unref();
      pool.push(p);
      return p;
    }
    return pool[Math.floor(Math.random() * pool.length)];
  }

  #onAnswer(p: PooledSocket, msg: Uint8Array, from: { address: string; port: number }): void {
    if (msg.length < HEADER_LEN || (msg[2] & 0x80) === 0) return;
    const wait = p.pending.get((msg[0] << 8) | msg[1]);
    if (!wait || wait.port !== from.port || wait.host !== canonicalIp(from.address)) return;
    const q = firstQuestion(msg);
    if (
      !q || q.name !== wait.question.name || q.type !== wait.question.type ||
      q.class !== wait.question.class
    ) {
      return; // right ID, wrong question: spoofed or stale, keep waiting for the real one
    }
    wait.finish(new Uint8Array(msg));
  }

  #retire(p: PooledSocket): void {
    for (const w of [...p.pending.values()]) w.finish(null);
    try {
      p.sock.close();
    } catch {
      // Already closed.
    }
  }
}

/** One text form per address, so "fd00::0001" and "fd00::1" compare equal. */
function canonicalIp(host: string): string {
  try {
    return new URL(`http://${host.includes(":") ? `[${host}]` : host}/`).hostname
      .replace(/^\[|\]$/g, "");
  } catch {
    return host;
  }
}
