import assert from "node:assert/strict";
import { hostDialer } from "./host_dialer.ts";
import { parseListenAddr, startProxies } from "./listen.ts";
import { routingDialer } from "./routing_dialer.ts";
import type { ProxyDialer } from "./types.ts";
import { curl, recordingDialer, startOrigin } from "./_testutil.ts";

Deno.test("parseListenAddr() reads tailscaled-style listen flags", () => {
  assert.deepEqual(parseListenAddr("127.0.0.1:1055"), { hostname: "127.0.0.1", port: 1055 });
  assert.deepEqual(parseListenAddr("[::1]:1055"), { hostname: "::1", port: 1055 });
  assert.deepEqual(parseListenAddr(":1055"), { hostname: "::", port: 1055 });
  assert.deepEqual(parseListenAddr("localhost:1055"), { hostname: "127.0.0.1", port: 1055 });
  assert.deepEqual(parseListenAddr("LOCALHOST:0"), { hostname: "127.0.0.1", port: 0 });
  assert.deepEqual(parseListenAddr("proxy.lan:8080"), { hostname: "proxy.lan", port: 8080 });
  assert.deepEqual(parseListenAddr("[::]:80"), { hostname: "::", port: 80 });
});

Deno.test("parseListenAddr() explains what is wrong with a bad flag", () => {
  const bad: [string, RegExp][] = [
    ["1055", /missing ':PORT'/],
    ["localhost:", /missing port/],
    ["localhost:http", /port "http" is not a number/],
    ["::1:1055", /needs brackets/],
    ["[::1]1055", /expected ':PORT' after '\]'/],
    ["[::1:1055", /missing '\]'/],
    ["[1.2.3.4]:1", /not an IPv6 address/],
    ["300.1.1.1:1", /not an IPv4 address/],
    ["a b:1", /not an IP address or host name/],
  ];
  for (const [text, re] of bad) {
    assert.throws(() => parseListenAddr(text, "--socks5-server"), (e: unknown) => {
      assert.ok(e instanceof SyntaxError, text);
      assert.match(e.message, /^Cannot parse --socks5-server "/);
      assert.match(e.message, re);
      return true;
    });
  }
  assert.throws(() => parseListenAddr("localhost:65536"), RangeError);
});

Deno.test("startProxies() rejects a bad flag before opening anything", () => {
  assert.throws(
    () => startProxies({ dialer: hostDialer(), socks5: "127.0.0.1:0", http: "nope" }),
    /Cannot parse --outbound-http-proxy-listen "nope"/,
  );
});

Deno.test("one address for both flags serves SOCKS5 and HTTP on one port, as tailscaled does", async () => {
  await using origin = startOrigin();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const proxies = startProxies({
    dialer: hostDialer(),
    socks5: `127.0.0.1:${port}`,
    http: `127.0.0.1:${port}`,
  });
  try {
    assert.deepEqual(proxies.socks5, proxies.http);
    assert.deepEqual(proxies.status(), [
      { kind: "socks5", listen: `127.0.0.1:${port}`, connections: 0 },
      { kind: "http", listen: `127.0.0.1:${port}`, connections: 0 },
    ]);
    const url = `http://127.0.0.1:${origin.port}/mux`;
    assert.equal(
      (await curl("--socks5-hostname", `127.0.0.1:${port}`, url)).stdout,
      "origin GET /mux",
    );
    assert.equal((await curl("-x", `http://127.0.0.1:${port}`, url)).stdout, "origin GET /mux");
    assert.equal(
      (await curl("-p", "-x", `http://127.0.0.1:${port}`, url)).stdout,
      "origin GET /mux",
    );
  } finally {
    await proxies.close();
  }
});

Deno.test("close() stops the listeners and closes open tunnels", async () => {
  await using origin = startOrigin();
  const proxies = startProxies({
    dialer: hostDialer(),
    socks5: "127.0.0.1:0",
    http: "127.0.0.1:0",
  });
  // An open CONNECT tunnel through the HTTP proxy.
  const c = await Deno.connect({ hostname: "127.0.0.1", port: proxies.http!.port });
  await c.write(new TextEncoder().encode(`CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\n`));
  const buf = new Uint8Array(256);
  const n = await c.read(buf);
  assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1.1 200 /);
  assert.deepEqual(proxies.status().map((s) => [s.kind, s.connections]), [["socks5", 0], [
    "http",
    1,
  ]]);
  await proxies.close();
  assert.deepEqual(proxies.status().map((s) => s.connections), [0, 0]);
  assert.equal(await c.read(buf).catch(() => null), null, "the tunnel was closed");
  c.close();
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: proxies.socks5!.port }));
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: proxies.http!.port }));
});

Deno.test("curl --socks5-hostname http://peer:PORT/ goes through the tailnet dialer by MagicDNS name", async () => {
  await using origin = startOrigin();
  const log: string[] = [];
  const host = hostDialer();
  // The tailnet fake reaches 100.101.102.103 by dialling the local origin instead.
  const tailnet: ProxyDialer = {
    dialTcp(h, p, signal) {
      log.push(`tailnet ${h}:${p}`);
      return host.dialTcp("127.0.0.1", origin.port, signal);
    },
    openUdp: () => Promise.reject(new Error("no udp")),
  };
  const dialer = routingDialer({
    tailnet,
    host: recordingDialer("host", log),
    resolve: (n) => n === "peer" ? "100.101.102.103" : null,
  });
  const proxies = startProxies({ dialer, socks5: "127.0.0.1:0", http: "127.0.0.1:0" });
  try {
    const s = await curl(
      "--socks5-hostname",
      `127.0.0.1:${proxies.socks5!.port}`,
      "http://peer:8000/",
    );
    assert.equal(s.stdout, "origin GET /");
    const h = await curl("-x", `http://127.0.0.1:${proxies.http!.port}`, "http://peer:8000/h");
    assert.equal(h.stdout, "origin GET /h");
    // An outside name goes to the host fake, which refuses: the client sees a failure, not the tailnet.
    const out = await curl(
      "--socks5-hostname",
      `127.0.0.1:${proxies.socks5!.port}`,
      "http://example.com/",
    );
    assert.notEqual(out.code, 0);
    assert.deepEqual(log, [
      "tailnet 100.101.102.103:8000",
      "tailnet 100.101.102.103:8000",
      "host tcp example.com:80",
    ]);
  } finally {
    await proxies.close();
  }
});

Deno.test("close() on a shared port also drops a client that has not spoken yet", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const addr = `127.0.0.1:${port}`;
  // The handshake timeout is an hour, so only close() can end the silent client's sniff.
  const proxies = startProxies({
    dialer: hostDialer(),
    socks5: addr,
    http: addr,
    handshakeTimeoutMs: 3_600_000,
  });
  const silent = await Deno.connect({ hostname: "127.0.0.1", port });
  await new Promise((r) => setTimeout(r, 20)); // let the accept loop pick it up
  let guard: ReturnType<typeof setTimeout> | undefined;
  // The guard only turns a hang into a failure; it measures nothing.
  const outcome = await Promise.race([
    (async () => {
      await proxies.close();
      const eof = await silent.read(new Uint8Array(1)).catch(() => null);
      return eof === null ? "closed" : "the silent client got bytes";
    })(),
    new Promise((r) => guard = setTimeout(() => r("close() hung on the silent client"), 10_000)),
  ]);
  clearTimeout(guard);
  silent.close();
  assert.equal(outcome, "closed");
});
