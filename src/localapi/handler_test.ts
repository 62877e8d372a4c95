import assert from "node:assert/strict";
import { localApiHandler, MAX_DISCO_PING_SIZE } from "./handler.ts";
import {
  assertSameShape,
  FakeNode,
  fixtureJson,
  LOCALAPI_FIXTURES,
  NOT_DERIVABLE,
  TS_A_KEY,
  TS_A_LIVE,
  tsbNetmap,
} from "./testdata.ts";

type Opts = { method?: string; body?: string; headers?: Record<string, string> };

function call(node: FakeNode, path: string, o: Opts = {}, hopts = {}): Promise<Response> {
  const h = localApiHandler(node, hopts);
  return h(
    new Request(`http://local-tailscaled.sock${path}`, {
      method: o.method ?? "GET",
      body: o.body,
      headers: { Host: "local-tailscaled.sock", ...o.headers },
    }),
  );
}

/** One raw HTTP response from the capture: status, headers (lower-case), body. */
function fixtureResponse(name: string) {
  const raw = Deno.readTextFileSync(new URL(name, LOCALAPI_FIXTURES)).replaceAll("\r\n", "\n");
  const [head, ...rest] = raw.split("\n\n");
  const [statusLine, ...lines] = head.split("\n");
  const headers = new Map(lines.map((l) => {
    const i = l.indexOf(":");
    return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
  }));
  return { status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\n\n") };
}

Deno.test("status answers tailscaled's headers and status.json, with or without Sec-Tailscale", async () => {
  const want = fixtureResponse("status-without-sec-header.txt");
  const node = new FakeNode();
  // this capture was a moment after status.json: more traffic, and the direct path up
  node.view.peers = new Map([[TS_A_KEY, {
    ...TS_A_LIVE,
    rxBytes: 412,
    txBytes: 604,
    curAddr: "10.98.1.2:41641",
    lastWriteMs: Date.parse("2026-12-01T22:15:40.748114338Z"),
  }]]);
  const res = await call(node, "/localapi/v0/status");
  assert.equal(res.status, want.status);
  for (const k of ["content-type", "content-security-policy", "tailscale-cap", "x-frame-options"]) {
    assert.equal(res.headers.get(k), want.headers.get(k), k);
  }
  assert.equal(res.headers.get("tailscale-version"), want.headers.get("tailscale-version"));
  const text = await res.text();
  assert.match(text, /^\{\n\t"Version"/); // json.Encoder with SetIndent("", "\t")
  assert.ok(text.endsWith("}\n"));
  assertSameShape(JSON.parse(text), JSON.parse(want.body), NOT_DERIVABLE);
  const withHeader = await call(new FakeNode(), "/localapi/v0/status", {
    headers: { "Sec-Tailscale": "localapi" },
  });
  assert.equal(withHeader.status, 200);
  await withHeader.body?.cancel();
});

Deno.test("status?peers=false leaves Peer and User null; peers=garbage means the default", async () => {
  const res = await call(new FakeNode(), "/localapi/v0/status?peers=false");
  const st = await res.json();
  assertSameShape(st, fixtureJson("status-peers-false.json"), NOT_DERIVABLE);
  const def = await (await call(new FakeNode(), "/localapi/v0/status?peers=maybe")).json();
  assert.ok(def.Peer[TS_A_KEY]);
});

Deno.test("the tsnet-style Sec-Tailscale check refuses a request without the header", async () => {
  const opts = { requireSecHeader: true };
  const res = await call(new FakeNode(), "/localapi/v0/status", {}, opts);
  assert.equal(res.status, 403);
  assert.equal(await res.text(), "missing 'Sec-Tailscale: localapi' header");
  const ok = await call(new FakeNode(), "/localapi/v0/status", {
    headers: { "Sec-Tailscale": "localapi" },
  }, opts);
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test("a browser-made request (Origin, Referer, another Host) is refused as tailscaled does", async () => {
  const bad: Record<string, string>[] = [{ Origin: "http://evil" }, { Referer: "http://evil/" }, {
    Host: "evil",
  }];
  for (const headers of bad) {
    const res = await call(new FakeNode(), "/localapi/v0/status", { headers });
    assert.equal(res.status, 403, JSON.stringify(headers));
    assert.equal(await res.text(), "invalid localapi request\n");
  }
});

Deno.test("an unknown endpoint is tailscaled's 404; a real one warren lacks is a 501 with a reason", async () => {
  const want = fixtureResponse("unknown-endpoint.txt");
  const res = await call(new FakeNode(), "/localapi/v0/no-such-thing");
  assert.equal(res.status, 404);
  assert.equal(await res.text(), want.body);
  for (const k of ["content-type", "content-security-policy", "x-content-type-options"]) {
    assert.equal(res.headers.get(k), want.headers.get(k), k);
  }
  for (const path of ["derpmap", "tka/status", "cert/x.example", "files/"]) {
    const r = await call(new FakeNode(), `/localapi/v0/${path}`);
    assert.equal(r.status, 501, path);
    const text = await r.text();
    assert.equal(text, `warren does not implement the LocalAPI endpoint ${path}\n`);
  }
  const root = await call(new FakeNode(), "/");
  assert.equal(await root.text(), "tailscaled\n");
  for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
    const r = await call(new FakeNode(), `/localapi/v0/${name}`);
    assert.equal(r.status, 404, name);
    await r.body?.cancel();
  }
  const outside = await call(new FakeNode(), "/other");
  assert.equal(outside.status, 404);
  await outside.body?.cancel();
});

Deno.test("whois by IP, IP:port and node key answers whois.json exactly", async () => {
  const want = fixtureJson("whois.json");
  for (const addr of ["100.64.0.1", "100.64.0.1:22", "[fd7a:115c:a1e0::1]:0", TS_A_KEY]) {
    const res = await call(new FakeNode(), `/localapi/v0/whois?addr=${encodeURIComponent(addr)}`);
    assert.equal(res.status, 200, addr);
    const text = await res.text();
    assert.ok(!text.endsWith("\n"), "MarshalIndent has no trailing newline");
    assert.deepEqual(JSON.parse(text), want, addr);
  }
  const self = await (await call(new FakeNode(), "/localapi/v0/whois?addr=100.64.0.2")).json();
  assert.equal(self.Node.Name, "ts-b.tslab.test.");
});

Deno.test("whois error paths: missing, malformed, bad node key, no match", async () => {
  const cases: [string, number, string][] = [
    ["", 400, "missing 'addr' parameter\n"],
    ["?addr=", 400, "missing 'addr' parameter\n"],
    ["?addr=not-an-ip", 400, "invalid 'addr' parameter\n"],
    ["?addr=nodekey:zz", 400, "invalid nodekey in 'addr' parameter\n"],
    ["?addr=100.64.0.9", 404, "no match for IP:port\n"],
  ];
  for (const [q, status, body] of cases) {
    const res = await call(new FakeNode(), `/localapi/v0/whois${q}`);
    assert.equal(res.status, status, q);
    assert.equal(await res.text(), body, q);
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
  }
  const node = new FakeNode();
  node.view = { ...node.view, netmap: null };
  assert.equal((await call(node, "/localapi/v0/whois?addr=100.64.0.1")).status, 404);
});

Deno.test("a disco ping answers ping-disco.json through the node's callback", async () => {
  const node = new FakeNode();
  const res = await call(node, "/localapi/v0/ping?ip=100.64.0.1&size=0&type=disco", {
    method: "POST",
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), fixtureJson("ping-disco.json"));
  assert.deepEqual(node.calls, [{ fn: "discoPing", args: [TS_A_KEY, 0] }]);
});

Deno.test("a disco pong over DERP names the region as tailscaled does", async () => {
  const node = new FakeNode();
  node.pong = { via: "derp-999", latencyMs: 2 };
  const res = await (await call(node, "/localapi/v0/ping?ip=100.64.0.1&type=disco", {
    method: "POST",
  })).json();
  assert.equal(res.DERPRegionID, 999);
  assert.equal(res.DERPRegionCode, "headscale");
  assert.equal(res.Endpoint, "");
  assert.equal(res.LatencySeconds, 0.002);
});

Deno.test("ping of a subnet address goes to the router; of self and of nothing answer Err", async () => {
  const node = new FakeNode();
  const sub = await (await call(node, "/localapi/v0/ping?ip=10.98.8.2&type=disco", {
    method: "POST",
  })).json();
  assert.equal(sub.NodeName, "ts-a");
  assert.equal(sub.NodeIP, "100.64.0.1");
  const self = await (await call(node, "/localapi/v0/ping?ip=100.64.0.2&type=disco", {
    method: "POST",
  })).json();
  assert.equal(self.Err, "100.64.0.2 is local Tailscale IP");
  assert.equal(self.IsLocalIP, true);
  node.view = { ...node.view, netmap: { ...tsbNetmap(), peers: new Map() } };
  const none = await (await call(node, "/localapi/v0/ping?ip=100.64.0.1&type=disco", {
    method: "POST",
  })).json();
  assert.equal(none.Err, "no matching peer");
  assert.equal(none.IP, "100.64.0.1");
});

Deno.test("TSMP and ICMP pings without a callback answer a PingResult Err (the CLI prints it)", async () => {
  for (const type of ["TSMP", "ICMP"]) {
    const res = await call(new FakeNode(), `/localapi/v0/ping?ip=100.64.0.1&type=${type}`, {
      method: "POST",
    });
    assert.equal(res.status, 200);
    const pr = await res.json();
    assert.equal(pr.Err, `warren does not support ${type} pings; use a disco ping (the default)`);
    assert.equal(pr.NodeName, "ts-a");
  }
});

Deno.test("a TSMP ping through a callback has ping-tsmp.json's shape, PeerAPIPort included", async () => {
  const node = new FakeNode();
  Object.assign(node, {
    tsmpPing: () => Promise.resolve({ via: "10.98.1.2:41641", latencyMs: 0.646769 }),
  });
  const pr = await (await call(node, "/localapi/v0/ping?ip=100.64.0.1&type=TSMP", {
    method: "POST",
  })).json();
  assert.deepEqual(pr, fixtureJson("ping-tsmp.json"));
});

Deno.test("ping error paths answer tailscaled's messages", async () => {
  const cases: [string, string, number, string][] = [
    ["GET", "?ip=100.64.0.1&type=disco", 400, "want POST\n"],
    ["POST", "?type=disco", 400, "missing 'ip' parameter\n"],
    ["POST", "?ip=banana&type=disco", 400, "invalid IP\n"],
    ["POST", "?ip=100.64.0.1", 400, "missing 'type' parameter\n"],
    ["POST", "?ip=100.64.0.1&type=disco&size=x", 400, "invalid 'size' parameter\n"],
    [
      "POST",
      "?ip=100.64.0.1&type=TSMP&size=10",
      400,
      "'size' parameter is only supported with disco pings\n",
    ],
    [
      "POST",
      `?ip=100.64.0.1&type=disco&size=${MAX_DISCO_PING_SIZE + 1}`,
      400,
      `maximum value for 'size' is ${MAX_DISCO_PING_SIZE}\n`,
    ],
  ];
  for (const [method, q, status, body] of cases) {
    const res = await call(new FakeNode(), `/localapi/v0/ping${q}`, { method });
    assert.equal(res.status, status, q);
    assert.equal(await res.text(), body, q);
  }
});

Deno.test("a disco ping with no pong is held until the client gives up, then a JSON 500", async () => {
  const node = new FakeNode();
  node.pong = null;
  const ac = new AbortController();
  const h = localApiHandler(node);
  const pending = h(
    new Request("http://local-tailscaled.sock/localapi/v0/ping?ip=100.64.0.1&type=disco", {
      method: "POST",
      signal: ac.signal,
    }),
  );
  let settled = false;
  pending.then(() => settled = true);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(settled, false, "tailscaled never answers a ping that got no pong");
  ac.abort();
  const res = await pending;
  assert.equal(res.status, 500);
  assert.deepEqual(await res.json(), { error: "disco ping to 100.64.0.1 timed out" });
});

Deno.test("a disco ping while stopped answers tailscaled's Err", async () => {
  const node = new FakeNode();
  node.setState("Stopped");
  const pr = await (await call(node, "/localapi/v0/ping?ip=100.64.0.1&type=disco", {
    method: "POST",
  })).json();
  assert.equal(pr.Err, "local tailscaled stopped");
  assert.equal(node.calls.length, 0);
});
