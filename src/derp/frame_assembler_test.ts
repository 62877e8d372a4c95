import assert from "node:assert/strict";
import { FrameAssembler } from "./frame_assembler.ts";
import { encodeFrame, type Frame, FrameTooLargeError } from "./frame.ts";
import { encodeKeepAlive, encodeServerKey } from "./messages.ts";
import { FrameType } from "./constants.ts";

function stream(): { bytes: Uint8Array; frames: Frame[] } {
  const frames: Frame[] = [
    { type: FrameType.KeepAlive, payload: new Uint8Array(0) },
    { type: FrameType.SendPacket, payload: new Uint8Array(1300).map((_, i) => i) },
    { type: FrameType.Ping, payload: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
    { type: FrameType.NotePreferred, payload: new Uint8Array([1]) },
  ];
  const parts = frames.map((f) => encodeFrame(f.type, f.payload));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    bytes.set(p, off);
    off += p.length;
  }
  return { bytes, frames };
}

function feed(bytes: Uint8Array, cut: (i: number) => number): Frame[] {
  const a = new FrameAssembler();
  const got: Frame[] = [];
  // Chunks are reused buffers in real use: overwrite each after the call.
  const scratch = new Uint8Array(bytes.length);
  for (let off = 0, i = 0; off < bytes.length; i++) {
    const n = Math.min(cut(i), bytes.length - off);
    scratch.set(bytes.subarray(off, off + n));
    a.push(scratch.subarray(0, n), 1 << 20, (f) => {
      got.push(f);
    });
    scratch.fill(0xee);
    off += n;
  }
  assert.equal(a.partial, false);
  return got;
}

Deno.test("FrameAssembler yields the same frames however the stream is cut", () => {
  const { bytes, frames } = stream();
  assert.deepEqual(feed(bytes, () => bytes.length), frames);
  assert.deepEqual(feed(bytes, () => 1), frames);
  assert.deepEqual(feed(bytes, () => 3), frames);
  assert.deepEqual(feed(bytes, (i) => [5, 700, 2, 640, 9][i % 5]), frames);
  for (let cut = 1; cut < bytes.length; cut += 97) {
    assert.deepEqual(feed(bytes, (i) => (i === 0 ? cut : bytes.length)), frames, `cut ${cut}`);
  }
});

Deno.test("FrameAssembler decodes a real ServerKey frame and reports a split one as partial", () => {
  const key = encodeServerKey(new Uint8Array(32).fill(7));
  const a = new FrameAssembler();
  const got: Frame[] = [];
  a.push(key.subarray(0, 20), 1024, (f) => {
    got.push(f);
  });
  assert.equal(a.partial, true);
  assert.equal(got.length, 0);
  a.push(key.subarray(20), 1024, (f) => {
    got.push(f);
  });
  assert.equal(a.partial, false);
  assert.equal(got[0].type, FrameType.ServerKey);
  assert.deepEqual(got[0].payload, key.subarray(5));
});

Deno.test("FrameAssembler rejects a header over the limit, whole or split", () => {
  const big = new Uint8Array([FrameType.SendPacket, 0, 0x20, 0, 0]);
  assert.throws(() => new FrameAssembler().push(big, 65536, () => {}), FrameTooLargeError);
  const a = new FrameAssembler();
  a.push(big.subarray(0, 2), 65536, () => {});
  assert.throws(() => a.push(big.subarray(2), 65536, () => {}), /over the limit of 65536/);
  // A header at the end of a chunk is checked before its payload arrives.
  const tail = new Uint8Array([...encodeKeepAlive(), ...big]);
  assert.throws(() => new FrameAssembler().push(tail, 65536, () => {}), FrameTooLargeError);
});

Deno.test("FrameAssembler stops when the callback returns false", () => {
  const { bytes } = stream();
  const seen: number[] = [];
  new FrameAssembler().push(bytes, 1 << 20, (f) => {
    seen.push(f.type);
    return seen.length < 2;
  });
  assert.deepEqual(seen, [FrameType.KeepAlive, FrameType.SendPacket]);
});
