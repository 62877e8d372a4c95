import assert from "node:assert/strict";
import { PingAnswerer, type PingAnswererIo } from "./ping_request.ts";
import { encodeBase64 } from "./_base64.ts";

interface Call {
  via: "noise" | "http";
  method: string;
  url: string;
  body: string | null;
}

function fakeIo(withDisco = true): { io: PingAnswererIo; calls: Call[]; logs: string[] } {
  const calls: Call[] = [];
  const logs: string[] = [];
  const rec = (via: Call["via"]) => (method: string, url: string, body: Uint8Array | null) => {
    calls.push({ via, method, url, body: body && new TextDecoder().decode(body) });
    return Promise.resolve(200);
  };
  const io: PingAnswererIo = {
    noise: rec("noise"),
    http: rec("http"),
    log: (l) => logs.push(l),
  };
  if (withDisco) {
    io.discoPing = (ip) => Promise.resolve({ Type: "disco", IP: ip, LatencySeconds: 0.002 });
  }
  return { io, calls, logs };
}

Deno.test("PingAnswerer: HEAD over plain HTTP or Noise, each URL once", async () => {
  const { io, calls } = fakeIo();
  const a = new PingAnswerer(io);
  await a.answer({ URL: "https://ctl/machine/ping-response?id=1" });
  assert.equal(a.answer({ URL: "https://ctl/machine/ping-response?id=1" }), null);
  await a.answer({ URL: "https://ctl/machine/ping-response?id=2", URLIsNoise: true });
  assert.equal(a.answer({ URL: "" }), null);
  assert.equal(a.answer(null), null);
  assert.deepEqual(calls, [
    { via: "http", method: "HEAD", url: "https://ctl/machine/ping-response?id=1", body: null },
    { via: "noise", method: "HEAD", url: "https://ctl/machine/ping-response?id=2", body: null },
  ]);
});

Deno.test("PingAnswerer: c2n runs the payload and POSTs the response over Noise", async () => {
  const { io, calls } = fakeIo();
  const payload = "POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi";
  await new PingAnswerer(io).answer({
    URL: "https://ctl/c2n/1",
    Types: "c2n",
    Payload: encodeBase64(new TextEncoder().encode(payload)),
  });
  assert.deepEqual(calls, [{
    via: "noise",
    method: "POST",
    url: "https://ctl/c2n/1",
    body: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
  }]);
});

Deno.test("PingAnswerer: disco pings report JSON; other types are logged, not answered", async () => {
  const { io, calls, logs } = fakeIo();
  await new PingAnswerer(io).answer({
    URL: "https://ctl/p/3",
    Types: "disco,TSMP",
    IP: "100.64.0.2",
    URLIsNoise: true,
  });
  assert.equal(calls.length, 1);
  assert.equal(calls[0].via, "noise");
  assert.equal(calls[0].method, "POST");
  assert.deepEqual(JSON.parse(calls[0].body!), {
    Type: "disco",
    IP: "100.64.0.2",
    LatencySeconds: 0.002,
  });
  assert.ok(logs.some((l) => /unsupported ping type "TSMP"/.test(l)), logs.join("\n"));

  const none = fakeIo(false);
  await new PingAnswerer(none.io).answer({ URL: "https://ctl/p/4", Types: "disco", IP: "x" });
  assert.equal(none.calls.length, 0);
  assert.ok(none.logs.some((l) => /needs an IP and a running data plane/.test(l)));
});

Deno.test("PingAnswerer: a bad c2n payload or a failed request is logged, never thrown", async () => {
  const { io, calls, logs } = fakeIo();
  const a = new PingAnswerer(io);
  await a.answer({
    URL: "https://ctl/c2n/bad",
    Types: "c2n",
    Payload: encodeBase64(new Uint8Array(3)),
  });
  assert.equal(calls.length, 0);
  assert.ok(logs.some((l) => l.startsWith("ping request https://ctl/c2n/bad:")), logs.join("\n"));
  io.http = () => Promise.reject(new Error("connection refused"));
  await a.answer({ URL: "https://ctl/p/5" });
  assert.ok(logs.some((l) => /connection refused/.test(l)));
});
