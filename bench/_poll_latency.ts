// Scratch: how long from a datagram arriving to Poller.wait resolving.
import { Poller } from "../ffi/poll.ts";
import { endpointFromString, UdpSocket } from "../ffi/udp.ts";
const a = UdpSocket.bind(0), b = UdpSocket.bind(0);
const poller = new Poller();
const ep = endpointFromString(`127.0.0.1:${b.port}`);
const buf = [new Uint8Array(64)], sizes = [8], addrs = [ep];
const rb = [new Uint8Array(64)], rs = [0], ra = [new Uint8Array(28)];
const lat: number[] = [];
for (let i = 0; i < 2000; i++) {
  const w = poller.wait([b.fd], 1000);
  await new Promise((r) => setTimeout(r, 0));
  const t = performance.now();
  a.sendBatch(buf, sizes, addrs, 1);
  await w;
  lat.push(performance.now() - t);
  b.recvBatch(rb, rs, ra);
}
lat.sort((x, y) => x - y);
console.log(
  "poll wake latency µs p50",
  (lat[1000] * 1000).toFixed(0),
  "p99",
  (lat[1980] * 1000).toFixed(0),
);
