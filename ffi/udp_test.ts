import assert from "node:assert/strict";
import {
  ENDPOINT_SIZE,
  endpointEquals,
  endpointFromIp,
  endpointFromString,
  endpointIp,
  endpointPort,
  endpointToString,
  UdpSocket,
} from "./udp.ts";
import { Poller } from "./poll.ts";
import { skipRest } from "../src/testing/skip.ts";

const OFFSET = 16;

function batch(n: number, size = 2048) {
  return {
    bufs: Array.from({ length: n }, () => new Uint8Array(size)),
    sizes: new Array<number>(n).fill(0),
    addrs: Array.from({ length: n }, () => new Uint8Array(ENDPOINT_SIZE)),
  };
}

/** Receives until `want` datagrams arrived (or 5 s pass); returns [payload, sender] pairs. */
async function receive(sock: UdpSocket, want: number): Promise<[Uint8Array, string][]> {
  const poller = new Poller();
  const b = batch(16);
  const got: [Uint8Array, string][] = [];
  const deadline = Date.now() + 5000;
  try {
    while (got.length < want && Date.now() < deadline) {
      const n = sock.recvBatch(b.bufs, b.sizes, b.addrs, OFFSET);
      for (let i = 0; i < n; i++) {
        got.push([b.bufs[i].slice(OFFSET, OFFSET + b.sizes[i]), endpointToString(b.addrs[i])]);
      }
      if (n === 0) await poller.wait([sock.fd], deadline - Date.now());
    }
  } finally {
    poller.close();
  }
  return got;
}

/** Sends `count` datagrams of distinct length and content from `from` to `to`. */
function sendNumbered(from: UdpSocket, to: Uint8Array, count: number, tag: number): number {
  const b = batch(count);
  for (let i = 0; i < count; i++) {
    b.sizes[i] = 100 + i;
    b.bufs[i].fill(tag + i, OFFSET, OFFSET + b.sizes[i]);
    b.addrs[i].set(to);
  }
  return from.sendBatch(b.bufs, b.sizes, b.addrs, count, OFFSET);
}

function checkNumbered(got: [Uint8Array, string][], count: number, tag: number, from: string) {
  assert.equal(got.length, count);
  got.sort((x, y) => x[0].length - y[0].length);
  for (let i = 0; i < count; i++) {
    const [payload, sender] = got[i];
    assert.equal(payload.length, 100 + i);
    assert.ok(payload.every((x) => x === tag + i), `payload ${i} corrupted`);
    assert.equal(sender, from);
  }
}

for (
  const [label, host, opts] of [
    ["IPv4", "127.0.0.1", {}],
    ["IPv6", "[::1]", {}],
    ["IPv4 on the AF_INET fallback", "127.0.0.1", { ipv4Only: true }],
  ] as const
) {
  Deno.test(`UdpSocket exchanges batches over loopback ${label}`, async () => {
    const a = UdpSocket.bind(0, opts);
    const b = UdpSocket.bind(0, opts);
    try {
      assert.equal(a.dualStack, !("ipv4Only" in opts));
      assert.ok(a.port > 0 && a.port !== b.port);
      const toB = endpointFromString(`${host}:${b.port}`);
      const toA = endpointFromString(`${host}:${a.port}`);
      assert.equal(sendNumbered(a, toB, 20, 1), 20);
      checkNumbered(await receive(b, 20), 20, 1, `${host}:${a.port}`);
      // Fresh buffer objects each round: the pointer caches must follow them.
      assert.equal(sendNumbered(b, toA, 5, 50), 5);
      checkNumbered(await receive(a, 5), 5, 50, `${host}:${b.port}`);
      assert.equal(sendNumbered(a, toB, 3, 90), 3);
      checkNumbered(await receive(b, 3), 3, 90, `${host}:${a.port}`);
    } finally {
      a.close();
      b.close();
    }
  });
}

Deno.test("UdpSocket.recvBatch() returns 0 at once when nothing is waiting", () => {
  const s = UdpSocket.bind(0);
  try {
    const b = batch(4);
    assert.equal(s.recvBatch(b.bufs, b.sizes, b.addrs), 0);
  } finally {
    s.close();
  }
});

Deno.test("UdpSocket.sendBatch() drops a datagram the kernel refuses and sends the rest", async () => {
  const a = UdpSocket.bind(0);
  const b = UdpSocket.bind(0);
  try {
    const b3 = batch(3);
    const ok = endpointFromString(`127.0.0.1:${b.port}`);
    // Broadcast without SO_BROADCAST fails with EACCES for that datagram only.
    const refused = endpointFromString(`255.255.255.255:${b.port}`);
    [ok, refused, ok].forEach((ep, i) => {
      b3.addrs[i].set(ep);
      b3.sizes[i] = 10 + i;
      b3.bufs[i].fill(i + 1, 0, b3.sizes[i]);
    });
    assert.equal(a.sendBatch(b3.bufs, b3.sizes, b3.addrs, 3), 3);
    const got = await receive(b, 2);
    assert.deepEqual(got.map(([p]) => p.length).sort(), [10, 12]);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("UdpSocket.sendBatch() on the IPv4 fallback drops IPv6 peers", async () => {
  const a = UdpSocket.bind(0, { ipv4Only: true });
  const b = UdpSocket.bind(0, { ipv4Only: true });
  try {
    const b2 = batch(2);
    b2.addrs[0].set(endpointFromString(`[::1]:${b.port}`));
    b2.addrs[1].set(endpointFromString(`127.0.0.1:${b.port}`));
    b2.sizes[0] = 7;
    b2.sizes[1] = 9;
    assert.equal(a.sendBatch(b2.bufs, b2.sizes, b2.addrs, 2), 2);
    const got = await receive(b, 1);
    assert.deepEqual(got.map(([p]) => p.length), [9]);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("UdpSocket.bind() enlarges the socket buffers as root", (t) => {
  if (Deno.uid() !== 0) return skipRest(t, "SO_RCVBUFFORCE needs root");
  const s = UdpSocket.bind(0, { rcvbuf: 4 << 20, sndbuf: 3 << 20 });
  try {
    // The kernel reports double the request (it accounts for bookkeeping overhead).
    assert.deepEqual(s.bufferSizes(), { rcvbuf: 8 << 20, sndbuf: 6 << 20 });
  } finally {
    s.close();
  }
});

Deno.test("UdpSocket.setMark() sets and clears SO_MARK as root", (t) => {
  using s = UdpSocket.bind(0);
  assert.equal(s.mark(), 0);
  assert.throws(() => s.setMark(-1), RangeError);
  assert.throws(() => s.setMark(2 ** 32), RangeError);
  if (Deno.uid() !== 0) return skipRest(t, "setting a mark needs CAP_NET_ADMIN");
  s.setMark(0xca6c);
  assert.equal(s.mark(), 51820);
  s.setMark(0xffffffff);
  assert.equal(s.mark(), 0xffffffff);
  s.setMark(0);
  assert.equal(s.mark(), 0);
});

Deno.test("UdpSocket methods reject bad arguments and use after close", () => {
  assert.throws(() => UdpSocket.bind(70000), RangeError);
  assert.throws(() => UdpSocket.bind(0, { maxBatch: 0 }), RangeError);
  const s = UdpSocket.bind(0);
  const b = batch(1);
  assert.throws(() => s.recvBatch(b.bufs, b.sizes, [new Uint8Array(16)]), RangeError);
  b.sizes[0] = 5000;
  assert.throws(() => s.sendBatch(b.bufs, b.sizes, b.addrs, 1), RangeError);
  s.close();
  s.close();
  assert.throws(() => s.recvBatch(b.bufs, b.sizes, b.addrs), /socket is closed/);
});

Deno.test("endpointFromString() builds sockaddr_in6 bytes, v4-mapped for IPv4", () => {
  assert.deepEqual(
    endpointFromString("192.0.2.1:51820"),
    new Uint8Array([
      10,
      0,
      0xca,
      0x6c,
      0,
      0,
      0,
      0, // family AF_INET6, port 51820 BE, flowinfo
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0xff,
      0xff,
      192,
      0,
      2,
      1, // ::ffff:192.0.2.1
      0,
      0,
      0,
      0, // scope id
    ]),
  );
  const ep = endpointFromString("[fe80::1%7]:1");
  assert.deepEqual([...ep.subarray(8, 10)], [0xfe, 0x80]);
  assert.deepEqual([...ep.subarray(24)], [7, 0, 0, 0]);
  assert.equal(endpointPort(ep), 1);
});

Deno.test("endpointToString() and endpointFromString() round-trip", () => {
  for (
    const s of [
      "1.2.3.4:51820",
      "0.0.0.0:0",
      "255.255.255.255:65535",
      "[fd00::1]:51820",
      "[2001:db8::1:0:0:1]:443",
      "[::]:1",
      "[::1]:2",
      "[fe80::1%3]:41641",
      "[2001:db8:1:2:3:4:5:6]:9",
    ]
  ) {
    assert.equal(endpointToString(endpointFromString(s)), s);
  }
  // Non-canonical input prints canonically.
  assert.equal(endpointToString(endpointFromString("[::ffff:10.0.0.1]:5")), "10.0.0.1:5");
  assert.equal(endpointToString(endpointFromString("[2001:DB8:0:0::1]:5")), "[2001:db8::1]:5");
});

Deno.test("endpointFromString() rejects malformed endpoints with SyntaxError", () => {
  for (
    const s of [
      "",
      "1.2.3.4",
      "1.2.3.4:",
      "1.2.3.4:65536",
      "1.2.3.4:-1",
      "1.2.3:80",
      "1.2.3.256:80",
      "01.2.3.4:80",
      "fd00::1:80",
      "[fd00::1]",
      "[fd00::1]80",
      "[1.2.3.4]:80",
      "[fd00::1::2]:80",
      "[fd00::g]:80",
      "[1:2:3:4:5:6:7:8:9]:80",
      "[fe80::1%]:80",
      "[fe80::1%no-such-if0]:80",
      "host.example:80",
    ]
  ) {
    assert.throws(() => endpointFromString(s), SyntaxError, s);
  }
});

Deno.test("endpointEquals() compares family, port, address and scope but not flowinfo", () => {
  const a = endpointFromString("[fd00::1]:51820");
  const b = new Uint8Array(a);
  b[4] = 0x12; // flowinfo
  assert.ok(endpointEquals(a, b));
  assert.ok(!endpointEquals(a, endpointFromString("[fd00::1]:51821")));
  assert.ok(!endpointEquals(a, endpointFromString("[fd00::2]:51820")));
  assert.ok(!endpointEquals(a, endpointFromString("[fd00::1%1]:51820")));
  assert.ok(
    endpointEquals(
      endpointFromString("10.0.0.1:5"),
      endpointFromIp(new Uint8Array([10, 0, 0, 1]), 5),
    ),
  );
  assert.deepEqual(endpointIp(endpointFromString("10.0.0.1:5")), new Uint8Array([10, 0, 0, 1]));
  assert.equal(endpointIp(a).length, 16);
});
