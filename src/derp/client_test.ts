import assert from "node:assert/strict";
import { DERP_WRITE_QUEUE_DEPTH, DerpClient } from "./client.ts";
import type { DuplexConn } from "./conn.ts";
import { FrameType } from "./constants.ts";
import { waitFor } from "./testing.ts";
import { generateNodePrivate, publicFromPrivate } from "../key/node_key.ts";

/** A connection that records what is written and whose writes wait while `stalled`. */
class RecordingConn implements DuplexConn {
  written: number[] = [];
  stalled = false;
  #waiting: (() => void)[] = [];
  write(p: Uint8Array): Promise<number> {
    const done = () => {
      this.written.push(...p);
      return p.length;
    };
    if (!this.stalled) return Promise.resolve(done());
    return new Promise((r) => this.#waiting.push(() => r(done())));
  }
  release(): void {
    this.stalled = false;
    for (const w of this.#waiting.splice(0)) w();
  }
  read(): Promise<number | null> {
    return new Promise(() => {}); // the server never speaks in these tests
  }
  close(): void {}
}

/** Splits the bytes written after the handshake into [type, payload] frames. */
function frames(b: number[]): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  const u = Uint8Array.from(b);
  const v = new DataView(u.buffer);
  for (let off = 0; off < u.length;) {
    const len = v.getUint32(off + 1);
    out.push([u[off], u.subarray(off + 5, off + 5 + len)]);
    off += 5 + len;
  }
  return out;
}

Deno.test("DerpClient.enqueue() keeps the newest 32 packets, drops and counts the older ones, never a control frame", async () => {
  const conn = new RecordingConn();
  const server = publicFromPrivate(generateNodePrivate());
  const c = await DerpClient.handshake(conn, {
    privateKey: generateNodePrivate(),
    serverPublic: server,
  });
  try {
    conn.written = []; // drop the ClientInfo
    conn.stalled = true;
    const dst = new Uint8Array(32).fill(9);
    // The first packet goes to the (stalled) socket; the rest wait in the queue.
    assert.ok(c.enqueue(dst, Uint8Array.of(0)));
    await Promise.resolve();
    await Promise.resolve();
    for (let i = 1; i < 100; i++) {
      assert.ok(c.enqueue(dst, Uint8Array.of(i)));
      if (i === 50) void c.ping(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    }
    assert.equal(c.dropped, 99 - DERP_WRITE_QUEUE_DEPTH);
    conn.release();
    await waitFor(() => c.pendingBytes === 0, "queue drained");
    const got = frames(conn.written);
    const packets = got.filter(([t]) => t === FrameType.SendPacket).map(([, p]) => p[32]);
    const want = [0, ...Array.from({ length: DERP_WRITE_QUEUE_DEPTH }, (_, i) => 100 - 32 + i)];
    assert.deepEqual(packets, want);
    assert.equal(got.filter(([t]) => t === FrameType.Ping).length, 1, "the ping is never shed");
  } finally {
    c.close();
  }
});

Deno.test("DerpClient.send() (awaited) is not subject to the enqueue() bound", async () => {
  const conn = new RecordingConn();
  const server = publicFromPrivate(generateNodePrivate());
  const c = await DerpClient.handshake(conn, {
    privateKey: generateNodePrivate(),
    serverPublic: server,
  });
  try {
    conn.written = [];
    const dst = new Uint8Array(32).fill(9);
    await Promise.all(Array.from({ length: 100 }, (_, i) => c.send(dst, Uint8Array.of(i))));
    assert.equal(frames(conn.written).length, 100);
    assert.equal(c.dropped, 0);
    c.close();
    assert.equal(c.enqueue(dst, Uint8Array.of(1)), false, "nothing queues on a closed client");
  } finally {
    c.close();
  }
});
