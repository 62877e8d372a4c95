import assert from "node:assert/strict";
import { EventFd } from "./eventfd.ts";
import { Poller } from "./poll.ts";

Deno.test("EventFd: a poll returns once signalled, waits again once cleared", async () => {
  using ev = new EventFd();
  using poller = new Poller();
  assert.deepEqual(await poller.wait([ev.fd], 0), [false]);
  ev.signal();
  ev.signal(); // idempotent: one clear lowers it
  assert.deepEqual(await poller.wait([ev.fd], 1000), [true]);
  assert.deepEqual(await poller.wait([ev.fd], 0), [true], "stays raised until cleared");
  ev.clear();
  assert.deepEqual(await poller.wait([ev.fd], 0), [false]);
  ev.clear(); // clearing a lowered flag is harmless
  assert.deepEqual(await poller.wait([ev.fd], 0), [false]);
});

Deno.test("EventFd: a signal from a timer releases a pending wait", async () => {
  using ev = new EventFd();
  using poller = new Poller();
  const timer = setTimeout(() => ev.signal(), 20);
  try {
    assert.deepEqual(await poller.wait([ev.fd], 10_000), [true]);
  } finally {
    clearTimeout(timer);
  }
});

Deno.test("EventFd: signal and clear after close do nothing", () => {
  const ev = new EventFd();
  ev.close();
  ev.close();
  ev.signal();
  ev.clear();
});
