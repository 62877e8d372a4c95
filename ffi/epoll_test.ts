import assert from "node:assert/strict";
import { Epoll, EPOLLIN, EpollLoop, EPOLLOUT } from "./epoll.ts";
import { addressOf, closeQuietly, libc, O_CLOEXEC, O_NONBLOCK } from "./libc.ts";

/** A non-blocking pipe: [read end, write end]. */
function pipe(): [number, number] {
  const fds = new Uint8Array(8);
  assert.equal(libc().pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  const dv = new DataView(fds.buffer);
  return [dv.getInt32(0, true), dv.getInt32(4, true)];
}

function writeByte(fd: number): void {
  const b = new Uint8Array([42]);
  assert.equal(libc().write(fd, BigInt(addressOf(b)), 1n), 1);
}

Deno.test("Epoll.poll() reports a readable pipe by fd and event, and nothing once removed", () => {
  const [r, w] = pipe();
  using ep = new Epoll(8);
  try {
    ep.add(r, EPOLLIN);
    assert.equal(ep.poll(), 0);
    writeByte(w);
    assert.equal(ep.poll(), 1);
    assert.equal(ep.fdAt(0), r);
    assert.equal(ep.eventsAt(0) & EPOLLIN, EPOLLIN);
    // Level-triggered: still ready until read.
    assert.equal(ep.poll(), 1);
    ep.remove(r);
    assert.equal(ep.poll(), 0);
    // The write end of an empty pipe is writable.
    ep.add(w, EPOLLOUT);
    assert.equal(ep.poll(), 1);
    assert.equal(ep.fdAt(0), w);
    ep.modify(w, EPOLLIN);
    assert.equal(ep.poll(), 0);
  } finally {
    closeQuietly(r);
    closeQuietly(w);
  }
});

Deno.test("Epoll.wait() resolves for a ready fd, and with 0 on wake() and close()", async () => {
  const [r, w] = pipe();
  const ep = new Epoll();
  try {
    ep.add(r, EPOLLIN);
    const pending = ep.wait(5000);
    assert.throws(() => ep.poll(), /a wait is pending/);
    await assert.rejects(() => ep.wait(0), /already pending/);
    writeByte(w);
    assert.equal(await pending, 1);
    assert.equal(ep.fdAt(0), r);
    ep.remove(r);
    const woken = ep.wait(-1);
    ep.wake();
    assert.equal(await woken, 0);
    const closing = ep.wait(-1);
    ep.close();
    assert.equal(await closing, 0);
    await assert.rejects(() => ep.wait(0), /closed/);
  } finally {
    ep.close();
    closeQuietly(r);
    closeQuietly(w);
  }
});

Deno.test("Epoll rejects a bad batch size and bad fds", () => {
  assert.throws(() => new Epoll(0), RangeError);
  using ep = new Epoll(4);
  assert.throws(
    () => ep.add(-1, EPOLLIN),
    /Cannot watch fd -1: epoll_ctl\(ADD\) failed with EBADF/,
  );
  assert.doesNotThrow(() => ep.remove(-1));
});

Deno.test("EpollLoop routes each ready fd to its handler and stops on close()", async () => {
  const [r1, w1] = pipe();
  const [r2, w2] = pipe();
  const loop = new EpollLoop({ maxEvents: 4 });
  const seen: number[] = [];
  const drain = (fd: number) => {
    const b = new Uint8Array(16);
    libc().read(fd, BigInt(addressOf(b)), 16n);
  };
  try {
    loop.add(r1, EPOLLIN, { ready: () => (seen.push(1), drain(r1)) });
    loop.add(r2, EPOLLIN, {
      ready: () => {
        seen.push(2);
        drain(r2);
        throw new Error("handler failure is contained");
      },
    });
    const running = loop.run();
    assert.equal(loop.run(), running);
    writeByte(w2);
    for (let i = 0; i < 200 && !seen.includes(2); i++) await new Promise((r) => setTimeout(r, 5));
    writeByte(w1);
    for (let i = 0; i < 200 && !seen.includes(1); i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(seen, [2, 1]);
    loop.forget(r1);
    writeByte(w1);
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(seen, [2, 1]);
    loop.close();
    await running;
    assert.ok(loop.closed);
    assert.ok(loop.waits >= 2 && loop.events >= 2);
  } finally {
    loop.close();
    for (const fd of [r1, w1, r2, w2]) closeQuietly(fd);
  }
});
