import assert from "node:assert/strict";
import {
  acceptTcp,
  closeTcp,
  getIntOption,
  IPPROTO_TCP,
  listenTcp,
  recvTcp,
  sendTcp,
  setServerSocketOptions,
  SO_KEEPALIVE,
  sockaddrText,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_NODELAY,
  TCP_USER_TIMEOUT,
} from "./tcp.ts";
import { EADDRINUSE, EAGAIN, SOL_SOCKET, SysError } from "./libc.ts";

/** Accepts the one connection expected, waiting briefly for the handshake to land. */
async function acceptOne(fd: number) {
  for (let i = 0; i < 200; i++) {
    const r = acceptTcp(fd);
    if (typeof r !== "number") return r;
    assert.equal(r, -EAGAIN);
    await new Promise((res) => setTimeout(res, 5));
  }
  throw new Error("No connection to accept");
}

async function recvSome(fd: number, buf: Uint8Array): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const n = recvTcp(fd, buf);
    if (n !== -EAGAIN) return n;
    await new Promise((res) => setTimeout(res, 5));
  }
  throw new Error("Nothing to read");
}

Deno.test("listenTcp/acceptTcp/recvTcp/sendTcp carry bytes both ways and see EOF", async () => {
  const l = listenTcp("127.0.0.1", 0);
  assert.equal(acceptTcp(l.fd), -EAGAIN);
  const client = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
  const peer = await acceptOne(l.fd);
  try {
    assert.equal(l.hostname, "127.0.0.1");
    assert.equal(peer.hostname, "127.0.0.1");
    assert.equal(peer.port, (client.localAddr as Deno.NetAddr).port);
    const buf = new Uint8Array(64);
    assert.equal(recvTcp(peer.fd, buf), -EAGAIN);
    await client.write(new TextEncoder().encode("ping"));
    const n = await recvSome(peer.fd, buf);
    assert.equal(new TextDecoder().decode(buf.subarray(0, n)), "ping");
    assert.equal(sendTcp(peer.fd, new TextEncoder().encode("pong")), 4);
    const got = new Uint8Array(8);
    const m = await client.read(got);
    assert.equal(new TextDecoder().decode(got.subarray(0, m!)), "pong");
    client.close();
    assert.equal(await recvSome(peer.fd, buf), 0);
  } finally {
    closeTcp(peer.fd);
    closeTcp(l.fd);
  }
});

Deno.test("listenTcp on :: is dual stack and shows IPv4 peers as plain IPv4", async () => {
  const l = listenTcp("::", 0);
  const v4 = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
  const p4 = await acceptOne(l.fd);
  const v6 = await Deno.connect({ hostname: "::1", port: l.port });
  const p6 = await acceptOne(l.fd);
  try {
    assert.equal(l.hostname, "::");
    assert.equal(p4.hostname, "127.0.0.1");
    assert.equal(p6.hostname, "::1");
  } finally {
    v4.close();
    v6.close();
    closeTcp(p4.fd);
    closeTcp(p6.fd);
    closeTcp(l.fd);
  }
});

Deno.test("sendTcp returns -EAGAIN once a peer that does not read has filled the buffers", async () => {
  const l = listenTcp("127.0.0.1", 0);
  const client = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
  const peer = await acceptOne(l.fd);
  try {
    const chunk = new Uint8Array(256 * 1024);
    let total = 0, r = 0;
    for (let i = 0; i < 4096; i++) {
      r = sendTcp(peer.fd, chunk);
      if (r < 0) break;
      total += r;
    }
    assert.equal(r, -EAGAIN);
    assert.ok(total > 0);
  } finally {
    client.close();
    closeTcp(peer.fd);
    closeTcp(l.fd);
  }
});

Deno.test("setServerSocketOptions() turns on TCP_NODELAY and SO_KEEPALIVE", async () => {
  const l = listenTcp("127.0.0.1", 0);
  const client = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
  const peer = await acceptOne(l.fd);
  try {
    assert.equal(getIntOption(peer.fd, IPPROTO_TCP, TCP_NODELAY), 0);
    assert.ok(setServerSocketOptions(peer.fd, {
      keepAlive: { idle: 600, interval: 600, count: 9 },
      userTimeoutMs: 15_000,
    }));
    assert.equal(getIntOption(peer.fd, IPPROTO_TCP, TCP_NODELAY), 1);
    assert.equal(getIntOption(peer.fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    assert.equal(getIntOption(peer.fd, IPPROTO_TCP, TCP_KEEPIDLE), 600);
    assert.equal(getIntOption(peer.fd, IPPROTO_TCP, TCP_KEEPCNT), 9);
    assert.equal(getIntOption(peer.fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 15_000);
    assert.equal(setServerSocketOptions(-1), false);
  } finally {
    client.close();
    closeTcp(peer.fd);
    closeTcp(l.fd);
  }
});

Deno.test("listenTcp rejects names, bad ports and a port in use", () => {
  assert.throws(() => listenTcp("localhost", 0), SyntaxError);
  assert.throws(() => listenTcp("127.0.0.1", 65536), RangeError);
  const l = listenTcp("127.0.0.1", 0);
  try {
    assert.throws(
      () => listenTcp("127.0.0.1", l.port),
      (e) => e instanceof SysError && e.errno === EADDRINUSE && /bind failed/.test(e.message),
    );
  } finally {
    closeTcp(l.fd);
  }
});

Deno.test("sockaddrText() decodes sockaddr_in and sockaddr_in6, unmapping v4-mapped", () => {
  const v4 = new Uint8Array([2, 0, 0x0d, 0x0c, 10, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(sockaddrText(v4), { hostname: "10.1.2.3", port: 3340 });
  const v6 = new Uint8Array(28);
  v6[0] = 10;
  v6[2] = 0x01;
  v6[3] = 0xbb;
  v6.set([0x20, 0x01, 0x0d, 0xb8], 8);
  v6[23] = 1;
  assert.deepEqual(sockaddrText(v6), { hostname: "2001:db8::1", port: 443 });
  v6.fill(0, 8, 24);
  v6.set([0xff, 0xff, 192, 0, 2, 1], 18);
  assert.deepEqual(sockaddrText(v6), { hostname: "192.0.2.1", port: 443 });
});
