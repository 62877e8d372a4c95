import assert from "node:assert/strict";
import { parseIp } from "../net/ip.ts";
import { IpInput } from "../netstack/ip_input.ts";
import { TcpStack } from "../netstack/tcp_stack.ts";
import { systemClock } from "../netstack/types.ts";
import { ProxyDialError } from "../proxy/mod.ts";
import { netstackDialer } from "./userspace_proxies.ts";

/** Two stacks wired back to back (delivery a macrotask later). */
function pair() {
  let ipB: IpInput | null = null, ipA: IpInput | null = null;
  const later = (to: () => IpInput | null) => (p: Uint8Array) => {
    const c = p.slice();
    setTimeout(() => to()?.input(c), 0);
  };
  ipA = new IpInput({
    clock: systemClock,
    out: later(() => ipB),
    addresses: [parseIp("100.64.0.1")],
  });
  ipB = new IpInput({
    clock: systemClock,
    out: later(() => ipA),
    addresses: [parseIp("100.64.0.2")],
  });
  return {
    A: new TcpStack({ ip: ipA, clock: systemClock }),
    B: new TcpStack({ ip: ipB, clock: systemClock }),
  };
}

Deno.test("the netstack dialer carries a ProxyConn and maps a refusal to a SOCKS-able failure", async () => {
  const { A, B } = pair();
  try {
    const d = netstackDialer(A);
    const l = B.listen(80);
    const conn = await d.dialTcp("100.64.0.2", 80);
    assert.equal(conn.localAddr?.hostname, "100.64.0.1");
    const s = (await l.accept())!;
    const w = conn.writable.getWriter();
    await w.write(new TextEncoder().encode("hello"));
    await w.close();
    assert.equal(await new Response(s.readable).text(), "hello");
    conn.close();
    s.close();
    l.close();
    const refused = await d.dialTcp("100.64.0.2", 81).then(() => null, (e) => e);
    assert.ok(refused instanceof ProxyDialError);
    assert.equal(refused.kind, "refused");
    const name = await d.dialTcp("peer", 80).then(() => null, (e) => e);
    assert.equal(name?.kind, "unreachable");
    await assert.rejects(d.openUdp(), /not supported/);
  } finally {
    A.close();
    B.close();
  }
});
