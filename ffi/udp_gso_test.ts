import assert from "node:assert/strict";
import { ENDPOINT_SIZE, endpointFromString, endpointToString, UdpSocket } from "./udp.ts";
import { Poller } from "./poll.ts";

const OFFSET = 16;

/** Receives until `want` datagrams arrived (or 5 s pass); returns [payload, sender] pairs. */
async function receive(sock: UdpSocket, want: number): Promise<[Uint8Array, string][]> {
  const poller = new Poller();
  const bufs = Array.from({ length: 64 }, () => new Uint8Array(2048));
  const sizes = new Array<number>(64).fill(0);
  const addrs = Array.from({ length: 64 }, () => new Uint8Array(ENDPOINT_SIZE));
  const got: [Uint8Array, string][] = [];
  const deadline = Date.now() + 5000;
  try {
    while (got.length < want && Date.now() < deadline) {
      const n = sock.recvBatch(bufs, sizes, addrs, OFFSET);
      for (let i = 0; i < n; i++) {
        got.push([bufs[i].slice(OFFSET, OFFSET + sizes[i]), endpointToString(addrs[i])]);
      }
      if (n === 0) await poller.wait([sock.fd], deadline - Date.now());
    }
  } finally {
    poller.close();
  }
  return got;
}

Deno.test("UdpSocket with GSO delivers runs of equal datagrams, short tails and mixed peers intact", async () => {
  using a = UdpSocket.bind(0, { gso: true });
  using b = UdpSocket.bind(0, { gso: false });
  using c = UdpSocket.bind(0, { gso: false });
  assert.equal(a.gso, true);
  const toB = endpointFromString(`127.0.0.1:${b.port}`);
  const toC = endpointFromString(`[::1]:${c.port}`);
  // 30 full-size datagrams to b, a short one, 20 more, then interleaved b/c, then one to c.
  const plan: [Uint8Array, number][] = [];
  for (let i = 0; i < 30; i++) plan.push([toB, 1200]);
  plan.push([toB, 700]);
  for (let i = 0; i < 20; i++) plan.push([toB, 1200]);
  for (let i = 0; i < 6; i++) plan.push([i % 2 ? toC : toB, 1200]);
  plan.push([toC, 1300]);
  const bufs = plan.map(([, size], i) => {
    const buf = new Uint8Array(OFFSET + size + 8);
    for (let j = 0; j < size; j++) buf[OFFSET + j] = (i * 13 + j) & 0xff;
    return buf;
  });
  const sizes = plan.map(([, size]) => size);
  const addrs = plan.map(([to]) => to);
  assert.equal(a.sendBatch(bufs, sizes, addrs, plan.length, OFFSET), plan.length);
  assert.equal(a.gso, true, "the kernel accepted UDP_SEGMENT");
  const wantB = plan.flatMap(([to], i) => to === toB ? [i] : []);
  const wantC = plan.flatMap(([to], i) => to === toC ? [i] : []);
  const [gotB, gotC] = await Promise.all([receive(b, wantB.length), receive(c, wantC.length)]);
  const check = (got: [Uint8Array, string][], want: number[], from: string) => {
    assert.equal(got.length, want.length);
    got.forEach(([payload, sender], k) => {
      const i = want[k];
      assert.equal(sender, from);
      assert.deepEqual(payload, bufs[i].subarray(OFFSET, OFFSET + sizes[i]), `datagram ${i}`);
    });
  };
  check(gotB, wantB, `127.0.0.1:${a.port}`);
  check(gotC, wantC, `[::1]:${a.port}`);
});
