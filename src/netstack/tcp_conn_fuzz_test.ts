/**
 * Seeded fuzzing of TcpConn.input(): hostile segments — random flags, sequence
 * and acknowledgement numbers near and far from the live ones, SACK blocks,
 * timestamps, payloads — interleaved with poll() and tick() on an established
 * connection. Nothing may throw, the buffers stay within their bounds, and a
 * connection that survives still carries data afterwards.
 */
import assert from "node:assert/strict";
import { mulberry32 } from "../testing/prng.ts";
import { fuzzSettings } from "../testing/fuzz.ts";
import { TcpConn } from "./tcp_conn.ts";
import type { TcpOptions, TcpSegment } from "./tcp_segment.ts";
import { Link, runPair } from "./tcp_test_link.ts";

const { seed, scale } = fuzzSettings(0x7c9_0002);

function near(r: () => number, base: number): number {
  const k = r();
  if (k < 0.5) return (base + Math.floor((r() - 0.5) * 4 * 65536)) >>> 0;
  if (k < 0.7) return base >>> 0;
  return Math.floor(r() * 2 ** 32);
}

function hostile(r: () => number, a: TcpConn, b: TcpConn): TcpSegment {
  const o: TcpOptions = {};
  if (r() < 0.3) o.ts = { val: Math.floor(r() * 2 ** 32), ecr: Math.floor(r() * 2 ** 32) };
  if (r() < 0.3) {
    o.sack = Array.from({ length: 1 + Math.floor(r() * 3) }, () => {
      const s = near(r, b.sendNext);
      return { start: s, end: (s + Math.floor(r() * 20_000)) >>> 0 };
    });
  }
  if (r() < 0.05) o.mss = Math.floor(r() * 65536);
  return {
    srcPort: 40000,
    dstPort: 80,
    seq: near(r, b.receiveNext),
    ack: near(r, a.receiveNext === 0 ? 0 : b.sendNext),
    // RST rarely: an exact-sequence RST ends the case, as it should.
    flags: (Math.floor(r() * 256) & (r() < 0.7 ? 0x1f : 0xff) & ~0x04) | (r() < 0.01 ? 0x04 : 0),
    window: Math.floor(r() * 65536),
    urgent: 0,
    options: o,
    payload: new Uint8Array(r() < 0.5 ? 0 : Math.floor(r() * 1500)),
  };
}

Deno.test("fuzz: TcpConn.input() survives hostile segments and keeps its bounds", () => {
  const cases = Math.round(300 * scale);
  let survived = 0;
  for (let c = 0; c < cases; c++) {
    const r = mulberry32(seed + c);
    const cfg = { random: mulberry32(c), recvBufferBytes: 32 * 1024, oooBytes: 16 * 1024 };
    const a = TcpConn.connect(40000, 80, 0, cfg);
    const link = new Link({ seed: c });
    const [syn] = a.poll(0);
    const b = TcpConn.accept(syn, 1, cfg);
    let now = runPair(
      a,
      b,
      link,
      1,
      5_000,
      () => a.state === "ESTABLISHED" && b.state === "ESTABLISHED",
    );
    b.write(new Uint8Array(5000));
    for (let i = 0; i < 200; i++) {
      try {
        b.input(hostile(r, a, b), now);
        b.tick(now);
        b.poll(now);
      } catch (e) {
        throw new Error(`case ${c} (seed ${seed}) step ${i}: ${e}`);
      }
      assert.ok(b.outOfOrderBytes <= 16 * 1024, "out-of-order bound");
      assert.ok(b.readableBytes <= 32 * 1024, "receive buffer bound");
      now += Math.floor(r() * 50);
    }
    if (b.state !== "ESTABLISHED") continue;
    // A survivor still works with its real peer once the noise stops (the peer may find
    // its sequence space trampled by accepted junk: only demand no exceptions then).
    survived++;
    b.read();
    now = runPair(a, b, link, now, now + 30_000, () => false, () => {
      a.read();
      b.read();
    });
  }
  assert.ok(survived > cases / 10, `${survived} of ${cases} survived`);
});

Deno.test("blind injection: off-window segments of any kind do not disturb a transfer (RFC 5961)", () => {
  const r = mulberry32(seed ^ 0x5961);
  const cfg = { random: mulberry32(1) };
  const a = TcpConn.connect(40000, 80, 0, cfg);
  const link = new Link({ seed: 9, loss: 0.01 });
  const [syn] = a.poll(0);
  const b = TcpConn.accept(syn, 1, cfg);
  let now = runPair(
    a,
    b,
    link,
    1,
    5_000,
    () => b.state === "ESTABLISHED" && a.state === "ESTABLISHED",
  );
  const data = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
  let off = 0, got = 0, bad = 0, injected = 0;
  now = runPair(a, b, link, now, now + 120_000, () => got === data.length, (t) => {
    if (off < data.length) off += a.write(data.subarray(off));
    for (let x = b.read(); x.length > 0; x = b.read()) {
      for (let i = 0; i < x.length; i++) if (x[i] !== ((got + i) * 7 & 0xff)) bad++;
      got += x.length;
    }
    // Sequence numbers at least 2^30 from RCV.NXT are outside any window we offer.
    const junk = hostile(r, a, b);
    junk.seq = (b.receiveNext + 2 ** 30 + Math.floor(r() * 2 ** 30)) >>> 0;
    junk.flags |= [0, 0x04, 0x02, 0x12, 0x01][Math.floor(r() * 5)];
    b.input(junk, t);
    injected++;
  });
  assert.equal(got, data.length);
  assert.equal(bad, 0);
  assert.equal(b.state, "ESTABLISHED");
  assert.ok(injected > 100);
});
