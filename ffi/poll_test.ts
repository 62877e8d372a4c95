import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { Poller } from "./poll.ts";
import { UdpSocket } from "./udp.ts";
import { endpointFromString } from "./udp.ts";
import { POLLOUT } from "./libc.ts";

/** Rejects if `p` takes longer than `ms`: a generous bound so a hung wait fails, not hangs. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what} did not return within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("Poller.wait() reports which fd became readable", async () => {
  const poller = new Poller();
  const a = UdpSocket.bind(0);
  const b = UdpSocket.bind(0);
  try {
    const buf = [new Uint8Array(64)];
    a.sendBatch(buf, [8], [endpointFromString(`127.0.0.1:${b.port}`)], 1);
    const ready = await within(poller.wait([a.fd, b.fd], 10000), 5000, "wait");
    assert.deepEqual(ready, [false, true]);
    // Still readable until drained; drained, it times out with nothing ready.
    assert.deepEqual(await poller.wait([b.fd], 0), [true]);
    assert.equal(b.recvBatch(buf, [0], [new Uint8Array(28)]), 1);
    assert.deepEqual(await poller.wait([b.fd], 20), [false]);
  } finally {
    a.close();
    b.close();
    poller.close();
  }
});

Deno.test("Poller.wait() takes no pool hop for an fd already ready, and lets the event loop run", async () => {
  const poller = new Poller();
  const a = UdpSocket.bind(0);
  const b = UdpSocket.bind(0);
  try {
    assert.deepEqual(await poller.wait([b.fd], 20), [false]);
    assert.equal(poller.hops, 1, "nothing ready: the wait blocks on the pool");
    a.sendBatch([new Uint8Array(64)], [8], [endpointFromString(`127.0.0.1:${b.port}`)], 1);
    let ran = false;
    setImmediate(() => ran = true);
    assert.deepEqual(await within(poller.wait([a.fd, b.fd], 10000), 5000, "wait"), [false, true]);
    assert.equal(poller.hops, 1, "ready at once: found on this thread");
    assert.ok(ran, "the event loop had its turn before the wait resolved");
    poller.wake();
    assert.deepEqual(await poller.wait([a.fd], 60000), [false]);
    assert.equal(poller.hops, 1, "a wake already raised is found on this thread too");
  } finally {
    a.close();
    b.close();
    poller.close();
  }
});

Deno.test("Poller.wait() can wait for writability", async () => {
  const poller = new Poller();
  const a = UdpSocket.bind(0);
  try {
    assert.deepEqual(await poller.wait([a.fd], 1000, [POLLOUT]), [true]);
  } finally {
    a.close();
    poller.close();
  }
});

Deno.test("Poller.wake() releases a pending wait, and a wake before a wait is kept", async () => {
  const poller = new Poller();
  const a = UdpSocket.bind(0);
  try {
    const pending = poller.wait([a.fd], 60000);
    await assert.rejects(poller.wait([a.fd], 0), /already pending/);
    setTimeout(() => poller.wake(), 10);
    assert.deepEqual(await within(pending, 5000, "woken wait"), [false]);
    poller.wake();
    assert.deepEqual(await within(poller.wait([a.fd], 60000), 5000, "pre-woken wait"), [false]);
  } finally {
    a.close();
    poller.close();
  }
});

Deno.test("Poller.close() releases a pending wait and later waits throw", async () => {
  const poller = new Poller();
  const a = UdpSocket.bind(0);
  try {
    const pending = poller.wait([a.fd], 60000);
    poller.close();
    assert.deepEqual(await within(pending, 5000, "wait pending at close"), [false]);
    await assert.rejects(poller.wait([a.fd], 0), /closed/);
    poller.wake(); // harmless after close
  } finally {
    a.close();
  }
});
