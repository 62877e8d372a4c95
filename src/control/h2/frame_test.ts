import assert from "node:assert/strict";
import {
  encodeFrame,
  encodeGoaway,
  encodeSettings,
  ErrorCode,
  Flag,
  framePayload,
  FrameReader,
  FrameType,
  H2Error,
  parseSettings,
} from "./frame.ts";
import { decodeGoaway, headerFrames, RecvWindow } from "./control_frames.ts";

Deno.test("h2 frames: the reader reassembles frames split anywhere across chunks", () => {
  const a = encodeFrame(FrameType.DATA, Flag.END_STREAM, 3, new Uint8Array([1, 2, 3]));
  const b = encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8).fill(7));
  const all = new Uint8Array([...a, ...b]);
  for (let cut = 0; cut <= all.length; cut++) {
    const r = new FrameReader();
    const got = [];
    for (const part of [all.subarray(0, cut), all.subarray(cut)]) {
      r.push(part);
      for (let f = r.next(16384); f !== null; f = r.next(16384)) got.push(f);
    }
    assert.deepEqual(got.map((f) => [f.type, f.flags, f.streamId, [...f.payload]]), [
      [0, 1, 3, [1, 2, 3]],
      [6, 0, 0, [7, 7, 7, 7, 7, 7, 7, 7]],
    ]);
    assert.equal(r.buffered, 0);
  }
});

Deno.test("h2 frames: the reserved bit is ignored, oversize frames and bad padding are errors", () => {
  const f = encodeFrame(FrameType.DATA, 0, 5, new Uint8Array(0));
  f[5] |= 0x80;
  const r = new FrameReader();
  r.push(f);
  assert.equal(r.next(16384)?.streamId, 5);
  r.push(encodeFrame(FrameType.DATA, 0, 1, new Uint8Array(16385)));
  assert.throws(
    () => r.next(16384),
    (e) => e instanceof H2Error && e.code === ErrorCode.FRAME_SIZE_ERROR,
  );
  const padded = {
    type: FrameType.DATA,
    flags: Flag.PADDED,
    streamId: 1,
    payload: new Uint8Array([2, 9, 0, 0]),
  };
  assert.deepEqual([...framePayload(padded)], [9]);
  padded.payload = new Uint8Array([4, 9]);
  assert.throws(
    () => framePayload(padded),
    (e) => e instanceof H2Error && e.code === ErrorCode.PROTOCOL_ERROR,
  );
  const prio = {
    type: FrameType.HEADERS,
    flags: Flag.PRIORITY,
    streamId: 1,
    payload: new Uint8Array([0, 0, 0, 0, 16, 0x88]),
  };
  assert.deepEqual([...framePayload(prio)], [0x88]);
});

Deno.test("h2 frames: SETTINGS and GOAWAY round-trip; a header block splits into CONTINUATIONs", () => {
  const pairs: Array<[number, number]> = [[4, 0x7fffffff], [5, 16384]];
  assert.deepEqual(parseSettings(encodeSettings(pairs)), pairs);
  assert.throws(() => parseSettings(new Uint8Array(7)), H2Error);
  const g = decodeGoaway({
    type: FrameType.GOAWAY,
    flags: 0,
    streamId: 0,
    payload: encodeGoaway(7, 2, "bye"),
  });
  assert.equal(g.lastStreamId, 7);
  assert.equal(g.reason.code, 2);
  assert.match(g.reason.message, /INTERNAL_ERROR: bye/);
  const r = new FrameReader();
  r.push(headerFrames(1, new Uint8Array(40000).fill(1), true, 16384));
  const frames = [];
  for (let f = r.next(16384); f !== null; f = r.next(16384)) frames.push(f);
  assert.deepEqual(frames.map((f) => [f.type, f.flags, f.payload.length]), [
    [FrameType.HEADERS, Flag.END_STREAM, 16384],
    [FrameType.CONTINUATION, 0, 16384],
    [FrameType.CONTINUATION, Flag.END_HEADERS, 7232],
  ]);
  r.push(headerFrames(3, new Uint8Array(0), false, 16384));
  assert.deepEqual(r.next(16384)?.flags, Flag.END_HEADERS);
});

Deno.test("h2 frames: a receive window announces consumed bytes once they reach half of it", () => {
  const w = new RecvWindow(100);
  assert.ok(w.take(60));
  assert.ok(!w.take(41));
  assert.equal(w.release(30), 0);
  assert.equal(w.release(30), 60);
  assert.equal(w.available, 100);
});
