// Scratch: how long from a datagram arriving to the main thread's wait resolving, for the
// thread-pool Poller and for a Worker blocked in poll(2) that wakes the main thread with
// Atomics.notify (awaited with Atomics.waitAsync). Both pay for waking the main event loop.
//
//   deno run -A bench/_poll_latency.ts
import { Poller } from "../ffi/poll.ts";
import { endpointFromString, UdpSocket } from "../ffi/udp.ts";

const a = UdpSocket.bind(0), b = UdpSocket.bind(0);
const ep = endpointFromString(`127.0.0.1:${b.port}`);
const buf = [new Uint8Array(64)], sizes = [8], addrs = [ep];
const rb = [new Uint8Array(64)], rs = [0], ra = [new Uint8Array(28)];

// The poll Worker: waits for a request word to change, polls the pollfd array in shared
// memory (one fd, POLLIN), then bumps the result word and notifies it.
const WORKER = `
const lib = Deno.dlopen("libc.so.6", { poll: { parameters: ["buffer", "u64", "i32"], result: "i32" } });
self.onmessage = (e) => {
  const ctl = new Int32Array(e.data, 0, 4), fds = new Uint8Array(e.data, 64, 8);
  for (let seen = 0; ; ) {
    Atomics.wait(ctl, 0, seen);
    seen = Atomics.load(ctl, 0);
    if (seen < 0) return self.close();
    lib.symbols.poll(fds, 1n, 1000);
    Atomics.store(ctl, 1, seen);
    Atomics.notify(ctl, 1);
  }
};`;
const sab = new SharedArrayBuffer(72);
const ctl = new Int32Array(sab, 0, 4);
const pollfd = new DataView(sab, 64, 8);
pollfd.setInt32(0, b.fd, true);
pollfd.setInt16(4, 1, true); // POLLIN
const worker = new Worker(URL.createObjectURL(new Blob([WORKER], { type: "text/javascript" })), {
  type: "module",
});
worker.postMessage(sab);
await new Promise((r) => setTimeout(r, 300));
let req = 0;
async function workerWait(): Promise<void> {
  pollfd.setInt16(6, 0, true);
  const prev = Atomics.load(ctl, 1);
  Atomics.store(ctl, 0, ++req);
  Atomics.notify(ctl, 0);
  const w = Atomics.waitAsync(ctl, 1, prev);
  if (w.async) await w.value;
}

const poller = new Poller();
async function measure(name: string, wait: () => Promise<unknown>): Promise<void> {
  const lat: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const w = wait();
    await new Promise((r) => setTimeout(r, 0));
    const t = performance.now();
    a.sendBatch(buf, sizes, addrs, 1);
    await w;
    lat.push(performance.now() - t);
    b.recvBatch(rb, rs, ra);
  }
  lat.sort((x, y) => x - y);
  const us = (q: number) => (lat[Math.floor(lat.length * q)] * 1000).toFixed(0).padStart(5);
  console.log(`${name.padEnd(40)} wake latency µs p50 ${us(0.5)} p99 ${us(0.99)}`);
}
for (let round = 0; round < 2; round++) {
  await measure("Poller (Deno's thread pool)", () => poller.wait([b.fd], 1000));
  await measure("poll(2) Worker + Atomics.waitAsync", workerWait);
}
Atomics.store(ctl, 0, -1);
Atomics.notify(ctl, 0);
poller.close();
a.close();
b.close();
