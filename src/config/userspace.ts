/**
 * The settings of a userspace-networking node's own services, as text
 * (`tun up` flags, config keys) becomes values: inbound forwards
 * (`--forward tcp:80=127.0.0.1:8080`) and the netstack's limits. Parsing
 * only; the CLI and the config loader each report a failure in their terms.
 *
 * @module
 */
import { formatListenAddr, parseListenAddr } from "../proxy/listen_addr.ts";
import type { ProxyAddr } from "../proxy/types.ts";

/** One inbound forward: the node's `proto` port `port` is relayed to `target` on the host. */
export interface ForwardSpec {
  /** Which transport. */
  proto: "tcp" | "udp";
  /** The port on the node's tailnet addresses (IPv4 and IPv6). */
  port: number;
  /** Where the host side dials: an IP literal or a name, and a port. */
  target: ProxyAddr;
}

/** The netstack's limits: every connection and buffer is bounded. */
export interface NetstackLimits {
  /** TCP connections in the stack at most, dialled and accepted together. */
  maxConnections: number;
  /**
   * The most each TCP connection's send and receive buffer may grow to, in bytes (the receive
   * one bounds the window). Buffers start at {@link TCP_BUFFER_START} (or this, if smaller) and
   * auto-tune up to it while the application keeps up.
   */
  tcpBufferBytes: number;
  /**
   * All TCP buffers of the stack together, in bytes (as Linux's tcp_mem): connections start
   * smaller and stop growing when it is spent, so a flood of connections cannot exhaust memory.
   */
  tcpMemoryBytes: number;
}

/** Where a connection's buffers start before auto-tuning grows them. */
export const TCP_BUFFER_START = 256 * 1024;

/** The limits when none is given: the TCP stack's own table size, windows up to 4 MiB. */
export const DEFAULT_NETSTACK_LIMITS: Readonly<NetstackLimits> = {
  maxConnections: 4096,
  tcpBufferBytes: 4 << 20,
  tcpMemoryBytes: 256 << 20,
};

/** Allowed range of {@linkcode NetstackLimits.maxConnections}. */
export const MAX_CONNECTIONS_RANGE = [16, 1 << 20] as const;
/** Allowed range of {@linkcode NetstackLimits.tcpBufferBytes}: 16 KiB to 64 MiB. */
export const TCP_BUFFER_RANGE = [16 * 1024, 64 << 20] as const;
/** Allowed range of {@linkcode NetstackLimits.tcpMemoryBytes}: 1 MiB to 64 GiB. */
export const TCP_MEMORY_RANGE = [1 << 20, 64 * 2 ** 30] as const;

/**
 * Parses `tcp:PORT=HOST:PORT` or `udp:PORT=HOST:PORT`; HOST is an IPv4
 * address, an IPv6 one in brackets, or a name (`localhost` is 127.0.0.1).
 *
 * @example
 * ```ts
 * import { parseForwardSpec } from "./userspace.ts";
 * parseForwardSpec("tcp:80=127.0.0.1:8080");
 * // { proto: "tcp", port: 80, target: { hostname: "127.0.0.1", port: 8080 } }
 * ```
 * @throws {SyntaxError} saying what is wrong (without naming the flag: callers add it)
 */
export function parseForwardSpec(text: string): ForwardSpec {
  const m = /^(tcp|udp):([0-9]{1,5})=(.*)$/s.exec(text);
  if (m === null) {
    throw new SyntaxError(
      `${JSON.stringify(text)} is not PROTO:PORT=HOST:PORT (e.g. tcp:80=127.0.0.1:8080; ` +
        `PROTO is tcp or udp)`,
    );
  }
  const port = Number(m[2]);
  if (port < 1 || port > 65535) {
    throw new SyntaxError(`${JSON.stringify(text)}: port ${m[2]} is not 1-65535`);
  }
  let target: ProxyAddr;
  try {
    target = parseListenAddr(m[3], "target");
  } catch (e) {
    throw new SyntaxError(`${JSON.stringify(text)}: ${e instanceof Error ? e.message : e}`);
  }
  if (m[3].startsWith(":")) {
    throw new SyntaxError(`${JSON.stringify(text)}: the target needs a host, as in 127.0.0.1:8080`);
  }
  if (target.port === 0) {
    throw new SyntaxError(`${JSON.stringify(text)}: the target port must not be 0`);
  }
  return { proto: m[1] as "tcp" | "udp", port, target };
}

/**
 * Parses every forward, refusing two for the same protocol and port.
 *
 * @throws {SyntaxError} for the first bad or repeated one
 */
export function parseForwards(texts: readonly string[]): ForwardSpec[] {
  const out: ForwardSpec[] = [];
  for (const t of texts) {
    const f = parseForwardSpec(t);
    if (out.some((o) => o.proto === f.proto && o.port === f.port)) {
      throw new SyntaxError(`${JSON.stringify(t)}: ${f.proto} port ${f.port} is forwarded twice`);
    }
    out.push(f);
  }
  return out;
}

/** `tcp:80=127.0.0.1:8080` again, for logs and status. */
export function formatForward(f: ForwardSpec): string {
  return `${f.proto}:${f.port}=${formatListenAddr(f.target)}`;
}

/**
 * A byte count: a whole number with an optional K, M or G suffix (powers of
 * 1024, an optional "i"/"iB"/"B" after it), as in `256K` or `1MiB`.
 *
 * @example
 * ```ts
 * import { parseByteSize } from "./userspace.ts";
 * parseByteSize("256K"); // 262144
 * ```
 * @throws {SyntaxError} if it is not such a number
 */
export function parseByteSize(text: string): number {
  const m = /^([0-9]{1,12})\s*(?:([KMG])(?:i?B)?|B)?$/i.exec(text.trim());
  if (m === null) {
    throw new SyntaxError(`${JSON.stringify(text)} is not a size such as 262144, 256K or 1M`);
  }
  const shift = { K: 10, M: 20, G: 30 }[(m[2] ?? "").toUpperCase()] ?? 0;
  return Number(m[1]) * 2 ** shift;
}

/** Why `n` is outside `[min, max]`, or null when it is inside. */
export function outOfRange(n: number, [min, max]: readonly [number, number]): string | null {
  return Number.isInteger(n) && n >= min && n <= max ? null : `${n} is outside ${min}-${max}`;
}
