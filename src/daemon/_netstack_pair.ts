/**
 * Test helper: two userspace stacks (IP layer and TCP) wired back to back,
 * each packet delivered a macrotask later, as a data plane would.
 *
 * @module
 */
import { parseIp } from "../net/ip.ts";
import { IpInput } from "../netstack/ip_input.ts";
import { TcpStack, type TcpStackOptions } from "../netstack/tcp_stack.ts";
import { systemClock } from "../netstack/types.ts";

/** Side A has `a`'s addresses, side B `b`'s (IPv4 and IPv6 by default); `tcpB` tunes B's TCP. */
export function netstackPair(
  a: string[] = ["100.64.0.1", "fd7a:115c:a1e0::1"],
  b: string[] = ["100.64.0.2", "fd7a:115c:a1e0::2"],
  tcpB: Partial<TcpStackOptions> = {},
): { ipA: IpInput; ipB: IpInput; A: TcpStack; B: TcpStack } {
  let ipB: IpInput | null = null, ipA: IpInput | null = null;
  const later = (to: () => IpInput | null) => (p: Uint8Array) => {
    const c = p.slice();
    setTimeout(() => to()?.input(c), 0);
  };
  ipA = new IpInput({ clock: systemClock, out: later(() => ipB), addresses: a.map(parseIp) });
  ipB = new IpInput({ clock: systemClock, out: later(() => ipA), addresses: b.map(parseIp) });
  return {
    ipA,
    ipB,
    A: new TcpStack({ ip: ipA, clock: systemClock }),
    B: new TcpStack({ ip: ipB, clock: systemClock, ...tcpB }),
  };
}
