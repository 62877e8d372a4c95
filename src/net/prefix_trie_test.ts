import assert from "node:assert/strict";
import { PrefixTrie } from "./prefix_trie.ts";
import { formatPrefix, type IpPrefix, parseIp, parsePrefix, prefixContains } from "./ip.ts";
import { mulberry32 } from "../testing/prng.ts";

const p = (s: string) => parsePrefix(s);
const ip = (s: string) => parseIp(s);

Deno.test("PrefixTrie.lookupIp() picks the longest matching prefix", () => {
  const t = new PrefixTrie<string>();
  t.insert(p("0.0.0.0/0"), "default");
  t.insert(p("10.0.0.0/8"), "ten");
  t.insert(p("10.1.0.0/16"), "ten-one");
  t.insert(p("10.1.2.3/32"), "host");
  t.insert(p("192.168.0.0/24"), "lan");
  t.insert(p("::/0"), "default6");
  t.insert(p("fd7a:115c:a1e0::/48"), "tailnet");
  t.insert(p("fd7a:115c:a1e0:ab12:4843:cd96:6258:b240/128"), "node");
  assert.equal(t.size, 8);
  assert.equal(t.lookupIp(ip("10.1.2.3")), "host");
  assert.equal(t.lookupIp(ip("10.1.2.4")), "ten-one");
  assert.equal(t.lookupIp(ip("10.2.0.0")), "ten");
  assert.equal(t.lookupIp(ip("11.0.0.0")), "default");
  assert.equal(t.lookupIp(ip("192.168.0.255")), "lan");
  assert.equal(t.lookupIp(ip("192.168.1.0")), "default");
  assert.equal(t.lookupIp(ip("fd7a:115c:a1e0:ab12:4843:cd96:6258:b240")), "node");
  assert.equal(t.lookupIp(ip("fd7a:115c:a1e0:ab12:4843:cd96:6258:b241")), "tailnet");
  assert.equal(t.lookupIp(ip("2001:db8::1")), "default6");
  // Families never mix: an IPv4-mapped address is not in an IPv4 prefix.
  t.remove(p("::/0"));
  assert.equal(t.lookupIp(ip("::ffff:10.1.2.3")), undefined);
  assert.equal(t.lookupIp(new Uint8Array(5)), undefined);
});

Deno.test("PrefixTrie.lookup() reads the address inside a packet buffer", () => {
  const t = new PrefixTrie<number>();
  t.insert(p("100.64.0.0/10"), 1);
  t.insert(p("fd7a:115c:a1e0::/48"), 2);
  const v4 = new Uint8Array(20);
  v4.set([100, 100, 100, 100], 16);
  assert.equal(t.lookup(v4, 16, 4), 1);
  assert.equal(t.lookup(v4, 12, 4), undefined); // 0.0.0.0 source
  const v6 = new Uint8Array(40);
  v6.set(ip("fd7a:115c:a1e0::5"), 24);
  assert.equal(t.lookup(v6, 24, 6), 2);
  // A buffer too short to hold the address matches nothing instead of reading zeros.
  assert.equal(t.lookup(v4, 17, 4), undefined);
  assert.equal(t.lookup(v6, 25, 6), undefined);
  assert.equal(t.lookup(v4, -1, 4), undefined);
});

Deno.test("PrefixTrie.insert() moves an existing prefix to the new owner", () => {
  const t = new PrefixTrie<string>();
  t.insert(p("10.0.0.0/24"), "a");
  t.insert(p("10.0.0.7/24"), "b"); // host bits are ignored: the same prefix
  assert.equal(t.size, 1);
  assert.equal(t.lookupIp(ip("10.0.0.1")), "b");
  assert.deepEqual(t.prefixesWhere((w) => w === "a"), []);
  assert.deepEqual(t.prefixesWhere((w) => w === "b").map(formatPrefix), ["10.0.0.0/24"]);
  assert.equal(t.get(p("10.0.0.0/24")), "b");
  assert.equal(t.get(p("10.0.0.0/25")), undefined);
});

Deno.test("PrefixTrie.remove() and removeWhere() drop prefixes and report what they did", () => {
  const t = new PrefixTrie<string>();
  t.insert(p("10.0.0.0/8"), "a");
  t.insert(p("10.0.0.0/16"), "b");
  t.insert(p("10.0.1.0/24"), "a");
  t.insert(p("2001:db8::/32"), "a");
  t.insert(p("2001:db8::1/128"), "b");
  assert.equal(t.remove(p("10.0.0.0/16")), true);
  assert.equal(t.remove(p("10.0.0.0/16")), false);
  assert.equal(t.remove(p("10.0.0.0/12")), false);
  assert.equal(t.remove(p("11.0.0.0/8")), false);
  assert.equal(t.size, 4);
  assert.equal(t.lookupIp(ip("10.0.2.1")), "a");
  t.removeWhere((w) => w === "a");
  assert.equal(t.size, 1);
  assert.equal(t.lookupIp(ip("10.0.1.1")), undefined);
  assert.equal(t.lookupIp(ip("2001:db8::2")), undefined);
  assert.equal(t.lookupIp(ip("2001:db8::1")), "b");
  assert.deepEqual(t.entries().map(([q, v]) => [formatPrefix(q), v]), [["2001:db8::1/128", "b"]]);
  t.clear();
  assert.equal(t.size, 0);
  assert.equal(t.lookupIp(ip("2001:db8::1")), undefined);
});

Deno.test("PrefixTrie.entries() lists IPv4 then IPv6 in address order, shorter first", () => {
  const t = new PrefixTrie<number>();
  const texts = [
    "fd00::/8",
    "10.0.0.0/8",
    "10.0.0.0/24",
    "0.0.0.0/0",
    "192.168.1.1/32",
    "10.128.0.0/9",
    "::/0",
    "fd00::1/128",
  ];
  texts.forEach((s, i) => t.insert(p(s), i));
  assert.deepEqual(t.entries().map(([q]) => formatPrefix(q)), [
    "0.0.0.0/0",
    "10.0.0.0/8",
    "10.0.0.0/24",
    "10.128.0.0/9",
    "192.168.1.1/32",
    "::/0",
    "fd00::/8",
    "fd00::1/128",
  ]);
  assert.match(t.toString(), /^0\.0\.0\.0\/0 → 3$/m);
});

Deno.test("PrefixTrie.insert() rejects impossible prefixes", () => {
  const t = new PrefixTrie<number>();
  assert.throws(() => t.insert({ ip: new Uint8Array(4), bits: 33 }, 1), RangeError);
  assert.throws(() => t.insert({ ip: new Uint8Array(16), bits: -1 }, 1), RangeError);
  assert.throws(() => t.insert({ ip: new Uint8Array(6), bits: 8 }, 1), TypeError);
  assert.equal(t.size, 0);
});

Deno.test("PrefixTrie matches a brute-force oracle on random IPv4 operations", () => {
  runOracle(4, 0xa11ce, 4000, 8000);
});

Deno.test("PrefixTrie matches a brute-force oracle on random IPv6 operations", () => {
  runOracle(16, 0xb0b, 4000, 8000);
});

Deno.test("PrefixTrie matches the oracle after removing everything, one peer at a time", () => {
  const rand = mulberry32(99);
  const t = new PrefixTrie<number>();
  const oracle = new Map<string, [IpPrefix, number]>();
  for (let i = 0; i < 2000; i++) {
    const q = randomPrefix(rand, rand() < 0.5 ? 4 : 16);
    const v = Math.floor(rand() * 20);
    t.insert(q, v);
    oracle.set(formatPrefix(q), [q, v]);
  }
  for (let v = 0; v < 20; v++) {
    t.removeWhere((w) => w === v);
    for (const [k, [, ov]] of oracle) if (ov === v) oracle.delete(k);
    assert.equal(t.size, oracle.size);
    checkLookups(t, oracle, rand, 300);
  }
  assert.deepEqual(t.entries(), []);
});

/** Random operations mirrored on a Map, checked with lookups against a linear scan. */
function runOracle(bytes: 4 | 16, seed: number, ops: number, lookups: number): void {
  const rand = mulberry32(seed);
  const t = new PrefixTrie<number>();
  const oracle = new Map<string, [IpPrefix, number]>();
  for (let i = 0; i < ops; i++) {
    const r = rand();
    if (r < 0.6) {
      const q = randomPrefix(rand, bytes);
      const v = Math.floor(rand() * 50);
      t.insert(q, v);
      oracle.set(formatPrefix(q), [q, v]);
    } else if (r < 0.9) {
      // Remove a stored prefix most of the time, a random (likely absent) one otherwise.
      const keys = [...oracle.keys()];
      const q = keys.length > 0 && rand() < 0.8
        ? oracle.get(keys[Math.floor(rand() * keys.length)])![0]
        : randomPrefix(rand, bytes);
      const k = formatPrefix(q);
      assert.equal(t.remove(q), oracle.delete(k), `remove ${k}`);
    } else if (r < 0.92) {
      const v = Math.floor(rand() * 50);
      t.removeWhere((w) => w === v);
      for (const [k, [, ov]] of oracle) if (ov === v) oracle.delete(k);
    } else {
      checkLookups(t, oracle, rand, 50);
    }
    assert.equal(t.size, oracle.size);
  }
  checkLookups(t, oracle, rand, lookups);
  const want = [...oracle.values()].map(([q, v]) => [formatPrefix(q), v]).sort();
  assert.deepEqual(t.entries().map(([q, v]) => [formatPrefix(q), v]).sort(), want);
  for (let v = 0; v < 50; v++) {
    const mine = t.prefixesWhere((w) => w === v).map(formatPrefix).sort();
    const theirs = [...oracle.values()].filter(([, ov]) => ov === v).map(([q]) => formatPrefix(q));
    assert.deepEqual(mine, theirs.sort());
  }
}

function checkLookups(
  t: PrefixTrie<number>,
  oracle: Map<string, [IpPrefix, number]>,
  rand: () => number,
  n: number,
): void {
  const stored = [...oracle.values()];
  for (let i = 0; i < n; i++) {
    // Half the probes land inside a stored prefix so deep matches get exercised.
    const bytes = rand() < 0.5 ? 4 : 16;
    const addr = randomAddress(rand, bytes);
    if (stored.length > 0 && rand() < 0.5) {
      const [q] = stored[Math.floor(rand() * stored.length)];
      if (q.ip.length === bytes) {
        for (let b = 0; b < q.bits; b++) {
          const mask = 0x80 >> (b & 7);
          addr[b >> 3] = (addr[b >> 3] & ~mask) | (q.ip[b >> 3] & mask);
        }
      }
    }
    let best: [IpPrefix, number] | undefined;
    for (const e of stored) {
      if (prefixContains(e[0], addr) && (best === undefined || e[0].bits > best[0].bits)) best = e;
    }
    const packet = new Uint8Array(bytes + 7);
    packet.set(addr, 3);
    assert.equal(t.lookupIp(addr), best?.[1], `lookup ${addr.join(",")}`);
    assert.equal(t.lookup(packet, 3, bytes === 4 ? 4 : 6), best?.[1]);
  }
}

/** Addresses drawn from a few shared stems so that prefixes nest and diverge at every depth. */
function randomAddress(rand: () => number, bytes: number): Uint8Array {
  const stems = [0x0a, 0x64, 0xfd];
  const a = new Uint8Array(bytes);
  a[0] = stems[Math.floor(rand() * stems.length)];
  const shared = Math.floor(rand() * bytes);
  for (let i = 1; i < bytes; i++) a[i] = i <= shared ? (i * 37) & 0xff : Math.floor(rand() * 256);
  if (rand() < 0.3) a[Math.floor(rand() * bytes)] ^= 1 << Math.floor(rand() * 8);
  return a;
}

function randomPrefix(rand: () => number, bytes: number): IpPrefix {
  const addr = randomAddress(rand, bytes);
  const max = bytes * 8;
  // Favour long prefixes (host routes) but cover every length, /0 included.
  const bits = rand() < 0.3 ? max : Math.floor(rand() * (max + 1));
  return parsePrefix(`${formatAddr(addr)}/${bits}`);
}

function formatAddr(a: Uint8Array): string {
  if (a.length === 4) return a.join(".");
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((a[i] << 8) | a[i + 1]).toString(16));
  return g.join(":");
}
