import assert from "node:assert/strict";
import { hostDialer } from "./host_dialer.ts";
import { ProxyDialError } from "./types.ts";
import { receiveOrFail, startUdpEcho } from "./_testutil.ts";

Deno.test("hostDialer().dialTcp() reports a refused port as a ProxyDialError of kind refused", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  await assert.rejects(
    hostDialer().dialTcp("127.0.0.1", port),
    (e: unknown) =>
      e instanceof ProxyDialError && e.kind === "refused" && /127\.0\.0\.1:\d+/.test(e.message),
  );
});

Deno.test("hostDialer().dialTcp() half-closes: the peer sees EOF and can still answer", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const c = await l.accept();
    const buf = new Uint8Array(16);
    const n = await c.read(buf);
    assert.equal(await c.read(buf.subarray(n!)), null);
    await c.write(buf.subarray(0, n!));
    c.close();
  })();
  const conn = await hostDialer().dialTcp("127.0.0.1", l.addr.port);
  const w = conn.writable.getWriter();
  await w.write(new Uint8Array([1, 2, 3]));
  await w.close();
  const got: number[] = [];
  for await (const chunk of conn.readable) got.push(...chunk);
  assert.deepEqual(got, [1, 2, 3]);
  conn.close();
  await served;
  l.close();
});

Deno.test("hostDialer().openUdp() sends to IPv4 and by name, and reports the source", async () => {
  const echo = await startUdpEcho();
  const sock = await hostDialer().openUdp();
  try {
    await sock.send(new TextEncoder().encode("a"), "127.0.0.1", echo.port);
    const d = await receiveOrFail(sock);
    assert.deepEqual([d.hostname, d.port], ["127.0.0.1", echo.port]);
    assert.equal(new TextDecoder().decode(d.data), "echo:a");
    await sock.send(new TextEncoder().encode("b"), "localhost", echo.port);
    assert.equal(new TextDecoder().decode((await receiveOrFail(sock)).data), "echo:b");
  } finally {
    sock.close();
    echo.close();
  }
  assert.equal(await sock.receive(), null, "receive() after close() is null");
});
