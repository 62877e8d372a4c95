/**
 * Scratch micro-benchmark of the WireGuard device alone (no syscalls): two
 * devices over the in-memory network, 1420-byte packets in batches of 64,
 * seal path and open path separately.
 *
 *   deno run -A bench/_device.ts
 *
 * @module
 */
import { allocPacketBuffers } from "../src/crypto/wasm/arena.ts";
import { generatePrivateKey, publicKeyFrom } from "../src/crypto/x25519.ts";
import { parsePrefix } from "../src/net/ip.ts";
import { FakeClock } from "../src/wireguard/clock.ts";
import { Device } from "../src/wireguard/device.ts";
import { fakeEndpoint, ipPacket, MemoryNetwork, RecordingTun } from "../src/wireguard/testing.ts";

const N = 64;
const clock = new FakeClock(1000);
const net = new MemoryNetwork();
const ka = generatePrivateKey(), kb = generatePrivateKey();
const ea = fakeEndpoint(1), eb = fakeEndpoint(2);
let delivered = 0;
const a = new Device({ privateKey: ka, bind: net.bind(ea), tun: new RecordingTun(), clock });
const b = new Device({
  privateKey: kb,
  bind: net.bind(eb),
  tun: { write: (_b, _s, _o, c) => void (delivered += c) },
  clock,
});
net.attach(ea, a);
net.attach(eb, b);
a.addPeer({ publicKey: publicKeyFrom(kb), endpoint: eb, allowedIps: [parsePrefix("10.0.0.2/32")] });
b.addPeer({ publicKey: publicKeyFrom(ka), endpoint: ea, allowedIps: [parsePrefix("10.0.0.1/32")] });
const tmpl = ipPacket("10.0.0.1", "10.0.0.2", new Uint8Array(1400));
a.sendPackets([tmpl.buf.slice()], [tmpl.size], 16, 1);
net.deliver();

const bufs = allocPacketBuffers(N, 2048);
const sizes = new Array<number>(N).fill(0);
const fill = () => {
  for (let i = 0; i < N; i++) {
    bufs[i].set(tmpl.buf.subarray(0, 16 + tmpl.size));
    sizes[i] = tmpl.size;
  }
};
const ITERS = 2000;
let t = performance.now();
for (let it = 0; it < ITERS; it++) {
  fill();
  a.sendPackets(bufs, sizes, 16, N);
  if (net.queue.length > 4096) net.queue.length = 0;
}
let dt = (performance.now() - t) / 1000;
console.log(`seal path: ${Math.round(ITERS * N / dt)} packets/s`);

net.queue.length = 0;
for (let it = 0; it < 40; it++) {
  fill();
  a.sendPackets(bufs, sizes, 16, N);
}
const sealed = net.queue.map((d) => d.data);
net.queue.length = 0;
const eps = Array.from({ length: N }, () => ea);
t = performance.now();
for (let k = 0; k < sealed.length; k += N) {
  for (let i = 0; i < N; i++) {
    bufs[i].set(sealed[k + i]);
    sizes[i] = sealed[k + i].length;
  }
  b.receivePackets(bufs, sizes, eps, N);
}
dt = (performance.now() - t) / 1000;
console.log(`open path: ${Math.round(sealed.length / dt)} packets/s (${delivered} delivered)`);
