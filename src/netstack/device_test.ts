import assert from "node:assert/strict";
import { Poller } from "../../ffi/poll.ts";
import type { Waker } from "../../ffi/eventfd.ts";
import { buildIcmpPacket } from "../net/packet.ts";
import { NetstackDevice } from "./device.ts";
import { IpInput } from "./ip_input.ts";
import { FakeClock } from "./types.ts";
import { TcpStack } from "./tcp_stack.ts";
import { packetFor } from "./tcp_packet.ts";
import { decodeTcpSegment, TCP_ACK, TCP_SYN, type TcpSegment } from "./tcp_segment.ts";

/** A waker that records its edges instead of touching an fd. */
class FakeWaker implements Waker {
  readonly fd = -1;
  raised = false;
  signals = 0;
  clears = 0;
  closed = false;
  signal() {
    this.raised = true;
    this.signals++;
  }
  clear() {
    this.raised = false;
    this.clears++;
  }
  close() {
    this.closed = true;
  }
}

const OFF = 16;
const bufs = (n: number, size = 2048) => Array.from({ length: n }, () => new Uint8Array(size));
const packet = (len: number, fill: number) => new Uint8Array(len).fill(fill);

Deno.test("NetstackDevice: emitted packets come out in order at the offset, and the wake follows the ring", () => {
  const waker = new FakeWaker();
  const dev = new NetstackDevice({ mtu: 1280, waker });
  assert.equal(dev.pending, false);
  assert.equal(dev.send(packet(100, 1)), true);
  assert.equal(waker.signals, 1, "raised on the empty-to-busy edge");
  assert.equal(dev.send(packet(1280, 2)), true);
  assert.equal(dev.send(packet(60, 3)), true);
  assert.equal(waker.signals, 1, "not again while raised");
  assert.equal(dev.pending, true);

  const b = bufs(2), sizes = [0, 0];
  assert.equal(dev.readBatch(b, sizes, OFF), 2);
  assert.deepEqual(sizes, [100, 1280]);
  assert.deepEqual(b[0].subarray(OFF, OFF + 100), packet(100, 1));
  assert.deepEqual(b[1].subarray(OFF, OFF + 1280), packet(1280, 2));
  assert.equal(waker.raised, true, "still raised: a packet is left");
  assert.equal(dev.readBatch(b, sizes, OFF), 1);
  assert.equal(sizes[0], 60);
  assert.deepEqual(b[0].subarray(OFF, OFF + 60), packet(60, 3));
  assert.equal(waker.raised, false, "lowered once the ring is empty");
  assert.equal(dev.pending, false);
  assert.equal(dev.readBatch(b, sizes, OFF), 0);
  assert.equal(waker.clears, 1);

  dev.send(packet(10, 4));
  assert.equal(waker.signals, 2, "raised again on the next edge");
  const { queued, read, queueFull, tooBig, noRoom } = dev.counters;
  assert.deepEqual({ queued, read, queueFull, tooBig, noRoom }, {
    queued: 4,
    read: 3,
    queueFull: 0,
    tooBig: 0,
    noRoom: 0,
  });
});

Deno.test("NetstackDevice: send copies, so the stack may reuse its buffer at once", () => {
  const dev = new NetstackDevice({ mtu: 1280, waker: new FakeWaker() });
  const scratch = packet(40, 7);
  dev.send(scratch);
  scratch.fill(9);
  dev.send(scratch);
  const b = bufs(2), sizes = [0, 0];
  assert.equal(dev.readBatch(b, sizes, 0), 2);
  assert.deepEqual(b[0].subarray(0, 40), packet(40, 7));
  assert.deepEqual(b[1].subarray(0, 40), packet(40, 9));
});

Deno.test("NetstackDevice: the ring is bounded, refusals counted, and a drain lets the sender go on", () => {
  const dev = new NetstackDevice({ mtu: 1280, capacity: 4, waker: new FakeWaker() });
  let drains = 0;
  dev.setDrainHandler(() => drains++);
  for (let i = 0; i < 4; i++) assert.equal(dev.send(packet(20, i)), true);
  assert.equal(dev.send(packet(20, 9)), false);
  assert.equal(dev.room, 0);
  assert.equal(dev.counters.queueFull, 1);
  const sizes = [0];
  dev.readBatch(bufs(1), sizes, 0);
  assert.equal(drains, 0, "three still queued: more than half the ring");
  dev.readBatch(bufs(1), sizes, 0);
  assert.equal(drains, 1, "half the ring free");
  dev.readBatch(bufs(2), [0, 0], 0);
  assert.equal(drains, 1, "once per refusal");
  // Oldest first across the wrap of the ring.
  for (let i = 0; i < 4; i++) dev.send(packet(20 + i, 10 + i));
  const b = bufs(4), s = [0, 0, 0, 0];
  assert.equal(dev.readBatch(b, s, 0), 4);
  assert.deepEqual(s, [20, 21, 22, 23]);
  assert.deepEqual(b.map((x) => x[0]), [10, 11, 12, 13]);
});

Deno.test("NetstackDevice: empty and over-MTU packets are refused; a buffer without room drops the packet", () => {
  const dev = new NetstackDevice({ mtu: 1280, waker: new FakeWaker() });
  assert.equal(dev.send(new Uint8Array(0)), false);
  assert.equal(dev.send(packet(1281, 1)), false);
  assert.equal(dev.counters.tooBig, 2);
  assert.equal(dev.pending, false);
  dev.send(packet(500, 1));
  dev.send(packet(50, 2));
  const b = [new Uint8Array(300), new Uint8Array(300)], sizes = [0, 0];
  assert.equal(dev.readBatch(b, sizes, OFF), 1);
  assert.equal(sizes[0], 50);
  assert.equal(b[0][OFF], 2);
  assert.equal(dev.counters.noRoom, 1);
});

Deno.test("NetstackDevice: writes reach the input as views of the batch, one by one; a throw is counted", () => {
  const errors: unknown[] = [];
  const dev = new NetstackDevice({
    mtu: 1280,
    waker: new FakeWaker(),
    onInputError: (e) => errors.push(e),
  });
  const b = bufs(3), sizes = [30, 40, 50];
  b.forEach((x, i) => x.fill(i + 1, OFF, OFF + sizes[i]));
  assert.equal(dev.writeBatch(b, sizes, OFF, 3), 3);
  assert.equal(dev.counters.noInput, 3, "dropped while no input is set");
  const seen: number[][] = [];
  dev.setInput((p) => {
    seen.push([p.length, p[0], p[p.length - 1]]);
    if (p.length === 40) throw new Error("handler bug");
  });
  assert.equal(dev.writeBatch(b, sizes, OFF, 3), 3);
  assert.deepEqual(seen, [[30, 1, 1], [40, 2, 2], [50, 3, 3]]);
  assert.equal(dev.counters.inputErrors, 1);
  assert.equal((errors[0] as Error).message, "handler bug");
  assert.equal(dev.counters.written, 6);
});

Deno.test("NetstackDevice: close drops the queue, refuses more and closes the waker", () => {
  const waker = new FakeWaker();
  const dev = new NetstackDevice({ mtu: 1280, waker });
  dev.send(packet(20, 1));
  dev.close();
  dev.close();
  assert.equal(waker.closed, true);
  assert.equal(dev.pending, false);
  assert.equal(dev.send(packet(20, 1)), false);
  assert.equal(dev.readBatch(bufs(1), [0], 0), 0);
});

Deno.test("NetstackDevice: an echo request written in comes back as the stack's reply on the next read", () => {
  const dev = new NetstackDevice({ mtu: 1280, waker: new FakeWaker() });
  const me = new Uint8Array([100, 64, 0, 2]), peer = new Uint8Array([100, 64, 0, 1]);
  const ip = new IpInput({ clock: new FakeClock(), out: dev.send, addresses: [me] });
  dev.setInput((p) => ip.input(p));
  const req = buildIcmpPacket({ src: peer, dst: me, type: 8, rest: 0x12340001 });
  const b = bufs(1);
  b[0].set(req, OFF);
  dev.writeBatch(b, [req.length], OFF, 1);
  const sizes = [0];
  assert.equal(dev.readBatch(b, sizes, OFF), 1);
  const reply = b[0].subarray(OFF, OFF + sizes[0]);
  assert.equal(reply[20], 0, "echo reply");
  assert.deepEqual(reply.subarray(12, 16), me);
  assert.deepEqual(reply.subarray(16, 20), peer);
});

Deno.test("NetstackDevice: a packet sent from a timer wakes a poll on its fd (a real eventfd)", async () => {
  using dev = new NetstackDevice({ mtu: 1280 });
  using poller = new Poller();
  assert.deepEqual(await poller.wait([dev.fd], 0), [false]);
  const timer = setTimeout(() => dev.send(packet(28, 5)), 20);
  try {
    assert.deepEqual(await poller.wait([dev.fd], 10_000), [true]);
  } finally {
    clearTimeout(timer);
  }
  assert.equal(dev.readBatch(bufs(4), [0, 0, 0, 0], 0), 1);
  assert.deepEqual(await poller.wait([dev.fd], 0), [false], "lowered after the read");
});

Deno.test("NetstackDevice: with coalesce, a batch's in-order segments reach the stack as one; the bytes and the ACK are those of each alone", async () => {
  const US = Uint8Array.of(100, 64, 0, 2), PEER = Uint8Array.of(100, 64, 0, 1);
  const clock = new FakeClock();
  const out: TcpSegment[] = [];
  const ip = new IpInput({
    clock,
    out: (p) => void out.push(decodeTcpSegment(p.subarray(20), US, PEER)!),
    addresses: [US],
    verifyChecksums: false,
  });
  const stack = new TcpStack({ ip, device: { room: 1 << 20, setDrainHandler() {} }, clock });
  const dev = new NetstackDevice({ mtu: 1280, waker: new FakeWaker(), coalesce: true });
  dev.setInput((p) => ip.input(p));
  const dialled = stack.dial(PEER, 8000);
  await new Promise((r) => setTimeout(r, 0));
  const syn = out.shift()!;
  const seg = (seq: number, flags: number, payload: Uint8Array) =>
    packetFor(
      {
        srcPort: 8000,
        dstPort: syn.srcPort,
        seq,
        ack: (syn.seq + 1) >>> 0,
        flags,
        window: 0xffff,
        urgent: 0,
        options: flags & TCP_SYN ? { mss: 1228, sackPermitted: true } : {},
        payload,
      },
      PEER,
      US,
    );
  ip.input(seg(999, TCP_SYN | TCP_ACK, new Uint8Array(0)));
  const conn = await dialled;
  out.length = 0;
  // Ten segments in order, then a hole of one, then two more: a batch as WireGuard hands it.
  const payload = (i: number) => new Uint8Array(1000).fill(i + 1);
  const pkts = [...Array(13).keys()].filter((i) => i !== 10).map((i) =>
    seg(1000 + 1000 * i, TCP_ACK, payload(i))
  );
  const b = pkts.map((p) => {
    const x = new Uint8Array(OFF + p.length);
    x.set(p, OFF);
    return x;
  });
  dev.writeBatch(b, pkts.map((p) => p.length), OFF, b.length);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(dev.counters.coalesced, 10, "9 joined the first, 1 the segment after the hole");
  assert.equal(stack.counters.segmentsIn, 3, "three segments, the handshake's apart");
  const got = conn.source.peek();
  const bytes = await got;
  assert.deepEqual(bytes, new Uint8Array(10_000).map((_, j) => Math.floor(j / 1000) + 1));
  const ack = out.at(-1)!;
  assert.equal(ack.ack, 11_000, "ACKs the in-order bytes");
  assert.deepEqual(
    ack.options.sack,
    [{ start: 12_000, end: 14_000 }],
    "SACKs the two after the hole",
  );
  conn.close();
  stack.close();
});
