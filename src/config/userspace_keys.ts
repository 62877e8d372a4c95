/**
 * The config keys of a tailnet's userspace services: `forward` (a list of
 * `tcp:PORT=HOST:PORT` strings, as `--forward`), `netstackMaxConnections`
 * and `netstackTcpBuffer` (a byte count, or a size string such as "256K").
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
} from "./userspace.ts";

/**
 * Reads the three keys; each needs `"tun": "userspace-networking"`
 * (`userspace`). Problems go to `f`; the result holds only what was set.
 */
export function readNetstackKeys(
  f: Fields,
  userspace: boolean,
): Pick<TailnetNetwork, "forwards" | "netstackLimits"> {
  for (const key of ["forward", "netstackMaxConnections", "netstackTcpBuffer"]) {
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
  const buf = f.raw("netstackTcpBuffer");
  if (buf !== undefined) {
    let n: number | null = null;
    try {
      n = typeof buf === "number" ? buf : typeof buf === "string" ? parseByteSize(buf) : null;
    } catch (e) {
      f.problem("netstackTcpBuffer", e instanceof Error ? e.message : String(e));
    }
    const why = n === null ? null : outOfRange(n, TCP_BUFFER_RANGE);
    if (n === null && typeof buf !== "string") {
      f.problem(
        "netstackTcpBuffer",
        `want a byte count or a size such as "256K", got ${show(buf)}`,
      );
    } else if (why !== null) f.problem("netstackTcpBuffer", `${why} bytes`);
    else if (n !== null) limits.tcpBufferBytes = n;
  }
  return {
    ...(forwards.length > 0 ? { forwards } : {}),
    ...(Object.keys(limits).length > 0 ? { netstackLimits: limits } : {}),
  };
}
