import assert from "node:assert/strict";
import { parseForwardSpec } from "../config/userspace.ts";
import { parseIp } from "../net/ip.ts";
import { pattern, sha256 } from "../netstack/tcp_conn_testing.ts";
import { hostDialer } from "../proxy/host_dialer.ts";
import { netstackPair } from "./_netstack_pair.ts";
import { exchange, REPLY, startService } from "./_relay_test_util.ts";
import { sparseLog, TcpForward } from "./forward_tcp.ts";

Deno.test("a TCP forward relays a tailnet connection to a host service both ways, with half-close, IPv4 and IPv6", async () => {
  const svc = startService();
  const { A, B } = netstackPair();
  const fwd = new TcpForward(
    B,
    parseForwardSpec(`tcp:80=127.0.0.1:${svc.port}`),
    hostDialer(),
    () => {},
  );
  try {
    for (const dst of ["100.64.0.2", "fd7a:115c:a1e0::2"]) {
      const up = pattern(2 << 20, dst.length);
      const s = await A.dial(parseIp(dst), 80);
      const got = await exchange(s, up);
      const text = new TextDecoder().decode(got.subarray(0, 65));
      assert.equal(text, `${await sha256(up)}\n`, `upload through ${dst}`);
      assert.equal(await sha256(got.subarray(65)), await sha256(REPLY), `download through ${dst}`);
      s.close();
    }
    assert.equal(fwd.status().opened, 2);
    assert.equal(fwd.status().failed, 0);
    assert.deepEqual(
      { kind: fwd.status().kind, listen: fwd.status().listen },
      { kind: "tcp-forward", listen: ":80" },
    );
  } finally {
    await fwd.close();
    A.close();
    B.close();
    svc.close();
    await svc.done;
  }
});

Deno.test("a TCP forward whose target refuses resets the tailnet side and counts the failure; other ports draw a RST", async () => {
  // A port that was just free: nothing listens there.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dead = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const { A, B } = netstackPair();
  const lines: string[] = [];
  const fwd = new TcpForward(
    B,
    parseForwardSpec(`tcp:81=127.0.0.1:${dead}`),
    hostDialer(),
    (l) => lines.push(l),
  );
  try {
    const s = await A.dial(parseIp("100.64.0.2"), 81);
    await assert.rejects(new Response(s.readable).arrayBuffer(), /reset/);
    s.close();
    assert.equal(fwd.status().failed, 1);
    assert.equal(fwd.flows, 0);
    assert.match(lines[0], /forward tcp:81=127\.0\.0\.1:\d+: 100\.64\.0\.1: /);
    // A port with no forward is closed: the dial is refused.
    await assert.rejects(A.dial(parseIp("100.64.0.2"), 82), (e: Error) => e.cause === "refused");
  } finally {
    await fwd.close();
    A.close();
    B.close();
  }
});

Deno.test("closing a TCP forward ends its open relays", async () => {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of ln) held.push(c);
  })();
  const { A, B } = netstackPair();
  const fwd = new TcpForward(
    B,
    parseForwardSpec(`tcp:80=127.0.0.1:${(ln.addr as Deno.NetAddr).port}`),
    hostDialer(),
    () => {},
  );
  try {
    const s = await A.dial(parseIp("100.64.0.2"), 80);
    const w = s.writable.getWriter();
    await w.write(new Uint8Array([1]));
    while (fwd.flows === 0 || held.length === 0) await new Promise((r) => setTimeout(r, 5));
    await fwd.close();
    assert.equal(fwd.flows, 0);
    const rest = await new Response(s.readable).arrayBuffer().then((b) => b.byteLength, () => -1);
    assert.ok(rest <= 0, "the tailnet side ended");
    s.close();
  } finally {
    ln.close();
    await accepting;
    for (const c of held) c.close();
    A.close();
    B.close();
  }
});

Deno.test("sparseLog says a repeated line once, then every n-th time with the count", () => {
  const out: string[] = [];
  const log = sparseLog((l) => out.push(l), 3);
  for (let i = 0; i < 7; i++) log("x");
  assert.deepEqual(out, ["x", "x (4 so far)", "x (7 so far)"]);
});
