/**
 * The `tun up` flags of the services on a userspace node's stack —
 * `--socks5-server`, `--outbound-http-proxy-listen` (or Tailscale's container
 * image's `TS_SOCKS5_SERVER`, `TS_OUTBOUND_HTTP_PROXY_LISTEN`; a flag wins),
 * `--forward`, `--netstack-max-connections`, `--netstack-tcp-buffer` —
 * checked before the node starts, so a bad one is a usage error (exit 2),
 * not a node that comes up and then fails.
 *
 * @module
 */
import {
  MAX_CONNECTIONS_RANGE,
  type NetstackLimits,
  outOfRange,
  parseByteSize,
  parseForwards,
  TCP_BUFFER_RANGE,
  TCP_MEMORY_RANGE,
} from "../config/userspace.ts";
import { parseListenAddr } from "../proxy/listen_addr.ts";
import type { ProxyListenFlags } from "../daemon/userspace_proxies.ts";
import type { UserspaceServicesConfig } from "../daemon/userspace_services.ts";
import { UsageError } from "./usage.ts";

/** The userspace service flags as `tun up` takes them. */
export interface ProxyFlags extends ProxyListenFlags {
  /** `--forward PROTO:PORT=HOST:PORT`, repeatable. */
  forward?: string[];
  /** `--netstack-max-connections N`. */
  "netstack-max-connections"?: string;
  /** `--netstack-tcp-buffer BYTES` (256K, 1M, ...). */
  "netstack-tcp-buffer"?: string;
  /** `--netstack-tcp-memory BYTES` (all TCP buffers together). */
  "netstack-tcp-memory"?: string;
}

/** The environment variables Tailscale's container image reads for the proxy flags. */
export const PROXY_ENV = {
  "socks5-server": "TS_SOCKS5_SERVER",
  "outbound-http-proxy-listen": "TS_OUTBOUND_HTTP_PROXY_LISTEN",
} as const;

const USERSPACE_ONLY = [
  "forward",
  "netstack-max-connections",
  "netstack-tcp-buffer",
  "netstack-tcp-memory",
] as const;

/**
 * Checks the service flags before the node starts and resolves them. They
 * need userspace networking here: with a TUN the kernel already routes the
 * tailnet, so any proxy on the host reaches it and any local service is
 * reachable as it is (tailscaled starts its proxies in TUN mode too; warren
 * refuses so a flag that would do nothing of its own is not silently taken).
 *
 * Returns null with a TUN (nothing to run), else what to run on the stack.
 *
 * @throws {UsageError} naming the flag (or variable) when it does not parse or the mode is wrong
 */
export function checkUserspaceFlags(
  flags: ProxyFlags,
  userspace: boolean,
  env: (name: string) => string | undefined = () => undefined,
): UserspaceServicesConfig | null {
  const proxies: ProxyListenFlags = {};
  for (const f of ["socks5-server", "outbound-http-proxy-listen"] as const) {
    const fromEnv = flags[f] === undefined ? env(PROXY_ENV[f]) || undefined : undefined;
    const text = flags[f] ?? fromEnv;
    if (text === undefined) continue;
    const name = fromEnv === undefined ? `--${f}` : `${PROXY_ENV[f]} (--${f})`;
    if (!userspace) {
      throw new UsageError(`${name} needs --tun userspace-networking (with a TUN, dial directly)`);
    }
    try {
      parseListenAddr(text, name);
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e));
    }
    proxies[f] = text;
  }
  for (const f of USERSPACE_ONLY) {
    if (flags[f] !== undefined && !userspace) {
      throw new UsageError(
        `--${f} needs --tun userspace-networking (with a TUN, the kernel's stack serves the node)`,
      );
    }
  }
  if (!userspace) return null;
  let forwards;
  try {
    forwards = parseForwards(flags.forward ?? []);
  } catch (e) {
    throw new UsageError(`Bad --forward ${e instanceof Error ? e.message : e}`);
  }
  const limits: Partial<NetstackLimits> = {};
  const max = flags["netstack-max-connections"];
  if (max !== undefined) {
    const n = /^[0-9]+$/.test(max) ? Number(max) : NaN;
    const why = Number.isNaN(n) ? "not a whole number" : outOfRange(n, MAX_CONNECTIONS_RANGE);
    if (why !== null) throw new UsageError(`Bad --netstack-max-connections "${max}": ${why}`);
    limits.maxConnections = n;
  }
  const buf = sizeFlag(flags, "netstack-tcp-buffer", TCP_BUFFER_RANGE);
  if (buf !== undefined) limits.tcpBufferBytes = buf;
  const mem = sizeFlag(flags, "netstack-tcp-memory", TCP_MEMORY_RANGE);
  if (mem !== undefined) limits.tcpMemoryBytes = mem;
  return { proxies, forwards, limits };
}

/** A byte-size flag (`256K`, `1M`, …) within `range`; undefined when not given. */
function sizeFlag(
  flags: ProxyFlags,
  name: "netstack-tcp-buffer" | "netstack-tcp-memory",
  range: readonly [number, number],
): number | undefined {
  const text = flags[name];
  if (text === undefined) return undefined;
  let n: number;
  try {
    n = parseByteSize(text);
  } catch (e) {
    throw new UsageError(`Bad --${name}: ${e instanceof Error ? e.message : e}`);
  }
  const why = outOfRange(n, range);
  if (why !== null) throw new UsageError(`Bad --${name} "${text}": ${why} bytes`);
  return n;
}
