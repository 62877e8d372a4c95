import assert from "node:assert/strict";
import { hostDialer } from "./host_dialer.ts";
import { startProxies } from "./listen.ts";
import { decodeUdpDatagram, encodeUdpDatagram } from "./socks5_codec.ts";
import { curl, rawExchange, readN, receiveOrFail, startOrigin, startUdpEcho } from "./_testutil.ts";
import { bindHostUdp } from "./udp_socket.ts";
import { type DialFailure, ProxyDialError } from "./types.ts";

function socks(opts: Partial<Parameters<typeof startProxies>[0]> = {}) {
  const p = startProxies({ dialer: hostDialer(), socks5: "127.0.0.1:0", ...opts });
  return Object.assign(p, { port: p.socks5!.port, [Symbol.asyncDispose]: () => p.close() });
}

Deno.test("curl --socks5-hostname reaches a local origin by name; the dialer resolves it", async () => {
  await using origin = startOrigin();
  await using proxy = socks();
  const r = await curl(
    "--socks5-hostname",
    `127.0.0.1:${proxy.port}`,
    `http://localhost:${origin.port}/a?b=1`,
  );
  assert.equal(r.stderr, "");
  assert.equal(r.stdout, "origin GET /a?b=1");
});

Deno.test("curl --socks5 reaches a local origin by IPv4 address, and streams 1 MiB", async () => {
  await using origin = startOrigin();
  await using proxy = socks();
  const r = await curl("--socks5", `127.0.0.1:${proxy.port}`, `http://127.0.0.1:${origin.port}/x`);
  assert.equal(r.stdout, "origin GET /x");
  const big = await curl(
    "--socks5",
    `127.0.0.1:${proxy.port}`,
    `http://127.0.0.1:${origin.port}/big`,
  );
  assert.equal(big.stdout, "a".repeat(1 << 20));
});

Deno.test("SOCKS5 with credentials: right ones pass, wrong ones and no-auth are refused", async () => {
  await using origin = startOrigin();
  await using proxy = socks({ socks5Credentials: { username: "alice", password: "s3cret" } });
  const url = `http://127.0.0.1:${origin.port}/auth`;
  const ok = await curl("--socks5", `alice:s3cret@127.0.0.1:${proxy.port}`, url);
  assert.equal(ok.stdout, "origin GET /auth");
  const wrong = await curl("--socks5", `alice:nope@127.0.0.1:${proxy.port}`, url);
  assert.equal(wrong.code, 97, wrong.stderr); // CURLE_PROXY: authentication failed
  assert.equal(wrong.stdout, "");
  // A client offering only no-auth gets "no acceptable methods".
  const reply = await rawExchange(proxy.port, new Uint8Array([5, 1, 0]));
  assert.deepEqual([...reply], [5, 0xff]);
});

Deno.test("SOCKS5 CONNECT to a closed port answers 'connection refused' (REP 5)", async () => {
  await using proxy = socks();
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = l.addr.port;
  l.close();
  const reply = await rawExchange(
    proxy.port,
    new Uint8Array([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, closedPort >> 8, closedPort & 255]),
  );
  assert.deepEqual([...reply.subarray(0, 4)], [5, 0, 5, 5]);
});

Deno.test("SOCKS5 maps each dial failure kind to its reply code", async () => {
  const kinds: [DialFailure | "plain", number][] = [
    ["refused", 5],
    ["unreachable", 4],
    ["timeout", 4],
    ["failed", 1],
    ["plain", 1],
  ];
  for (const [kind, rep] of kinds) {
    const dialer = {
      dialTcp: () =>
        Promise.reject(kind === "plain" ? new Error("boom") : new ProxyDialError(kind, "fake")),
      openUdp: () => Promise.reject(new Error("no udp")),
    };
    await using proxy = socks({ dialer });
    const name = new TextEncoder().encode("peer.example.com");
    const reply = await rawExchange(
      proxy.port,
      new Uint8Array([5, 1, 0, 5, 1, 0, 3, name.length, ...name, 0, 80]),
    );
    assert.deepEqual([...reply], [5, 0, 5, rep, 0, 1, 0, 0, 0, 0, 0, 0], kind);
  }
});

Deno.test("SOCKS5 BIND is 'command not supported', an unknown ATYP 'address type not supported'", async () => {
  await using proxy = socks();
  const bind = await rawExchange(
    proxy.port,
    new Uint8Array([5, 1, 0, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0]),
  );
  assert.deepEqual([...bind.subarray(0, 4)], [5, 0, 5, 7]);
  const atyp = await rawExchange(proxy.port, new Uint8Array([5, 1, 0, 5, 1, 0, 7, 1, 2]));
  assert.deepEqual([...atyp.subarray(0, 4)], [5, 0, 5, 8]);
});

Deno.test("SOCKS5 CONNECT to an IPv6 destination works (origin on ::1)", async () => {
  const server = Deno.serve({ hostname: "::1", port: 0, onListen() {} }, () => new Response("six"));
  await using proxy = socks();
  const r = await curl("--socks5", `127.0.0.1:${proxy.port}`, `http://[::1]:${server.addr.port}/`);
  await server.shutdown();
  assert.equal(r.stdout, "six");
});

Deno.test("malformed greetings and truncated requests close only their own connection", async () => {
  await using origin = startOrigin();
  await using proxy = socks({ handshakeTimeoutMs: 300 });
  // A client parked mid-handshake holds its connection until the timeout...
  const stalled = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  await stalled.write(new Uint8Array([5, 1, 0]));
  assert.deepEqual([...await readN(stalled, 2)], [5, 0]);
  await stalled.write(new Uint8Array([5, 1, 0, 1, 127])); // a truncated request
  // ...while garbage and truncated messages are dropped without a reply...
  assert.deepEqual([...await rawExchange(proxy.port, new TextEncoder().encode("HELLO\r\n"))], []);
  assert.deepEqual([...await rawExchange(proxy.port, new Uint8Array([5, 0]))], []);
  const c = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  await c.write(new Uint8Array([5, 2]));
  await c.closeWrite(); // truncated greeting, then EOF
  assert.equal(await c.read(new Uint8Array(8)), null);
  c.close();
  // ...and another client keeps working.
  const r = await curl("--socks5", `127.0.0.1:${proxy.port}`, `http://127.0.0.1:${origin.port}/ok`);
  assert.equal(r.stdout, "origin GET /ok");
  // The stalled one is closed by the handshake timeout.
  assert.equal(await stalled.read(new Uint8Array(8)).catch(() => null), null);
  stalled.close();
});

Deno.test("SOCKS5 closes connections over maxConnections and serves again once one ends", async () => {
  await using origin = startOrigin();
  await using proxy = socks({ maxConnections: 1 });
  const first = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  await first.write(new Uint8Array([5, 1, 0]));
  assert.deepEqual([...await readN(first, 2)], [5, 0]); // the server holds it now
  assert.deepEqual([...await rawExchange(proxy.port, new Uint8Array([5, 1, 0]))], []);
  first.close();
  let r;
  for (let i = 0; i < 50; i++) {
    r = await curl("--socks5", `127.0.0.1:${proxy.port}`, `http://127.0.0.1:${origin.port}/again`);
    if (r.code === 0) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.equal(r?.stdout, "origin GET /again");
});

for (const listen of ["127.0.0.1:0", ":0"]) {
  Deno.test(`SOCKS5 UDP ASSOCIATE relays a round trip to a UDP echo server, drops fragments (listening on ${listen})`, async () => {
    const echo = await startUdpEcho();
    await using proxy = socks({ socks5: listen });
    const client = await bindHostUdp("127.0.0.1");
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    try {
      await tcp.write(new Uint8Array([5, 1, 0]));
      assert.deepEqual([...await readN(tcp, 2)], [5, 0]);
      const myPort = client.addr.port;
      await tcp.write(new Uint8Array([5, 3, 0, 1, 0, 0, 0, 0, myPort >> 8, myPort & 255]));
      const reply = await readN(tcp, 10);
      assert.deepEqual([...reply.subarray(0, 4)], [5, 0, 0, 1]);
      assert.deepEqual(
        [...reply.subarray(4, 8)],
        [127, 0, 0, 1],
        "the relay is on the address we dialled",
      );
      const relayPort = (reply[8] << 8) | reply[9];
      const payload = new TextEncoder().encode("ping");
      // A fragment (FRAG=1) is dropped; the whole datagram after it gets the only answer.
      const frag = encodeUdpDatagram("127.0.0.1", echo.port, new TextEncoder().encode("frag"));
      frag[2] = 1;
      await client.send(frag, "127.0.0.1", relayPort);
      await client.send(encodeUdpDatagram("127.0.0.1", echo.port, payload), "127.0.0.1", relayPort);
      const got = await receiveOrFail(client);
      assert.equal(got.port, relayPort);
      const d = decodeUdpDatagram(got.data);
      assert.deepEqual(d.addr, { atyp: 1, hostname: "127.0.0.1", port: echo.port });
      assert.equal(new TextDecoder().decode(d.data), "echo:ping");
      // By name too: the relay resolves DST.ADDR.
      await client.send(
        encodeUdpDatagram("localhost", echo.port, new TextEncoder().encode("name")),
        "127.0.0.1",
        relayPort,
      );
      const byName = decodeUdpDatagram((await receiveOrFail(client)).data);
      assert.equal(new TextDecoder().decode(byName.data), "echo:name");
    } finally {
      tcp.close();
      client.close();
      echo.close();
    }
  });
}

Deno.test("SOCKS5 UDP ASSOCIATE ignores datagrams from any port but the client's", async () => {
  const echo = await startUdpEcho();
  await using proxy = socks();
  const client = await bindHostUdp("127.0.0.1");
  const stranger = await bindHostUdp("127.0.0.1");
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  try {
    await tcp.write(new Uint8Array([5, 1, 0]));
    await readN(tcp, 2);
    const p = client.addr.port;
    await tcp.write(new Uint8Array([5, 3, 0, 1, 127, 0, 0, 1, p >> 8, p & 255]));
    const reply = await readN(tcp, 10);
    const relayPort = (reply[8] << 8) | reply[9];
    const enc = (s: string) =>
      encodeUdpDatagram("127.0.0.1", echo.port, new TextEncoder().encode(s));
    await stranger.send(enc("stranger"), "127.0.0.1", relayPort);
    await client.send(enc("mine"), "127.0.0.1", relayPort);
    const d = decodeUdpDatagram((await receiveOrFail(client)).data);
    assert.equal(new TextDecoder().decode(d.data), "echo:mine");
    // The stranger's datagram was never relayed, so no echo of it reaches anyone.
    await client.send(enc("mine2"), "127.0.0.1", relayPort);
    const d2 = decodeUdpDatagram((await receiveOrFail(client)).data);
    assert.equal(new TextDecoder().decode(d2.data), "echo:mine2");
  } finally {
    tcp.close();
    client.close();
    stranger.close();
    echo.close();
  }
});

Deno.test("SOCKS5 forwards data sent right behind the request (one write for the whole exchange)", async () => {
  await using origin = startOrigin();
  await using proxy = socks();
  const p = origin.port;
  const http = new TextEncoder().encode(
    "GET /eager HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  const reply = await rawExchange(
    proxy.port,
    new Uint8Array([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, p >> 8, p & 255, ...http]),
  );
  assert.deepEqual([...reply.subarray(0, 4)], [5, 0, 5, 0]);
  assert.match(
    new TextDecoder().decode(reply.subarray(12)),
    /^HTTP\/1.1 200 [\s\S]*origin GET \/eager$/,
  );
});

Deno.test("SOCKS5 listens on [::1] and curl reaches it over IPv6", async () => {
  await using origin = startOrigin();
  await using proxy = socks({ socks5: "[::1]:0" });
  assert.equal(proxy.socks5?.hostname, "::1");
  const r = await curl("--socks5", `[::1]:${proxy.port}`, `http://127.0.0.1:${origin.port}/v6`);
  assert.equal(r.stdout, "origin GET /v6");
});
