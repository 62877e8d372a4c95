import assert from "node:assert/strict";
import { parseIp } from "../net/ip.ts";
import { IpInput } from "../netstack/ip_input.ts";
import { TcpStack } from "../netstack/tcp_stack.ts";
import { pattern, sha256 } from "../netstack/tcp_conn_testing.ts";
import { systemClock } from "../netstack/types.ts";
import type { TailnetConn } from "./conn.ts";
import { TailnetSockets } from "./sockets.ts";

const A = "100.64.0.1", B = "100.64.0.2";
const NAMES: Record<string, string> = { a: A, b: B, "b.tailnet.test": B };

/** Two nodes' sockets over two IP layers wired back to back (a macrotask per packet). */
function pair() {
  const deliver = (to: () => IpInput) => (p: Uint8Array) => {
    const c = p.slice();
    setTimeout(() => to().input(c), 0);
  };
  const ipA: IpInput = new IpInput({
    clock: systemClock,
    out: deliver(() => ipB),
    addresses: [parseIp(A)],
  });
  const ipB: IpInput = new IpInput({
    clock: systemClock,
    out: deliver(() => ipA),
    addresses: [parseIp(B)],
  });
  const tcpA = new TcpStack({ ip: ipA, clock: systemClock });
  const tcpB = new TcpStack({ ip: ipB, clock: systemClock });
  const resolve = (n: string) => NAMES[n.replace(/\.$/, "")] ?? null;
  const a = new TailnetSockets({ tcp: tcpA, udp: ipA.udp, resolve });
  const b = new TailnetSockets({ tcp: tcpB, udp: ipB.udp, resolve });
  return {
    a,
    b,
    async [Symbol.asyncDispose]() {
      await a.closeAll();
      await b.closeAll();
      tcpA.close();
      tcpB.close();
      await new Promise((r) => setTimeout(r, 5)); // let the last packets land
    },
  };
}

const text = (s: ReadableStream<Uint8Array>) => new Response(s).text();

async function send(conn: TailnetConn, s: string): Promise<void> {
  const w = conn.writable.getWriter();
  await w.write(new TextEncoder().encode(s));
  w.releaseLock();
}

Deno.test("connect by MagicDNS name reaches listen(); addresses are Deno.NetAddr; closeWrite half-closes", async () => {
  await using p = pair();
  const listener = p.b.listen({ port: 7 });
  assert.deepEqual(listener.addr, { transport: "tcp", hostname: "0.0.0.0", port: 7 });
  const served = (async () => {
    const conn = await listener.accept();
    const got = await text(conn.readable); // to the client's FIN
    await send(conn, `got ${got}`);
    await conn.closeWrite();
    return conn;
  })();
  const c = await p.a.connect({ hostname: "b", port: 7 });
  assert.deepEqual(c.remoteAddr, { transport: "tcp", hostname: B, port: 7 });
  assert.equal(c.localAddr.hostname, A);
  assert.equal(c.localAddr.transport, "tcp");
  await send(c, "ping");
  await c.closeWrite();
  // The read side stays open after our half-close.
  assert.equal(await text(c.readable), "got ping");
  const s = await served;
  assert.deepEqual(s.remoteAddr, c.localAddr);
  c.close();
  s.close();
});

Deno.test("connect takes FQDNs and IP literals and fails as Deno.connect does", async () => {
  await using p = pair();
  const listener = p.b.listen({ port: 80 });
  const accepted: TailnetConn[] = [];
  const loop = (async () => {
    for await (const c of listener) accepted.push(c);
  })();
  for (const hostname of ["b.tailnet.test.", B, `[::ffff:${B}]`]) {
    const c = await p.a.connect({ hostname, port: 80 });
    assert.equal(c.remoteAddr.hostname, B, hostname);
    c.close();
  }
  await assert.rejects(p.a.connect({ hostname: "nope", port: 80 }), Deno.errors.NotFound);
  await assert.rejects(p.a.connect({ hostname: "b", port: 81 }), Deno.errors.ConnectionRefused);
  await assert.rejects(
    p.a.connect({ hostname: "fd7a:115c:a1e0::9", port: 80 }),
    Deno.errors.NetworkUnreachable,
  );
  listener.close();
  await loop; // the iteration ends when the listener closes
  assert.equal(accepted.length, 3);
  for (const c of accepted) c.close();
  await assert.rejects(listener.accept(), Deno.errors.BadResource);
});

Deno.test("listen: a taken port is AddrInUse, port 0 picks a free one, bad ports are RangeError", async () => {
  await using p = pair();
  const l = p.b.listen({ port: 8080 });
  assert.throws(() => p.b.listen({ port: 8080 }), Deno.errors.AddrInUse);
  const any = p.b.listen({ port: 0 });
  assert.ok(any.addr.port >= 49152, `${any.addr.port}`);
  assert.throws(() => p.b.listen({ port: 70000 }), RangeError);
  l.close();
  p.b.listen({ port: 8080 }).close(); // free again once closed
});

Deno.test("listenDatagram: send by name, receive with the sender's address, into a buffer too", async () => {
  await using p = pair();
  const sb = p.b.listenDatagram({ port: 5353 });
  const sa = p.a.listenDatagram({ port: 0 });
  assert.equal(sb.addr.transport, "udp");
  assert.equal(await sa.send(new TextEncoder().encode("hello"), { hostname: "b", port: 5353 }), 5);
  const [data, from] = await sb.receive();
  assert.equal(new TextDecoder().decode(data), "hello");
  assert.deepEqual(from, { transport: "udp", hostname: A, port: sa.addr.port });
  await sb.send(new TextEncoder().encode("world!"), from);
  const buf = new Uint8Array(3);
  const [part] = await sa.receive(buf);
  assert.equal(new TextDecoder().decode(part), "wor");
  await assert.rejects(
    sa.send(new Uint8Array(1), { hostname: "nope", port: 1 }),
    Deno.errors.NotFound,
  );
  sb.close();
  await assert.rejects(sb.receive(), Deno.errors.BadResource);
});

Deno.test("serve and fetch over the netstack: 2 MB each way checksummed, by name", async () => {
  await using p = pair();
  const server = p.b.serve({ port: 80 }, async (req, info) => {
    const url = new URL(req.url);
    if (url.pathname === "/sha") {
      const body = new Uint8Array(await req.arrayBuffer());
      return new Response(`${body.length} ${await sha256(body)} from ${info.remoteAddr.hostname}`);
    }
    if (url.pathname === "/big") return new Response(new Uint8Array(pattern(2 << 20, 7)));
    return new Response("not here", { status: 404 });
  });
  const up = new Uint8Array(pattern(2 << 20, 3));
  const posted = await p.a.fetch("http://b/sha", { method: "POST", body: up });
  assert.equal(await posted.text(), `${up.length} ${await sha256(up)} from ${A}`);
  const big = await p.a.fetch("http://b.tailnet.test/big");
  assert.equal(big.status, 200);
  assert.equal(
    await sha256(new Uint8Array(await big.arrayBuffer())),
    await sha256(pattern(2 << 20, 7)),
  );
  const missing = await p.a.fetch(`http://${B}/x`);
  assert.equal(missing.status, 404);
  assert.equal(await missing.text(), "not here");
  await assert.rejects(p.a.fetch("https://b/"), TypeError);
  await server.shutdown();
  await assert.rejects(p.a.connect({ hostname: "b", port: 80 }), Deno.errors.ConnectionRefused);
});

Deno.test("closeAll closes listeners, datagram sockets and servers", async () => {
  await using p = pair();
  const l = p.b.listen({ port: 1 });
  const d = p.b.listenDatagram({ port: 2 });
  const s = p.b.serve({ port: 3 }, () => new Response("x"));
  await p.b.closeAll();
  await assert.rejects(l.accept(), Deno.errors.BadResource);
  await assert.rejects(d.receive(), Deno.errors.BadResource);
  await s.finished;
  p.b.listen({ port: 3 }).close();
});
