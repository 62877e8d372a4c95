import assert from "node:assert/strict";
import { BufferPool, ServerClient } from "./server_client.ts";
import { DerpMetrics } from "./metrics.ts";
import { decodeFrames } from "./frame.ts";
import { FrameType } from "./constants.ts";

/** A connection whose writes block until released, recording what was written. */
function gatedConn() {
  const written: Uint8Array[] = [];
  let release: (() => void) | null = null;
  let gate = new Promise<void>((r) => (release = r));
  return {
    written,
    open() {
      release?.();
    },
    reset() {
      gate = new Promise<void>((r) => (release = r));
    },
    conn: {
      read: () => new Promise<number | null>(() => {}),
      async write(p: Uint8Array) {
        await gate;
        written.push(p.slice());
        return p.length;
      },
      close() {},
    },
  };
}

function client(conn: ReturnType<typeof gatedConn>["conn"], metrics: DerpMetrics, depth = 32) {
  return new ServerClient({
    key: new Uint8Array(32),
    id: "x",
    conn,
    info: {},
    canMesh: false,
    remoteHost: "127.0.0.1",
    remotePort: 1,
    notIdeal: false,
    writeTimeoutMs: 2000,
    shared: { queueDepth: depth, metrics, pool: new BufferPool() },
  }, 3);
}

Deno.test("ServerClient bounds each queue and drops the oldest packets with a counter", async () => {
  const g = gatedConn();
  const m = new DerpMetrics();
  const c = client(g.conn, m, 4);
  const src = new Uint8Array(32).fill(5);
  for (let i = 0; i < 10; i++) c.enqueuePacket(src, new Uint8Array([i]), false);
  for (let i = 0; i < 6; i++) c.enqueuePacket(src, new Uint8Array([100 + i]), true);
  assert.equal(c.queued, 8);
  assert.equal(m.drops.get("queue_head"), 8);
  c.start();
  g.open();
  await new Promise((r) => setTimeout(r, 20));
  const frames = decodeFrames(new Uint8Array(g.written.flatMap((w) => [...w])));
  // Disco first (priority queue), newest four of each kind.
  assert.deepEqual(frames.map((f) => f.payload[32]), [102, 103, 104, 105, 6, 7, 8, 9]);
  assert.ok(frames.every((f) => f.type === FrameType.RecvPacket));
  assert.equal(m.packetsSent, 8);
  c.close();
  await c.whenClosed();
});

Deno.test("ServerClient writes control frames before packets and keeps one pending pong", async () => {
  const g = gatedConn();
  const m = new DerpMetrics();
  const c = client(g.conn, m);
  c.enqueuePacket(new Uint8Array(32), new Uint8Array([1]), false);
  c.enqueuePong(new Uint8Array(8).fill(1));
  c.enqueuePong(new Uint8Array(8).fill(2)); // dropped: one already pending
  c.enqueueControl(new Uint8Array([FrameType.KeepAlive, 0, 0, 0, 0]));
  c.start();
  g.open();
  await new Promise((r) => setTimeout(r, 20));
  const frames = decodeFrames(new Uint8Array(g.written.flatMap((w) => [...w])));
  assert.deepEqual(frames.map((f) => f.type), [
    FrameType.KeepAlive,
    FrameType.Pong,
    FrameType.RecvPacket,
  ]);
  assert.deepEqual(frames[1].payload, new Uint8Array(8).fill(1));
  c.close();
  c.enqueuePacket(new Uint8Array(32), new Uint8Array([1]), false);
  assert.equal(m.drops.get("gone_disconnected"), 1);
  await c.whenClosed();
});

Deno.test("ServerClient sends a packet larger than its write buffer on its own", async () => {
  const g = gatedConn();
  const m = new DerpMetrics();
  const c = client(g.conn, m);
  c.enqueuePacket(new Uint8Array(32), new Uint8Array(65536).fill(7), false);
  c.enqueuePacket(new Uint8Array(32), new Uint8Array([1]), false);
  c.start();
  g.open();
  await new Promise((r) => setTimeout(r, 20));
  const frames = decodeFrames(new Uint8Array(g.written.flatMap((w) => [...w])));
  assert.equal(frames.length, 2);
  assert.equal(frames[0].payload.length, 32 + 65536);
  assert.equal(m.bytesSent, 65537);
  c.close();
  await c.whenClosed();
});
