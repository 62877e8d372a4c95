import assert from "node:assert/strict";
import { ENDPOINT_SIZE, endpointFromString, endpointToString, UdpSocket } from "./udp.ts";
import { Poller } from "./poll.ts";
import { inNetns, needsRoot } from "./testdata/netns.ts";
import { withLinkedPair } from "../src/testbed/netns.ts";

const OFFSET = 16;

interface Got {
  payload: Uint8Array;
  size: number;
  from: string;
}

/**
 * Receives with batches of `batch` buffers of `bufSize` bytes until `want` datagrams arrived
 * (or 5 s pass).
 */
async function receive(sock: UdpSocket, want: number, batch = 64, bufSize = 2048): Promise<Got[]> {
  const poller = new Poller();
  const bufs = Array.from({ length: batch }, () => new Uint8Array(bufSize));
  const sizes = new Array<number>(batch).fill(0);
  const addrs = Array.from({ length: batch }, () => new Uint8Array(ENDPOINT_SIZE));
  const got: Got[] = [];
  const deadline = Date.now() + 5000;
  try {
    while (got.length < want && Date.now() < deadline) {
      const n = sock.recvBatch(bufs, sizes, addrs, OFFSET);
      for (let i = 0; i < n; i++) {
        got.push({
          payload: bufs[i].slice(OFFSET, OFFSET + sizes[i]),
          size: sizes[i],
          from: endpointToString(addrs[i]),
        });
      }
      // Datagrams already split off a coalesced message do not make the fd readable.
      if (n === 0 && !sock.pending) await poller.wait([sock.fd], deadline - Date.now());
    }
  } finally {
    poller.close();
  }
  return got;
}

/** Datagram `i` of a plan: its payload pattern. */
function payload(i: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let j = 0; j < size; j++) b[j] = (i * 13 + j * 7 + (j >> 8)) & 0xff;
  return b;
}

/**
 * Sends, in one GSO `sendBatch`: runs of equal sizes with short last segments, a run of another
 * size, a 1-byte and an empty datagram, interleaved peers, and a near-64 KiB run to the second.
 * Returns each peer's expected payloads in order.
 */
function sendPlan(from: UdpSocket, toB: Uint8Array, toC: Uint8Array): Map<Uint8Array, number[]> {
  const plan: [Uint8Array, number][] = [];
  for (let i = 0; i < 30; i++) plan.push([toB, 1200]);
  plan.push([toB, 700]);
  for (let i = 0; i < 20; i++) plan.push([toB, 1200]);
  for (let i = 0; i < 10; i++) plan.push([toB, 500]);
  plan.push([toB, 1], [toB, 0]);
  for (let i = 0; i < 6; i++) plan.push([i % 2 ? toC : toB, 1200]);
  for (let i = 0; i < 45; i++) plan.push([toC, 1400]);
  plan.push([toC, 1399]);
  const bufs = plan.map(([, size], i) => {
    const buf = new Uint8Array(OFFSET + size + 8);
    buf.set(payload(i, size), OFFSET);
    return buf;
  });
  const sizes = plan.map(([, size]) => size);
  assert.equal(
    from.sendBatch(bufs, sizes, plan.map(([to]) => to), plan.length, OFFSET),
    plan.length,
  );
  assert.equal(from.gso, true, "the kernel accepted UDP_SEGMENT");
  const want = new Map<Uint8Array, number[]>([[toB, []], [toC, []]]);
  plan.forEach(([to], i) => want.get(to)!.push(i));
  return want;
}

function check(got: Got[], want: number[], sizes: number[], from: string, room = Infinity) {
  assert.equal(got.length, want.length);
  got.forEach((g, k) => {
    const i = want[k];
    const size = Math.min(sizes[i], room);
    assert.equal(g.from, from, `sender of datagram ${i}`);
    assert.equal(g.size, size, `size of datagram ${i}`);
    assert.deepEqual(g.payload, payload(i, sizes[i]).subarray(0, size), `datagram ${i}`);
  });
}

/** The plan's sizes by index (as `sendPlan` builds them). */
function planSizes(): number[] {
  const s: number[] = [];
  for (let i = 0; i < 30; i++) s.push(1200);
  s.push(700);
  for (let i = 0; i < 20; i++) s.push(1200);
  for (let i = 0; i < 10; i++) s.push(500);
  s.push(1, 0);
  for (let i = 0; i < 6; i++) s.push(1200);
  for (let i = 0; i < 45; i++) s.push(1400);
  s.push(1399);
  return s;
}

for (const gro of [true, false]) {
  for (const batch of [64, 5]) {
    Deno.test(`UdpSocket over loopback with GRO ${gro ? "on" : "off"}, batches of ${batch}: a GSO send arrives as its datagrams`, async () => {
      using a = UdpSocket.bind(0, { gso: true });
      using b = UdpSocket.bind(0, { gro });
      using c = UdpSocket.bind(0, { gro, ipv4Only: true });
      assert.equal(b.gro, gro);
      assert.equal(c.gro, gro);
      const toB = endpointFromString(`[::1]:${b.port}`);
      const toC = endpointFromString(`127.0.0.1:${c.port}`);
      const want = sendPlan(a, toB, toC);
      const [gotB, gotC] = await Promise.all([
        receive(b, want.get(toB)!.length, batch),
        receive(c, want.get(toC)!.length, batch),
      ]);
      check(gotB, want.get(toB)!, planSizes(), `[::1]:${a.port}`);
      check(gotC, want.get(toC)!, planSizes(), `127.0.0.1:${a.port}`);
      assert.equal(b.pending || c.pending, false);
      // Loopback hands a GSO send to a GRO socket whole: the split above really ran.
      if (gro) assert.ok(b.coalescedReads > 0 && c.coalescedReads > 0);
      else assert.equal(b.coalescedReads + c.coalescedReads, 0);
    });
  }

  Deno.test(`UdpSocket with GRO ${gro ? "on" : "off"} truncates datagrams longer than the room as the kernel does`, async () => {
    using a = UdpSocket.bind(0, { gso: true });
    using b = UdpSocket.bind(0, { gro });
    using c = UdpSocket.bind(0, { gro });
    const toB = endpointFromString(`127.0.0.1:${b.port}`);
    const toC = endpointFromString(`127.0.0.1:${c.port}`);
    const want = sendPlan(a, toB, toC);
    const room = 1000 - OFFSET;
    const gotB = await receive(b, want.get(toB)!.length, 64, 1000);
    check(gotB, want.get(toB)!, planSizes(), `127.0.0.1:${a.port}`, room);
  });
}

Deno.test({
  name: "UdpSocket between namespaces over veth: a GSO send reaches a GRO socket intact",
  ignore: needsRoot() !== null,
  fn: () =>
    withLinkedPair("gro", async ({ a, b }) => {
      for (const gro of [true, false]) {
        using tx = inNetns(a.name, () => UdpSocket.bind(0, { gso: true }));
        using rx4 = inNetns(b.name, () => UdpSocket.bind(0, { gro }));
        using rx6 = inNetns(b.name, () => UdpSocket.bind(0, { gro }));
        assert.equal(rx4.gro, gro);
        const toB = endpointFromString(`10.241.0.2:${rx4.port}`);
        const toC = endpointFromString(`[fd00:241::2]:${rx6.port}`);
        const want = sendPlan(tx, toB, toC);
        const [got4, got6] = await Promise.all([
          receive(rx4, want.get(toB)!.length),
          receive(rx6, want.get(toC)!.length, 7),
        ]);
        check(got4, want.get(toB)!, planSizes(), `10.241.0.1:${tx.port}`);
        check(got6, want.get(toC)!, planSizes(), `[fd00:241::1]:${tx.port}`);
        if (gro) assert.ok(rx4.coalescedReads > 0 && rx6.coalescedReads > 0);
        else assert.equal(rx4.coalescedReads + rx6.coalescedReads, 0);
      }
    }),
});

Deno.test("UdpSocket.adopt keeps GRO: a second object on the fd splits coalesced messages too", async () => {
  using a = UdpSocket.bind(0, { gso: true });
  using b = UdpSocket.bind(0, { gro: true });
  using c = UdpSocket.bind(0, { gro: true });
  assert.equal(b.handle.gro, true);
  const other = UdpSocket.adopt(b.handle);
  assert.equal(other.gro, true);
  const toB = endpointFromString(`127.0.0.1:${b.port}`);
  const want = sendPlan(a, toB, endpointFromString(`127.0.0.1:${c.port}`));
  check(
    await receive(other, want.get(toB)!.length),
    want.get(toB)!,
    planSizes(),
    `127.0.0.1:${a.port}`,
  );
});

Deno.test("UdpSocket with GRO gives back the room a burst of coalesced messages wrote past the first 8", async () => {
  using a = UdpSocket.bind(0, { gso: true });
  using b = UdpSocket.bind(0, { gro: true });
  const toB = endpointFromString(`127.0.0.1:${b.port}`);
  // 24 GSO sends of 40 × 1400 bytes queue before b reads: its first read (64 messages asked
  // for) takes them all, each 56 KB of one message's 64 KiB room.
  const sends = 24, per = 40, size = 1400;
  /** One GSO send of `per` datagrams, payloads numbered from `first`. */
  const burst = (first: number) => {
    const bufs = Array.from({ length: per }, (_, i) => {
      const buf = new Uint8Array(OFFSET + size);
      buf.set(payload(first + i, size), OFFSET);
      return buf;
    });
    assert.equal(a.sendBatch(bufs, bufs.map(() => size), bufs.map(() => toB), per, OFFSET), per);
  };
  for (let s = 0; s < sends; s++) burst(s * per);
  assert.equal(a.gso, true, "the kernel accepted UDP_SEGMENT");
  const got = await receive(b, sends * per);
  assert.equal(got.length, sends * per);
  got.forEach((g, i) => assert.deepEqual(g.payload, payload(i, size), `datagram ${i}`));
  assert.ok(b.coalescedReads >= 9, `coalesced messages: ${b.coalescedReads}`);
  const afterBurst = b.groResidentBytes();
  assert.ok(afterBurst > 12 * 56_000, `the burst wrote ${afterBurst} bytes of room`);
  // The next read (nothing waiting) asks for 8 messages and gives the rest back first.
  const bufs = [new Uint8Array(2048)], sizes = [0], addrs = [new Uint8Array(ENDPOINT_SIZE)];
  assert.equal(b.recvBatch(bufs, sizes, addrs, OFFSET), 0);
  const after = b.groResidentBytes();
  assert.ok(after <= 8 * 65536, `${after} bytes of room still resident after the burst`);
  // And the room still works: another burst arrives whole.
  burst(0);
  const got2 = await receive(b, per);
  got2.forEach((g, i) => assert.deepEqual(g.payload, payload(i, size), `second burst ${i}`));
});
