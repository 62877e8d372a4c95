import assert from "node:assert/strict";
import { ProxyDialError } from "../proxy/mod.ts";
import { netstackPair } from "./_netstack_pair.ts";
import { netstackDialer } from "./userspace_proxies.ts";

const pair = () => netstackPair(["100.64.0.1"], ["100.64.0.2"]);

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
    await assert.rejects(d.openUdp(), /No UDP/);
  } finally {
    A.close();
    B.close();
  }
});

Deno.test("the netstack dialer's UDP socket sends from the node's address and hears the answer", async () => {
  const { A, B, ipA, ipB } = pair();
  try {
    const echo = ipB.udp.bind({ port: 53 });
    const sock = await netstackDialer(A, ipA.udp).openUdp();
    await sock.send(new TextEncoder().encode("ping"), "100.64.0.2", 53);
    const q = await echo.receive();
    assert.equal(new TextDecoder().decode(q.payload), "ping");
    assert.deepEqual([...q.src.ip], [100, 64, 0, 1]);
    echo.send(new TextEncoder().encode("pong"), q.src);
    const a = await sock.receive();
    assert.deepEqual(
      [a && new TextDecoder().decode(a.data), a?.hostname, a?.port],
      ["pong", "100.64.0.2", 53],
    );
    await assert.rejects(sock.send(new Uint8Array(1), "peer", 53), /not a tailnet IP/);
    sock.close();
    assert.equal(await sock.receive(), null, "closed: receive ends");
    echo.close();
  } finally {
    A.close();
    B.close();
  }
});
