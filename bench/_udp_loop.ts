/**
 * Scratch benchmark: UDP packets per second through ffi/udp.ts on loopback, one process, one
 * core, batches of 64 × 1420 bytes. A sends a batch to B, B drains it, repeat.
 *
 *   deno run -A bench/_udp_loop.ts [seconds=3]
 *
 * Also runs the loop alternating two buffer sets, so every batch misses the per-slot pointer
 * cache, to show what the cache saves.
 *
 * @module
 */

import { ENDPOINT_SIZE, endpointFromString, UdpSocket } from "../ffi/udp.ts";
import { Poller } from "../ffi/poll.ts";

const BATCH = 64;
const SIZE = 1420;
const seconds = Number(Deno.args[0] ?? 3);

async function run(label: string, freshBuffers: boolean, host: string) {
  // freshBuffers alternates two preallocated buffer sets, so every batch misses the cache.
  const a = UdpSocket.bind(0);
  const b = UdpSocket.bind(0);
  const poller = new Poller();
  const to = endpointFromString(`${host}:${b.port}`);
  const make = () => Array.from({ length: BATCH }, () => new Uint8Array(SIZE + 16));
  const sets = [[make(), make()], [make(), make()]];
  let [sendBufs, recvBufs] = sets[0];
  let round = 0;
  const sizes = new Array<number>(BATCH).fill(SIZE);
  const recvSizes = new Array<number>(BATCH).fill(0);
  const sendAddrs = Array.from({ length: BATCH }, () => to);
  const recvAddrs = Array.from({ length: BATCH }, () => new Uint8Array(ENDPOINT_SIZE));
  let sent = 0, received = 0, waits = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  while (performance.now() < end) {
    if (freshBuffers) [sendBufs, recvBufs] = sets[++round & 1];
    sent += a.sendBatch(sendBufs, sizes, sendAddrs, BATCH, 16);
    let got = 0;
    while (got < BATCH) {
      const n = b.recvBatch(recvBufs, recvSizes, recvAddrs, 16);
      if (n === 0) {
        waits++;
        const [ready] = await poller.wait([b.fd], 50);
        if (!ready) break;
        continue;
      }
      got += n;
    }
    received += got;
  }
  const secs = (performance.now() - start) / 1000;
  const pps = received / secs;
  console.log(
    `${label.padEnd(36)} ${Math.round(pps).toLocaleString("en-US").padStart(9)} pkt/s  ` +
      `${(pps * SIZE * 8 / 1e9).toFixed(2)} Gbit/s  (sent ${sent}, received ${received}, ` +
      `lost ${sent - received}, waits ${waits})`,
  );
  a.close();
  b.close();
  poller.close();
}

await run("IPv4 loopback, cached buffers", false, "127.0.0.1");
await run("IPv6 loopback, cached buffers", false, "[::1]");
await run("IPv4 loopback, buffers swapped per batch", true, "127.0.0.1");
