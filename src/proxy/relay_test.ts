import assert from "node:assert/strict";
import { fromDenoConn } from "./deno_conn.ts";
import { relay } from "./relay.ts";
import { readN } from "./_testutil.ts";

/** A connected pair of TCP sockets on loopback. */
async function tcpPair(): Promise<[Deno.Conn, Deno.Conn]> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [a, b] = await Promise.all([
    l.accept(),
    Deno.connect({ hostname: "127.0.0.1", port: l.addr.port }),
  ]);
  l.close();
  return [a, b];
}

Deno.test("relay() carries a half-close through: the response still flows after the client's FIN", async () => {
  // client ⇄ [c1 | proxy | u1] ⇄ upstream
  const [c1, client] = await tcpPair();
  const [u1, upstream] = await tcpPair();
  const done = relay(fromDenoConn(c1), fromDenoConn(u1), {
    toUpstream: new TextEncoder().encode("early:"),
  });
  await client.write(new TextEncoder().encode("request"));
  await client.closeWrite();
  assert.equal(new TextDecoder().decode(await readN(upstream, 13)), "early:request");
  assert.equal(await upstream.read(new Uint8Array(1)), null, "the FIN reached the upstream");
  await upstream.write(new TextEncoder().encode("response"));
  assert.equal(new TextDecoder().decode(await readN(client, 8)), "response");
  upstream.close();
  assert.equal(await client.read(new Uint8Array(1)), null);
  await done;
  client.close();
});

Deno.test("fromDenoConn() replays a sniffed prefix before the socket's bytes", async () => {
  const [a, b] = await tcpPair();
  const conn = fromDenoConn(a, new Uint8Array([1, 2]));
  await b.write(new Uint8Array([3]));
  b.close();
  const got: number[] = [];
  for await (const chunk of conn.readable) got.push(...chunk);
  assert.deepEqual(got, [1, 2, 3]);
  conn.close();
  conn.close(); // twice is fine
});

Deno.test("fromDenoConn()'s source lends the prefix, then reads; a partial consume leaves the rest", async () => {
  const [a, b] = await tcpPair();
  const conn = fromDenoConn(a, new Uint8Array([1, 2]));
  const src = conn.source!;
  assert.deepEqual([...(await src.peek())!], [1, 2]);
  src.consume(1);
  assert.deepEqual([...(await src.peek())!], [2]);
  src.consume(1);
  await b.write(new Uint8Array([3, 4, 5]));
  const got: number[] = [];
  while (got.length < 3) {
    const v = (await src.peek())!;
    got.push(v[0]);
    src.consume(1);
  }
  assert.deepEqual(got, [3, 4, 5]);
  b.close();
  assert.equal(await src.peek(), null);
  conn.close();
});

Deno.test("relay() uses the streams where a side lends no source or sink", async () => {
  const [c1, client] = await tcpPair();
  const [u1, upstream] = await tcpPair();
  const streamsOnly = (c: ReturnType<typeof fromDenoConn>) => ({
    readable: c.readable,
    writable: c.writable,
    close: () => c.close(),
  });
  const done = relay(streamsOnly(fromDenoConn(c1)), fromDenoConn(u1));
  await client.write(new TextEncoder().encode("up"));
  assert.equal(new TextDecoder().decode(await readN(upstream, 2)), "up");
  await upstream.write(new TextEncoder().encode("down"));
  upstream.close();
  assert.equal(new TextDecoder().decode(await readN(client, 4)), "down");
  assert.equal(await client.read(new Uint8Array(1)), null, "the upstream's FIN reached the client");
  client.close();
  await done;
});
