import assert from "node:assert/strict";
import { BlockingPoller } from "./blocking_poll.ts";
import { EventFd } from "./eventfd.ts";
import { endpointFromString, UdpSocket } from "./udp.ts";

Deno.test("BlockingPoller.wait() reports the readable fd, times out, and calls onWake", async () => {
  const waker = new EventFd();
  let wakes = 0;
  const poller = new BlockingPoller(waker, () => wakes++);
  const a = UdpSocket.bind(0), b = UdpSocket.bind(0);
  try {
    assert.deepEqual(await poller.wait([b.fd], 10), [false]);
    a.sendBatch([new Uint8Array(8)], [8], [endpointFromString(`127.0.0.1:${b.port}`)], 1);
    assert.deepEqual(await poller.wait([a.fd, b.fd], 5000), [false, true]);
    assert.equal(wakes, 0);
    poller.wake();
    assert.deepEqual(await poller.wait([a.fd], 5000), [false]);
    assert.equal(wakes, 1, "the raised waker was seen");
    assert.deepEqual(await poller.wait([a.fd], 10), [false], "and lowered");
    assert.equal(wakes, 1);
  } finally {
    a.close();
    b.close();
    waker.close();
  }
});

Deno.test("BlockingPoller.waitSync() reuses one array and clears what an earlier wait set", () => {
  const waker = new EventFd();
  const poller = new BlockingPoller(waker);
  const a = UdpSocket.bind(0), b = UdpSocket.bind(0);
  try {
    a.sendBatch([new Uint8Array(8)], [8], [endpointFromString(`127.0.0.1:${b.port}`)], 1);
    const first = poller.waitSync([a.fd, b.fd], 5000);
    assert.deepEqual(first, [false, true]);
    b.recvBatch([new Uint8Array(64)], [0], [new Uint8Array(28)], 0);
    const second = poller.waitSync([a.fd, b.fd], 10);
    assert.equal(second, first, "the same array");
    assert.deepEqual(second, [false, false], "b's flag from the first wait cleared");
    assert.deepEqual(poller.waitSync([b.fd], 10), [false], "and shortened to the fds asked");
  } finally {
    a.close();
    b.close();
    waker.close();
  }
});

Deno.test("BlockingPoller in a Worker: a datagram and a wake from the main thread reach it while it blocks", async () => {
  const waker = new EventFd();
  const a = UdpSocket.bind(0), b = UdpSocket.bind(0);
  const control = new SharedArrayBuffer(4);
  const worker = new Worker(new URL("./testdata/blocking_poll_worker.ts", import.meta.url), {
    type: "module",
  });
  const seen: string[] = [];
  let notify = () => {};
  worker.onmessage = (e) => {
    seen.push(e.data);
    notify();
  };
  const until = (what: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${what}" from the Worker`)), 10_000);
      const check = () => {
        if (!seen.includes(what)) return;
        clearTimeout(timer);
        resolve();
      };
      notify = check;
      check();
    });
  try {
    worker.postMessage({ udp: b.handle, wakeFd: waker.fd, control });
    await new Promise((r) => setTimeout(r, 200)); // the Worker is blocked in poll(2) by now
    a.sendBatch(
      [new TextEncoder().encode("hello")],
      [5],
      [endpointFromString(`127.0.0.1:${b.port}`)],
      1,
    );
    await until("datagram hello");
    waker.signal();
    await until("wake");
    Atomics.store(new Int32Array(control), 0, 1);
    waker.signal();
    await until("done");
    // The stop's wake is seen, or the loop found the stop flag before it blocked again.
    assert.deepEqual(seen.slice(0, 2), ["datagram hello", "wake"]);
    assert.equal(seen.at(-1), "done");
    assert.ok(seen.length <= 4 && seen.slice(2, -1).every((m) => m === "wake"), `${seen}`);
  } finally {
    worker.terminate();
    a.close();
    b.close();
    waker.close();
  }
});
