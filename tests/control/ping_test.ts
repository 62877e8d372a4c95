/**
 * Control-initiated pings end to end: the test server sends a PingRequest down
 * a real ControlSession's map stream (as Headscale's debug ping and HA prober
 * do) and the session answers over plain HTTP or the Noise channel.
 */
import assert from "node:assert/strict";
import { buildHostinfo } from "../../src/control/hostinfo.ts";
import { ControlSession } from "../../src/control/session.ts";
import { generateNodePrivate, publicFromPrivate } from "../../src/key/node_key.ts";
import { KeyState } from "../../src/key/state.ts";
import { TestControlServer } from "./server.ts";

async function withSession(
  fn: (srv: TestControlServer, nodeId: number, logs: string[]) => Promise<void>,
): Promise<void> {
  const srv = await TestControlServer.start({
    authKeys: ["k"],
    keepAliveMs: 60_000,
    derp: { urls: ["http://127.0.0.1:3340"] },
  });
  const logs: string[] = [];
  let running!: () => void;
  const isRunning = new Promise<void>((r) => running = r);
  const session = new ControlSession({
    controlUrl: srv.url,
    state: await KeyState.open("mem:"),
    hostinfo: buildHostinfo({ backendLogID: "ab".repeat(32), hostname: "pinged" }),
    discoKey: publicFromPrivate(generateNodePrivate()),
    authKey: "k",
    discoPing: (ip) => Promise.resolve({ Type: "disco", IP: ip, LatencySeconds: 0.001 }),
    log: (l) => logs.push(l),
    onState: (s) => s === "Running" && running(),
  });
  try {
    await session.start();
    await isRunning;
    await fn(srv, srv.nodes()[0].id, logs);
  } finally {
    await session.close();
    await srv.close();
  }
}

Deno.test("a PingRequest without Types is answered with HEAD, plain or over Noise", async () => {
  await withSession(async (srv, id, logs) => {
    const plain = await srv.ping(id, {});
    assert.equal(plain?.method, "HEAD");
    assert.equal(plain?.overNoise, false);
    const noise = await srv.ping(id, { noise: true });
    assert.equal(noise?.method, "HEAD");
    assert.equal(noise?.overNoise, true);
    assert.ok(logs.some((l) => /HEAD answered with 200/.test(l)), logs.join("\n"));
  });
});

Deno.test("a c2n PingRequest runs /echo and POSTs the HTTP response over Noise", async () => {
  await withSession(async (srv, id) => {
    const echo = await srv.ping(id, {
      types: "c2n",
      payload: "POST /echo HTTP/1.1\r\nHost: n\r\nContent-Length: 11\r\n\r\nare you up?",
    });
    assert.equal(echo?.method, "POST");
    assert.equal(echo?.overNoise, true);
    assert.equal(echo?.body, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nare you up?");
    const unknown = await srv.ping(id, { types: "c2n", payload: "GET /nope HTTP/1.1\r\n\r\n" });
    assert.match(unknown?.body ?? "", /^HTTP\/1\.1 400 Bad Request\r\n[^]*unknown c2n path\n$/);
  });
});

Deno.test("a disco PingRequest POSTs the PingResponse JSON", async () => {
  await withSession(async (srv, id) => {
    const r = await srv.ping(id, { types: "disco", ip: "100.64.0.9", noise: true });
    assert.equal(r?.method, "POST");
    assert.deepEqual(JSON.parse(r!.body), {
      Type: "disco",
      IP: "100.64.0.9",
      LatencySeconds: 0.001,
    });
  });
});
