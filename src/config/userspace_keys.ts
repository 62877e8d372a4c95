/**
 * The config keys of a tailnet's userspace services: `forward` (a list of
 * `tcp:PORT=HOST:PORT` strings, as `--forward`), `netstackMaxConnections`,
 * `netstackTcpBuffer` and `netstackTcpMemory` (a byte count, or a size string such as "256K").
 *
 * @module
 */
import type { Fields } from "./fields.ts";
import { show } from "./fields.ts";
import type { TailnetNetwork } from "./types.ts";
import {
  type ForwardSpec,
  MAX_CONNECTIONS_RANGE,
  type NetstackLimits,
  outOfRange,
  parseByteSize,
  parseForwardSpec,
  TCP_BUFFER_RANGE,
  TCP_MEMORY_RANGE,
} from "./userspace.ts";

/**
 * Reads the four keys; each needs `"tun": "userspace-networking"`
 * (`userspace`). Problems go to `f`; the result holds only what was set.
 */
export function readNetstackKeys(
  f: Fields,
  userspace: boolean,
): Pick<TailnetNetwork, "forwards" | "netstackLimits"> {
  for (
    const key of ["forward", "netstackMaxConnections", "netstackTcpBuffer", "netstackTcpMemory"]
  ) {
    if (f.has(key) && !userspace) {
      f.problem(key, `needs "tun": "userspace-networking" (it runs on warren's own stack)`);
    }
  }
  const forwards: ForwardSpec[] = [];
  (f.array("forward") ?? []).forEach((v, i) => {
    const at = `forward[${i}]`;
    if (typeof v !== "string") return f.problem(at, `want a string, got ${show(v)}`);
    try {
      const spec = parseForwardSpec(v);
      if (forwards.some((o) => o.proto === spec.proto && o.port === spec.port)) {
        return f.problem(at, `${spec.proto} port ${spec.port} is forwarded twice`);
      }
      forwards.push(spec);
    } catch (e) {
      f.problem(at, e instanceof Error ? e.message : String(e));
    }
  });
  const limits: Partial<NetstackLimits> = {};
  const max = f.integer("netstackMaxConnections", ...MAX_CONNECTIONS_RANGE);
  if (max !== undefined) limits.maxConnections = max;
  const buf = sizeKey(f, "netstackTcpBuffer", TCP_BUFFER_RANGE);
  if (buf !== undefined) limits.tcpBufferBytes = buf;
  const mem = sizeKey(f, "netstackTcpMemory", TCP_MEMORY_RANGE);
  if (mem !== undefined) limits.tcpMemoryBytes = mem;
  return {
    ...(forwards.length > 0 ? { forwards } : {}),
    ...(Object.keys(limits).length > 0 ? { netstackLimits: limits } : {}),
  };
}

/** A byte-size key (a count, or a size string such as "256K") within `range`; problems noted. */
function sizeKey(
  f: Fields,
  key: string,
  range: readonly [number, number],
): number | undefined {
  const raw = f.raw(key);
  if (raw === undefined) return undefined;
  let n: number | null = null;
  try {
    n = typeof raw === "number" ? raw : typeof raw === "string" ? parseByteSize(raw) : null;
  } catch (e) {
    f.problem(key, e instanceof Error ? e.message : String(e));
    return undefined;
  }
  if (n === null) {
    f.problem(key, `want a byte count or a size such as "256K", got ${show(raw)}`);
    return undefined;
  }
  const why = outOfRange(n, range);
  if (why !== null) {
    f.problem(key, `${why} bytes`);
    return undefined;
  }
  return n;
}
