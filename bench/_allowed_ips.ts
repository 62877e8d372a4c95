/**
 * Scratch micro-benchmark for the cryptokey routing table's lookup hot path.
 *
 * Run: deno run bench/_allowed_ips.ts
 *
 * @module
 */

import { AllowedIps } from "../src/wireguard/allowed_ips.ts";
import { parsePrefix } from "../src/net/ip.ts";
import { mulberry32 } from "../src/testing/prng.ts";

const rand = mulberry32(7);
const byte = () => Math.floor(rand() * 256);

/** A tailnet-like table: one /32 + /128 per peer, a few subnet routes, an exit node. */
function buildTable(peers: number): AllowedIps<number> {
  const t = new AllowedIps<number>();
  for (let i = 0; i < peers; i++) {
    t.insert(parsePrefix(`100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`), i);
    t.insert(parsePrefix(`fd7a:115c:a1e0::${i.toString(16)}/128`), i);
    if (i % 10 === 0) t.insert(parsePrefix(`10.${i & 255}.${byte()}.0/24`), i);
  }
  t.insert(parsePrefix("0.0.0.0/0"), 0);
  t.insert(parsePrefix("::/0"), 0);
  return t;
}

function bench(name: string, t: AllowedIps<number>, packets: Uint8Array, family: 4 | 6) {
  const n = packets.length / 16;
  let sink = 0;
  for (let w = 0; w < 3; w++) {
    for (let i = 0; i < n; i++) sink += t.lookup(packets, i * 16, family) ?? 0;
  }
  const rounds = 20;
  const start = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) sink += t.lookup(packets, i * 16, family) ?? 0;
  }
  const ms = performance.now() - start;
  const perSec = (rounds * n) / (ms / 1000);
  console.log(`${name.padEnd(44)} ${(perSec / 1e6).toFixed(1)} M lookups/s  (sink ${sink % 7})`);
}

for (const peers of [100, 10_000]) {
  const t = buildTable(peers);
  const n = 100_000;
  const v4 = new Uint8Array(n * 16);
  const v6 = new Uint8Array(n * 16);
  for (let i = 0; i < n; i++) {
    const peer = Math.floor(rand() * peers);
    const o = i * 16;
    if (rand() < 0.8) v4.set([100, 64 + (peer >> 16), (peer >> 8) & 255, peer & 255], o);
    else v4.set([byte(), byte(), byte(), byte()], o);
    v6.set([0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0], o);
    v6[o + 14] = (peer >> 8) & 255;
    v6[o + 15] = peer & 255;
  }
  console.log(`table: ${peers} peers, ${t.size} prefixes`);
  bench("  IPv4 (80% tailnet hosts, 20% random)", t, v4, 4);
  bench("  IPv6 (tailnet hosts)", t, v6, 6);
}
