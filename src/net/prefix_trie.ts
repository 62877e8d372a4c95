/**
 * A longest-prefix-match table from IP prefixes to values: the trie under
 * WireGuard's cryptokey routing table and the packet filter's address sets.
 *
 * @module
 */

import { formatPrefix, type IpPrefix } from "./ip.ts";

/**
 * One trie node. The prefix is kept as four big-endian 32-bit words (only the
 * first is used for IPv4) stored as int32 together with their masks, so a
 * lookup compares whole words read straight from the packet.
 */
class Node<T> {
  w0 = 0;
  w1 = 0;
  w2 = 0;
  w3 = 0;
  m0 = 0;
  m1 = 0;
  m2 = 0;
  m3 = 0;
  /** Word index and right shift of bit number `cidr`, the bit that picks a child. */
  bitWord: number;
  bitShift: number;
  c0: Node<T> | null = null;
  c1: Node<T> | null = null;
  /** Whether this node is a stored prefix (otherwise only a branch point). */
  has = false;
  value: T | undefined = undefined;

  constructor(key: Int32Array, readonly cidr: number) {
    this.m0 = maskWord(cidr, 0);
    this.m1 = maskWord(cidr, 1);
    this.m2 = maskWord(cidr, 2);
    this.m3 = maskWord(cidr, 3);
    this.w0 = key[0] & this.m0;
    this.w1 = key[1] & this.m1;
    this.w2 = key[2] & this.m2;
    this.w3 = key[3] & this.m3;
    this.bitWord = cidr >> 5;
    this.bitShift = 31 - (cidr & 31);
  }

  word(i: number): number {
    return i === 0 ? this.w0 : i === 1 ? this.w1 : i === 2 ? this.w2 : this.w3;
  }
}

/**
 * IP prefixes mapped to values, looked up by longest-prefix match.
 *
 * A path-compressed binary trie per family: a lookup visits at most one node
 * per distinct prefix length on the path (in practice a handful), compares
 * whole 32-bit words, and allocates nothing.
 *
 * Values are compared with `===`; a prefix belongs to exactly one value.
 *
 * @example
 * ```ts
 * import { PrefixTrie } from "./prefix_trie.ts";
 * import { parseIp, parsePrefix } from "./ip.ts";
 * const table = new PrefixTrie<string>();
 * table.insert(parsePrefix("10.0.0.0/8"), "gateway");
 * table.insert(parsePrefix("10.1.2.3/32"), "laptop");
 * table.lookupIp(parseIp("10.1.2.3")); // "laptop"
 * table.lookupIp(parseIp("10.9.9.9")); // "gateway"
 * ```
 */
export class PrefixTrie<T> {
  #root4: Node<T> | null = null;
  #root6: Node<T> | null = null;
  #size = 0;

  /** Number of prefixes stored. */
  get size(): number {
    return this.#size;
  }

  /**
   * Stores `prefix` for `value`. If the prefix is already stored it moves to
   * `value` (a prefix has one value). Host bits in `prefix.ip` are ignored.
   *
   * @throws {TypeError} if the address is not 4 or 16 bytes
   * @throws {RangeError} if `bits` is out of range for the family
   */
  insert(prefix: IpPrefix, value: T): void {
    const { key, maxBits } = prefixKey(prefix);
    const cidr = prefix.bits;
    const v6 = maxBits === 128;
    const fresh = new Node<T>(key, cidr);
    fresh.has = true;
    fresh.value = value;

    let parent: Node<T> | null = null;
    let node = v6 ? this.#root6 : this.#root4;
    while (node !== null) {
      const common = commonBits(node, key, Math.min(node.cidr, cidr));
      if (node.cidr === cidr && common === cidr) {
        if (!node.has) this.#size++;
        node.has = true;
        node.value = value;
        return;
      }
      if (common === node.cidr) {
        // `node` is a shorter prefix of the new one: go down.
        parent = node;
        node = bitAt(key, node.cidr) === 0 ? node.c0 : node.c1;
        continue;
      }
      let replacement: Node<T>;
      if (common === cidr) {
        // The new prefix is a shorter prefix of `node`: it goes above.
        replacement = fresh;
        setChild(fresh, nodeBitAt(node, cidr), node);
      } else {
        // They diverge at bit `common`: a branch node holds both.
        replacement = new Node<T>(key, common);
        setChild(replacement, nodeBitAt(node, common), node);
        setChild(replacement, bitAt(key, common), fresh);
      }
      this.#replace(parent, key, v6, replacement);
      this.#size++;
      return;
    }
    this.#replace(parent, key, v6, fresh);
    this.#size++;
  }

  /**
   * Removes `prefix` (host bits ignored). Returns whether it was stored.
   *
   * @throws {TypeError} if the address is not 4 or 16 bytes
   * @throws {RangeError} if `bits` is out of range for the family
   */
  remove(prefix: IpPrefix): boolean {
    const { key, maxBits } = prefixKey(prefix);
    const v6 = maxBits === 128;
    const before = this.#size;
    const root = this.#removeFrom(v6 ? this.#root6 : this.#root4, key, prefix.bits);
    if (v6) this.#root6 = root;
    else this.#root4 = root;
    return this.#size !== before;
  }

  /** Removes every prefix whose value satisfies `drop`, in one walk. */
  removeWhere(drop: (value: T) => boolean): void {
    const prune = (node: Node<T> | null): Node<T> | null => {
      if (node === null) return null;
      node.c0 = prune(node.c0);
      node.c1 = prune(node.c1);
      if (node.has && drop(node.value as T)) {
        node.has = false;
        node.value = undefined;
        this.#size--;
      }
      return compact(node);
    };
    this.#root4 = prune(this.#root4);
    this.#root6 = prune(this.#root6);
  }

  /** Removes everything. */
  clear(): void {
    this.#root4 = null;
    this.#root6 = null;
    this.#size = 0;
  }

  /**
   * The value owning the address at `buf[offset..offset+4]` (family 4) or
   * `buf[offset..offset+16]` (family 6), by longest-prefix match; undefined if
   * none does or the buffer is too short to hold the address. This is the hot
   * path: it reads the packet in place and allocates nothing.
   *
   * @example
   * ```ts
   * import { PrefixTrie } from "./prefix_trie.ts";
   * import { parsePrefix } from "./ip.ts";
   * const table = new PrefixTrie<number>();
   * table.insert(parsePrefix("192.168.0.0/16"), 7);
   * const packet = new Uint8Array(20);
   * packet.set([192, 168, 4, 2], 16); // IPv4 destination address
   * table.lookup(packet, 16, 4); // 7
   * ```
   */
  lookup(buf: Uint8Array, offset: number, family: 4 | 6): T | undefined {
    if (family === 4) {
      if (offset < 0 || offset + 4 > buf.length) return undefined;
      return lookup4(this.#root4, word(buf, offset));
    }
    if (offset < 0 || offset + 16 > buf.length) return undefined;
    return lookup6(
      this.#root6,
      word(buf, offset),
      word(buf, offset + 4),
      word(buf, offset + 8),
      word(buf, offset + 12),
    );
  }

  /** The value owning `ip` (4 or 16 bytes) by longest-prefix match, or undefined. */
  lookupIp(ip: Uint8Array): T | undefined {
    if (ip.length === 4) return this.lookup(ip, 0, 4);
    if (ip.length === 16) return this.lookup(ip, 0, 6);
    return undefined;
  }

  /** The value stored for exactly `prefix` (no longest-prefix match), or undefined. */
  get(prefix: IpPrefix): T | undefined {
    const { key, maxBits } = prefixKey(prefix);
    let node = maxBits === 128 ? this.#root6 : this.#root4;
    while (node !== null && node.cidr <= prefix.bits) {
      if (commonBits(node, key, node.cidr) < node.cidr) return undefined;
      if (node.cidr === prefix.bits) return node.has ? node.value : undefined;
      node = bitAt(key, node.cidr) === 0 ? node.c0 : node.c1;
    }
    return undefined;
  }

  /** Every prefix whose value satisfies `keep`, IPv4 first, in address order. */
  prefixesWhere(keep: (value: T) => boolean): IpPrefix[] {
    const out: IpPrefix[] = [];
    this.#walk((p, v) => {
      if (keep(v)) out.push(p);
    });
    return out;
  }

  /** Every stored prefix and its value, IPv4 first, in address order (shorter first on a tie). */
  entries(): Array<[IpPrefix, T]> {
    const out: Array<[IpPrefix, T]> = [];
    this.#walk((p, v) => out.push([p, v]));
    return out;
  }

  /** Debug form: one `prefix → value` per line. */
  toString(): string {
    return this.entries().map(([p, v]) => `${formatPrefix(p)} → ${String(v)}`).join("\n");
  }

  #walk(visit: (p: IpPrefix, v: T) => void): void {
    const rec = (node: Node<T> | null, bytes: number) => {
      if (node === null) return;
      if (node.has) visit(nodePrefix(node, bytes), node.value as T);
      rec(node.c0, bytes);
      rec(node.c1, bytes);
    };
    rec(this.#root4, 4);
    rec(this.#root6, 16);
  }

  #replace(parent: Node<T> | null, key: Int32Array, v6: boolean, node: Node<T>): void {
    if (parent === null) {
      if (v6) this.#root6 = node;
      else this.#root4 = node;
    } else {
      setChild(parent, bitAt(key, parent.cidr), node);
    }
  }

  #removeFrom(node: Node<T> | null, key: Int32Array, cidr: number): Node<T> | null {
    if (node === null || node.cidr > cidr) return node;
    if (commonBits(node, key, node.cidr) < node.cidr) return node;
    if (node.cidr === cidr) {
      if (!node.has) return node;
      node.has = false;
      node.value = undefined;
      this.#size--;
      return compact(node);
    }
    if (bitAt(key, node.cidr) === 0) node.c0 = this.#removeFrom(node.c0, key, cidr);
    else node.c1 = this.#removeFrom(node.c1, key, cidr);
    return compact(node);
  }
}

// --- internals ---

function lookup4<T>(root: Node<T> | null, k: number): T | undefined {
  let found: T | undefined = undefined;
  let node = root;
  while (node !== null) {
    if ((k & node.m0) !== node.w0) break;
    if (node.has) found = node.value;
    node = ((k >>> node.bitShift) & 1) === 0 ? node.c0 : node.c1;
  }
  return found;
}

function lookup6<T>(
  root: Node<T> | null,
  k0: number,
  k1: number,
  k2: number,
  k3: number,
): T | undefined {
  let found: T | undefined = undefined;
  let node = root;
  while (node !== null) {
    if (
      (k0 & node.m0) !== node.w0 || (k1 & node.m1) !== node.w1 ||
      (k2 & node.m2) !== node.w2 || (k3 & node.m3) !== node.w3
    ) break;
    if (node.has) found = node.value;
    const w = node.bitWord;
    const k = w === 0 ? k0 : w === 1 ? k1 : w === 2 ? k2 : k3;
    node = ((k >>> node.bitShift) & 1) === 0 ? node.c0 : node.c1;
  }
  return found;
}

/** Big-endian 32-bit word at `o`, as int32. */
function word(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

/** Mask (int32) of word `w` for a prefix of `bits` bits. */
function maskWord(bits: number, w: number): number {
  const n = bits - w * 32;
  if (n <= 0) return 0;
  if (n >= 32) return -1;
  return -1 << (32 - n);
}

function prefixKey(prefix: IpPrefix): { key: Int32Array; maxBits: number } {
  const { ip, bits } = prefix;
  if (ip.length !== 4 && ip.length !== 16) {
    throw new TypeError(`IP address must be 4 or 16 bytes, got ${ip.length}`);
  }
  const maxBits = ip.length * 8;
  if (!Number.isInteger(bits) || bits < 0 || bits > maxBits) {
    throw new RangeError(`Prefix length ${bits} out of range 0-${maxBits}`);
  }
  const key = new Int32Array(4);
  for (let i = 0; i < ip.length / 4; i++) key[i] = word(ip, i * 4);
  return { key, maxBits };
}

function bitAt(key: Int32Array, i: number): number {
  return (key[i >> 5] >>> (31 - (i & 31))) & 1;
}

function nodeBitAt<T>(node: Node<T>, i: number): number {
  return (node.word(i >> 5) >>> (31 - (i & 31))) & 1;
}

/** Number of leading bits `node` and `key` share, at most `limit`. */
function commonBits<T>(node: Node<T>, key: Int32Array, limit: number): number {
  for (let w = 0; w * 32 < limit; w++) {
    const x = node.word(w) ^ key[w];
    if (x !== 0) return Math.min(limit, w * 32 + Math.clz32(x));
  }
  return limit;
}

function setChild<T>(parent: Node<T>, bit: number, child: Node<T>): void {
  if (bit === 0) parent.c0 = child;
  else parent.c1 = child;
}

/** A branch point that no longer branches is dropped in favour of its only child. */
function compact<T>(node: Node<T>): Node<T> | null {
  if (node.has || (node.c0 !== null && node.c1 !== null)) return node;
  return node.c0 ?? node.c1;
}

function nodePrefix<T>(node: Node<T>, bytes: number): IpPrefix {
  const ip = new Uint8Array(bytes);
  const view = new DataView(ip.buffer);
  for (let i = 0; i < bytes / 4; i++) view.setInt32(i * 4, node.word(i));
  return { ip, bits: node.cidr };
}
