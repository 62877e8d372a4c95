import assert from "node:assert/strict";
import { type AddrPort, formatAddrPort, parseAddrPort } from "./addr.ts";
import { PeerPath, type PeerPathOptions } from "./path.ts";
import type { DiscoAction, PathState } from "./path_types.ts";
import { DEFAULT_DISCO_TUNABLES, discoTunables } from "./tunables.ts";

const PUB = parseAddrPort("203.0.113.7:41641");
const LAN = parseAddrPort("192.168.1.7:41641");
const PUB2 = parseAddrPort("198.51.100.7:41641");

type PingAction = Extract<DiscoAction, { kind: "ping" }>;
type PathAction = Extract<DiscoAction, { kind: "path" }>;

function counterTx(): () => Uint8Array {
  let n = 0;
  return () => {
    const t = new Uint8Array(12);
    new DataView(t.buffer).setUint32(8, ++n);
    return t;
  };
}

function newPath(opts?: PeerPathOptions): PeerPath {
  return new PeerPath({ randomTxId: counterTx(), ...opts });
}

const pings = (as: readonly DiscoAction[]) => as.filter((a): a is PingAction => a.kind === "ping");
const pingedTo = (as: readonly DiscoAction[]) => pings(as).map((p) => formatAddrPort(p.to)).sort();
const states = (as: readonly DiscoAction[]) =>
  as.filter((a): a is PathAction => a.kind === "path").map((a) => a.state);
const hasCmm = (as: readonly DiscoAction[]) => as.some((a) => a.kind === "call-me-maybe");
const udp = (addr: AddrPort) => ({ kind: "udp", addr }) as const;

/** Answers the ping sent to `to` in `actions` at time `now`. */
function pongFor(p: PeerPath, actions: readonly DiscoAction[], to: AddrPort, now: number) {
  const ping = pings(actions).find((a) => formatAddrPort(a.to) === formatAddrPort(to));
  assert.ok(ping, `no ping to ${formatAddrPort(to)}`);
  const out = p.handlePong(now, ping.txId, udp(to));
  assert.ok(out !== null, "pong TxID not recognised");
  return out;
}

Deno.test("PeerPath starts unknown and sends over DERP only", () => {
  const p = newPath();
  assert.equal(p.state, "unknown");
  assert.deepEqual(p.sendPath(0), { udp: null, derp: true });
  // No candidates: nothing to ping, no CallMeMaybe, still unknown.
  assert.deepEqual(p.noteSend(0), []);
  assert.equal(p.state, "unknown");
});

Deno.test("noteSend() pings every candidate, asks for a CallMeMaybe and moves to probing", () => {
  const p = newPath();
  p.setEndpoints(0, [PUB, LAN]);
  const out = p.noteSend(0);
  assert.deepEqual(pingedTo(out), [formatAddrPort(PUB), formatAddrPort(LAN)].sort());
  assert.ok(pings(out).every((a) => a.purpose === "discovery"));
  assert.ok(hasCmm(out));
  assert.deepEqual(states(out), ["probing"]);
  assert.deepEqual(p.sendPath(0), { udp: null, derp: true });
});

Deno.test("noteSend() pings an endpoint at most once per discoPingInterval", () => {
  const p = newPath();
  p.setEndpoints(0, [PUB]);
  assert.equal(pings(p.noteSend(0)).length, 1);
  const quiet = p.noteSend(4_999);
  assert.equal(pings(quiet).length, 0);
  assert.ok(!hasCmm(quiet), "no CallMeMaybe when no ping went out");
  // A new netmap endpoint is pinged at once; the throttled one is not.
  p.setEndpoints(1_000, [PUB, LAN]);
  const lan = p.noteSend(1_000);
  assert.deepEqual(pingedTo(lan), [formatAddrPort(LAN)]);
  pongFor(p, lan, LAN, 1_010);
  // Direct but no longer trusted (no heartbeats were run): rediscovery, throttled.
  assert.deepEqual(pingedTo(p.noteSend(8_000)), [formatAddrPort(PUB), formatAddrPort(LAN)].sort());
  assert.deepEqual(pingedTo(p.noteSend(12_999)), []);
  assert.deepEqual(pingedTo(p.noteSend(13_000)).length, 2);
});

Deno.test("a pong makes the path direct and trusted for trustUDPAddrDuration", () => {
  const p = newPath();
  p.setEndpoints(0, [PUB]);
  const sent = p.noteSend(0);
  const out = pongFor(p, sent, PUB, 30);
  assert.deepEqual(states(out), ["direct"]);
  const change = out.find((a): a is PathAction => a.kind === "path")!;
  assert.equal(change.latency, 30);
  assert.equal(change.previousState, "probing");
  assert.equal(p.bestLatency, 30);
  assert.deepEqual(p.sendPath(30), { udp: PUB, derp: false });
  assert.deepEqual(p.sendPath(30 + 6_500), { udp: PUB, derp: false });
  // Trust lapses without a fresh pong: keep UDP but add DERP, and rediscover on send.
  assert.deepEqual(p.sendPath(30 + 6_501), { udp: PUB, derp: true });
  assert.ok(pings(p.noteSend(30 + 6_501)).length > 0);
  // While trusted, sends cost nothing.
  const q = newPath();
  q.setEndpoints(0, [PUB]);
  pongFor(q, q.noteSend(0), PUB, 10);
  assert.equal(q.noteSend(100).length, 0);
});

Deno.test("handlePong() returns null for unknown TxIDs and ignores pongs over DERP", () => {
  const p = newPath();
  p.setEndpoints(0, [PUB]);
  const sent = p.noteSend(0);
  assert.equal(p.handlePong(10, new Uint8Array(12).fill(9), udp(PUB)), null);
  const ping = pings(sent)[0];
  assert.deepEqual(p.handlePong(10, ping.txId, { kind: "derp", region: 1 }), []);
  assert.equal(p.state, "probing");
  // The TxID was consumed.
  assert.equal(p.handlePong(11, ping.txId, udp(PUB)), null);
});

Deno.test("betterAddr decides between verified paths; an untrusted best yields to any pong", () => {
  const p = newPath();
  p.setEndpoints(0, [PUB, LAN, PUB2]);
  const sent = p.noteSend(0);
  pongFor(p, sent, PUB, 20);
  assert.deepEqual(p.best, PUB);
  // LAN is 5 % slower but private: switch.
  const sw = pongFor(p, sent, LAN, 21);
  assert.deepEqual(p.best, LAN);
  const change = sw.find((a): a is PathAction => a.kind === "path")!;
  assert.deepEqual(change.previousBest, PUB);
  assert.equal(change.state, "direct");
  // A slower public path does not displace a trusted best.
  assert.deepEqual(pongFor(p, sent, PUB2, 40), []);
  assert.deepEqual(p.best, LAN);

  // Once trust lapsed, a worse path that answers wins (the best may be dead).
  const later = p.noteSend(20_000);
  pongFor(p, later, PUB2, 20_050);
  assert.deepEqual(p.best, PUB2);
});

Deno.test("probing becomes relay-only when every ping times out, then reprobes every 25 s", () => {
  const p = newPath();
  p.setEndpoints(0, [PUB]);
  p.noteSend(0);
  assert.equal(p.nextTimerAt(), 2_000); // first heartbeat tick precedes the 5 s ping timeout
  assert.deepEqual(p.tick(4_999).filter((a) => a.kind === "path"), []);
  assert.equal(p.state, "probing");
  assert.deepEqual(states(p.tick(5_000)), ["relay-only"]);
  assert.deepEqual(p.sendPath(5_000), { udp: null, derp: true });
  // Traffic keeps the session active; neither sends nor ticks reprobe before 25 s.
  for (let t = 5_000; t < 25_000; t += 500) {
    assert.equal(pings(p.noteSend(t)).length, 0, `no ping at ${t}`);
    assert.equal(pings(p.tick(t)).length, 0, `no ping on tick at ${t}`);
  }
  const re = p.tick(26_000);
  assert.deepEqual(pingedTo(re), [formatAddrPort(PUB)]);
  assert.ok(hasCmm(re));
  assert.equal(p.state, "relay-only");
  // A pong to the reprobe brings it straight back to direct.
  assert.deepEqual(states(pongFor(p, re, PUB, 26_040)), ["direct"]);
});

Deno.test("direct becomes degraded after 3 missed heartbeats, relay-only after 10 s without pong", () => {
  const p = newPath();
  p.setEndpoints(0, [PUB]);
  pongFor(p, p.noteSend(0), PUB, 10);
  const seen: PathState[] = [];
  let lastHeartbeats: PingAction[] = [];
  // Heartbeats at 2 s, 4 s, … are answered until t = 4 s, then the path goes dark.
  for (let t = 100; t <= 16_000; t += 100) {
    seen.push(...states(p.noteSend(t)));
    const out = p.tick(t);
    seen.push(...states(out));
    lastHeartbeats = pings(out).filter((a) => a.purpose === "heartbeat");
    if (t <= 4_000) { for (const hb of lastHeartbeats) p.handlePong(t + 5, hb.txId, udp(PUB)); }
    if (t === 6_000) assert.equal(p.state, "direct");
    if (p.state === "degraded") {
      assert.deepEqual(p.sendPath(t), { udp: PUB, derp: true }, "degraded sends both ways");
    }
  }
  // Last pong at 4005: misses counted at 8 s, 10 s, 12 s; no pong for 10 s at 14005.
  assert.deepEqual(seen, ["degraded", "relay-only"]);
  assert.equal(p.best, null);
  assert.deepEqual(p.sendPath(16_000), { udp: null, derp: true });
});

Deno.test("heartbeat misses are counted at the next heartbeat, and each only once", () => {
  const p = newPath();
  p.setEndpoints(0, [PUB]);
  pongFor(p, p.noteSend(0), PUB, 10);
  p.noteSend(10);
  // Last pong at 10 ms. Heartbeats at 2010, 4010, 6010 go unanswered.
  const at = (t: number) => {
    p.noteSend(t);
    return p.tick(t);
  };
  assert.equal(pings(at(2_010)).filter((a) => a.purpose === "heartbeat").length, 1);
  at(4_010); // miss 1 (the 2010 heartbeat), trust still valid until 6510
  assert.equal(p.state, "direct");
  at(6_010); // miss 2
  assert.equal(p.state, "direct");
  at(7_010); // the 2010 ping times out: already counted, no third miss
  assert.equal(p.state, "direct");
  const out = at(8_010);
  assert.deepEqual(states(out), ["degraded"]); // miss 3
  // A late pong to the 8010 heartbeat (still within its timeout): direct again.
  const hb = pings(out).find((a) => a.purpose === "heartbeat");
  assert.ok(hb, "degraded keeps heartbeating the best path");
  assert.deepEqual(states(p.handlePong(9_900, hb.txId, udp(PUB))!), ["direct"]);
  assert.deepEqual(p.sendPath(9_900), { udp: PUB, derp: false });
});

Deno.test("heartbeats stop when the session is idle for sessionActiveTimeout", () => {
  const p = newPath();
  p.setEndpoints(0, [PUB]);
  pongFor(p, p.noteSend(0), PUB, 1);
  let heartbeats = 0;
  for (let t = 100; t <= 120_000; t += 100) {
    const out = p.tick(t);
    for (const a of pings(out)) p.handlePong(t + 1, a.txId, udp(PUB));
    heartbeats += pings(out).filter((a) => a.purpose === "heartbeat").length;
  }
  // One heartbeat every 2 s until 45 s after the only send.
  assert.equal(heartbeats, 22);
  assert.equal(p.nextTimerAt(), null);
  assert.equal(p.state, "direct");
  // Idle long enough that trust lapsed: DERP is added back, the path is not dropped.
  assert.deepEqual(p.sendPath(120_000), { udp: PUB, derp: true });
});

Deno.test("a slow direct path looks for a better one every upgradeUDPDirectInterval", () => {
  const p = newPath();
  p.setEndpoints(0, [PUB, PUB2]);
  const sent = p.noteSend(0);
  pongFor(p, sent, PUB, 50); // 50 ms > goodEnoughLatency
  pongFor(p, sent, PUB2, 80);
  const discovery: string[] = [];
  for (let t = 100; t <= 61_000; t += 100) {
    p.noteSend(t);
    const out = p.tick(t);
    for (const a of pings(out)) p.handlePong(t + 50, a.txId, udp(a.to));
    for (const a of pings(out)) {
      if (a.purpose === "discovery") discovery.push(`${t} ${formatAddrPort(a.to)}`);
    }
  }
  // At 60 s: the best was just heartbeated (so not pinged again), the other is.
  assert.deepEqual(discovery, [`60000 ${formatAddrPort(PUB2)}`]);
  assert.deepEqual(p.best, PUB);
});

Deno.test("handleCallMeMaybe() replaces its endpoints, skips IPv6 link-local and pings at once", () => {
  const p = newPath();
  p.setEndpoints(0, [PUB]);
  p.noteSend(0); // PUB pinged at 0: throttled until 5 s
  const cmm1 = [LAN, parseAddrPort("[fe80::1]:41641"), parseAddrPort("[2001:db8::7]:41641")];
  const out = p.handleCallMeMaybe(1_000, cmm1);
  assert.deepEqual(
    pingedTo(out),
    [formatAddrPort(PUB), formatAddrPort(LAN), "[2001:db8::7]:41641"].sort(),
    "throttles reset: PUB pinged again; link-local skipped",
  );
  assert.ok(!hasCmm(out), "no CallMeMaybe back");
  assert.equal(p.candidates().length, 3);
  // A second CallMeMaybe replaces the first set; the netmap endpoint stays.
  p.handleCallMeMaybe(2_000, [PUB2]);
  const cands = p.candidates().map((c) => formatAddrPort(c.addr)).sort();
  assert.deepEqual(cands, [formatAddrPort(PUB), formatAddrPort(PUB2)].sort());
  const pub = p.candidates().find((c) => formatAddrPort(c.addr) === formatAddrPort(PUB))!;
  assert.equal(pub.fromNetmap, true);
  assert.equal(pub.fromCallMeMaybe, false);
});

Deno.test("handleCallMeMaybe() from an unknown peer state starts probing", () => {
  const p = newPath();
  const out = p.handleCallMeMaybe(0, [PUB]);
  assert.deepEqual(pingedTo(out), [formatAddrPort(PUB)]);
  assert.deepEqual(states(out), ["probing"]);
  assert.deepEqual(states(pongFor(p, out, PUB, 12)), ["direct"]);
});

Deno.test("handlePing() answers the way it came and learns UDP sources", () => {
  const p = newPath();
  const tx = new Uint8Array(12).fill(1);
  const out = p.handlePing(0, tx, udp(PUB));
  assert.deepEqual(out[0], { kind: "pong", via: udp(PUB), txId: tx, src: PUB });
  assert.deepEqual(
    pingedTo(out),
    [formatAddrPort(PUB)],
    "an untrusted source is pinged back at once",
  );
  assert.deepEqual(p.candidates().map((c) => formatAddrPort(c.addr)), [formatAddrPort(PUB)]);
  assert.equal(p.candidates()[0].lastGotPing, 0);
  // The same ping delivered twice is answered once.
  assert.deepEqual(p.handlePing(5, tx, udp(PUB)), []);
  assert.equal(p.handlePing(6, new Uint8Array(12).fill(2), udp(PUB)).length, 1);
  // Over DERP: pong via DERP reporting 127.3.3.40:<region>; no candidate learned.
  const d = p.handlePing(7, tx, { kind: "derp", region: 9 });
  assert.deepEqual(d, [{
    kind: "pong",
    via: { kind: "derp", region: 9 },
    txId: tx,
    src: { ip: new Uint8Array([127, 3, 3, 40]), port: 9 },
  }]);
  assert.equal(p.candidates().length, 1);
  // A learned source is pinged again on send once the throttle allows, and forgotten 45 s
  // after its last ping.
  assert.deepEqual(pingedTo(p.noteSend(10)), []);
  assert.deepEqual(pingedTo(p.noteSend(5_001)), [formatAddrPort(PUB)]);
  p.noteSend(45_006);
  assert.equal(p.candidates().length, 1);
  p.noteSend(45_007);
  assert.equal(p.candidates().length, 0);
});

Deno.test("setEndpoints() dropping the best path returns the peer to DERP", () => {
  const p = newPath();
  p.setEndpoints(0, [PUB]);
  pongFor(p, p.noteSend(0), PUB, 10);
  assert.equal(p.state, "direct");
  const out = p.setEndpoints(100, [LAN]);
  assert.deepEqual(states(out), ["unknown"]);
  assert.equal(p.best, null);
  assert.deepEqual(p.sendPath(100), { udp: null, derp: true });
  // An endpoint from the netmap and from a ping stays while either source remains.
  p.handlePing(200, new Uint8Array(12).fill(3), udp(LAN));
  p.setEndpoints(300, []);
  assert.equal(p.candidates().length, 1);
});

Deno.test("reset() forgets paths and probes but keeps candidates", () => {
  const p = newPath();
  p.setEndpoints(0, [PUB]);
  const sent = p.noteSend(0);
  pongFor(p, sent, PUB, 10);
  const out = p.reset(20);
  assert.deepEqual(states(out), ["unknown"]);
  assert.equal(p.nextTimerAt(), null);
  assert.equal(p.handlePong(30, pings(sent)[0].txId, udp(PUB)), null);
  assert.deepEqual(pingedTo(p.noteSend(40)), [formatAddrPort(PUB)], "throttle forgotten");
});

Deno.test("forgetPing() drops a ping that could not be sent", () => {
  const p = newPath();
  p.setEndpoints(0, [PUB]);
  const sent = p.noteSend(0);
  p.forgetPing(pings(sent)[0].txId);
  assert.equal(p.handlePong(1, pings(sent)[0].txId, udp(PUB)), null);
  // Nothing in flight any more: the next tick gives up on probing.
  assert.deepEqual(states(p.tick(1)), ["relay-only"]);
});

Deno.test("discoTunables() applies overrides and rejects nonsense", () => {
  assert.equal(DEFAULT_DISCO_TUNABLES.heartbeatInterval, 2_000);
  assert.equal(DEFAULT_DISCO_TUNABLES.reprobeInterval, 25_000);
  assert.equal(DEFAULT_DISCO_TUNABLES.probeTimeout, 5_000);
  assert.equal(DEFAULT_DISCO_TUNABLES.degradedAfterFailures, 3);
  assert.equal(DEFAULT_DISCO_TUNABLES.degradedTimeout, 10_000);
  assert.equal(discoTunables({ heartbeatInterval: 500 }).heartbeatInterval, 500);
  assert.throws(() => discoTunables({ probeTimeout: -1 }), RangeError);
  assert.throws(() => discoTunables({ degradedTimeout: NaN }), RangeError);
  assert.throws(() => discoTunables({ degradedAfterFailures: 0 }), RangeError);
  assert.throws(() => discoTunables({ degradedAfterFailures: 1.5 }), RangeError);
  assert.equal(newPath({ tunables: { reprobeInterval: 1 } }).tunables.reprobeInterval, 1);
});

Deno.test("handlePing() does not ping back a source that is already the trusted best path", () => {
  const p = newPath();
  p.setEndpoints(0, [PUB]);
  pongFor(p, p.noteSend(0), PUB, 10);
  assert.equal(p.state, "direct");
  const out = p.handlePing(20, new Uint8Array(12).fill(9), udp(PUB));
  assert.deepEqual(pingedTo(out), []);
  assert.equal(out.length, 1);
});

Deno.test("probe() pings every candidate at once, throttles notwithstanding", () => {
  const p = newPath();
  p.setEndpoints(0, [PUB, PUB2]);
  assert.equal(pingedTo(p.noteSend(0)).length, 2);
  assert.deepEqual(pingedTo(p.noteSend(1)), [], "throttled");
  assert.deepEqual(pingedTo(p.probe(2)).sort(), [formatAddrPort(PUB), formatAddrPort(PUB2)].sort());
});
