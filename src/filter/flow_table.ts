/**
 * A fixed-size LRU set of flows (protocol, addresses, ports), stored in
 * typed arrays so that adding and looking up a flow read the tuple straight
 * from packet bytes and allocate nothing.
 *
 * @module
 */

const WORDS = 10; // tag, ports, 4 words of address A, 4 words of address B

/**
 * The set of UDP/SCTP flows this node opened, keyed as the reply will look
 * (remote → local), so that inbound replies can be let through. Least
 * recently used entries fall out when it is full (tailscaled keeps 512).
 *
 * @example
 * ```ts
 * import { FlowTable } from "./flow_table.ts";
 * const t = new FlowTable(2);
 * const b = new Uint8Array([10, 0, 0, 1, 10, 0, 0, 2]);
 * t.add(17, b, 0, 4, 4, 53, 40000);
 * t.has(17, b, 0, 4, 4, 53, 40000); // true
 * t.has(17, b, 4, 0, 4, 40000, 53); // false: the other direction
 * ```
 */
export class FlowTable {
  /** Most flows held at once; adding one more evicts the least recently used. */
  readonly capacity: number;
  #keys: Int32Array;
  #hash: Int32Array;
  #prev: Int32Array;
  #next: Int32Array;
  #slots: Int32Array; // entry index + 1, 0 = empty
  #mask: number;
  #size = 0;
  #head = -1; // most recently used
  #tail = -1; // least recently used
  #scratch = new Int32Array(WORDS);

  /**
   * Preallocates every array for `capacity` flows, so adding a flow never allocates.
   *
   * @param capacity how many flows to remember (at least 1)
   * @throws {RangeError} if `capacity` is not a positive integer
   */
  constructor(capacity = 512) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Flow table capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
    this.#keys = new Int32Array(capacity * WORDS);
    this.#hash = new Int32Array(capacity);
    this.#prev = new Int32Array(capacity);
    this.#next = new Int32Array(capacity);
    let slots = 2;
    while (slots < capacity * 2) slots *= 2;
    this.#slots = new Int32Array(slots);
    this.#mask = slots - 1;
  }

  /** Number of flows remembered. */
  get size(): number {
    return this.#size;
  }

  /** Forgets every flow. */
  clear(): void {
    this.#slots.fill(0);
    this.#size = 0;
    this.#head = this.#tail = -1;
  }

  /**
   * Remembers the flow `proto` from address A (at `buf[aOff]`) port `aPort`
   * to address B (at `buf[bOff]`) port `bPort`; addresses are `addrLen`
   * (4 or 16) bytes. Refreshes it if already present.
   */
  add(
    proto: number,
    buf: Uint8Array,
    aOff: number,
    bOff: number,
    addrLen: number,
    aPort: number,
    bPort: number,
  ): void {
    this.#insert(this.#load(proto, buf, aOff, bOff, addrLen, aPort, bPort));
  }

  /**
   * Every flow, least recently used first, `WORDS` words each: what {@linkcode FlowTable.restore}
   * takes, so a filter rebuilt elsewhere (a data plane's Worker started again after a sleep)
   * still lets the replies through.
   */
  entries(): Int32Array {
    const out = new Int32Array(this.#size * WORDS);
    let at = 0;
    for (let e = this.#tail; e >= 0; e = this.#prev[e], at += WORDS) {
      out.set(this.#keys.subarray(e * WORDS, (e + 1) * WORDS), at);
    }
    return out;
  }

  /** Remembers the flows of another table's {@linkcode FlowTable.entries}, in their order. */
  restore(entries: Int32Array): void {
    for (let at = 0; at + WORDS <= entries.length; at += WORDS) {
      this.#scratch.set(entries.subarray(at, at + WORDS));
      this.#insert(this.#hashScratch());
    }
  }

  /** Adds (or refreshes) the flow in the scratch key, whose hash is `h`. */
  #insert(h: number): void {
    const found = this.#find(h);
    if (found >= 0) {
      this.#touch(found);
      return;
    }
    let e: number;
    if (this.#size < this.capacity) {
      e = this.#size++;
    } else {
      e = this.#tail;
      this.#removeSlot(e);
      this.#unlink(e);
    }
    this.#keys.set(this.#scratch, e * WORDS);
    this.#hash[e] = h;
    this.#pushFront(e);
    let s = h & this.#mask;
    while (this.#slots[s] !== 0) s = (s + 1) & this.#mask;
    this.#slots[s] = e + 1;
  }

  /** Whether the flow (same arguments as {@linkcode FlowTable.add}) is remembered; refreshes it. */
  has(
    proto: number,
    buf: Uint8Array,
    aOff: number,
    bOff: number,
    addrLen: number,
    aPort: number,
    bPort: number,
  ): boolean {
    const e = this.#find(this.#load(proto, buf, aOff, bOff, addrLen, aPort, bPort));
    if (e < 0) return false;
    this.#touch(e);
    return true;
  }

  /** Fills the scratch key and returns its hash. */
  #load(
    proto: number,
    buf: Uint8Array,
    aOff: number,
    bOff: number,
    addrLen: number,
    aPort: number,
    bPort: number,
  ): number {
    const k = this.#scratch;
    k[0] = (proto << 8) | addrLen;
    k[1] = (aPort << 16) | bPort;
    for (let w = 0; w < 4; w++) {
      if (w * 4 < addrLen) {
        const a = aOff + w * 4;
        const b = bOff + w * 4;
        k[2 + w] = (buf[a] << 24) | (buf[a + 1] << 16) | (buf[a + 2] << 8) | buf[a + 3];
        k[6 + w] = (buf[b] << 24) | (buf[b + 1] << 16) | (buf[b + 2] << 8) | buf[b + 3];
      } else {
        k[2 + w] = k[6 + w] = 0;
      }
    }
    return this.#hashScratch();
  }

  #hashScratch(): number {
    const k = this.#scratch;
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < WORDS; i++) h = Math.imul(h ^ k[i], 0x01000193);
    return (h ^ (h >>> 15)) | 0;
  }

  #find(h: number): number {
    const k = this.#scratch;
    for (let s = h & this.#mask;; s = (s + 1) & this.#mask) {
      const v = this.#slots[s];
      if (v === 0) return -1;
      const e = v - 1;
      if (this.#hash[e] !== h) continue;
      const base = e * WORDS;
      let same = true;
      for (let i = 0; i < WORDS; i++) {
        if (this.#keys[base + i] !== k[i]) {
          same = false;
          break;
        }
      }
      if (same) return e;
    }
  }

  /** Deletes entry `e` from the open-addressing slots, shifting followers back (no tombstones). */
  #removeSlot(e: number): void {
    const mask = this.#mask;
    let i = this.#hash[e] & mask;
    while (this.#slots[i] !== e + 1) i = (i + 1) & mask;
    this.#slots[i] = 0;
    for (let j = (i + 1) & mask; this.#slots[j] !== 0; j = (j + 1) & mask) {
      const home = this.#hash[this.#slots[j] - 1] & mask;
      // Move j back into the hole unless its home lies cyclically in (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        this.#slots[i] = this.#slots[j];
        this.#slots[j] = 0;
        i = j;
      }
    }
  }

  #touch(e: number): void {
    if (this.#head === e) return;
    this.#unlink(e);
    this.#pushFront(e);
  }

  #unlink(e: number): void {
    const p = this.#prev[e];
    const n = this.#next[e];
    if (p >= 0) this.#next[p] = n;
    else this.#head = n;
    if (n >= 0) this.#prev[n] = p;
    else this.#tail = p;
  }

  #pushFront(e: number): void {
    this.#prev[e] = -1;
    this.#next[e] = this.#head;
    if (this.#head >= 0) this.#prev[this.#head] = e;
    this.#head = e;
    if (this.#tail < 0) this.#tail = e;
  }
}
