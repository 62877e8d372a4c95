/**
 * Test support for TCP: two connections wired through an in-memory link
 * on a fake clock. The link encodes every segment (so checksums and the
 * codec are in the loop) and can drop, duplicate, delay and reorder them
 * by a seeded PRNG, so a failing run replays exactly.
 *
 * @module
 */

import { mulberry32 } from "../testing/prng.ts";
import type { TcpConn } from "./tcp_conn.ts";
import { decodeTcpSegment, encodeTcpSegment, type TcpSegment } from "./tcp_segment.ts";

/** Address of side A on the test link. */
export const ADDR_A: Uint8Array = Uint8Array.of(10, 0, 0, 1);
/** Address of side B on the test link. */
export const ADDR_B: Uint8Array = Uint8Array.of(10, 0, 0, 2);

/** How the link mistreats segments. */
export interface LinkOptions {
  /** PRNG seed. */
  seed?: number;
  /** Drop probability per segment. */
  loss?: number;
  /** Duplicate probability per segment. */
  duplicate?: number;
  /** One-way delay in ms. */
  delayMs?: number;
  /** Probability that a segment is held back by up to `reorderMs` more. */
  reorder?: number;
  /** The extra delay of a reordered segment, at most. */
  reorderMs?: number;
  /** Drops the segment when this returns true (after the random loss). */
  filter?: (seg: TcpSegment, toB: boolean) => boolean;
  /** A bottleneck: bytes per ms each way (default: unlimited). */
  rateBytesPerMs?: number;
  /** The bottleneck's drop-tail queue, in bytes (default 64 KiB). */
  queueBytes?: number;
}

interface InFlight {
  at: number;
  order: number;
  toB: boolean;
  bytes: Uint8Array;
}

/** Counters of what the link did. */
export interface LinkStats {
  /** Segments offered. */
  sent: number;
  /** Segments dropped. */
  dropped: number;
  /** Extra copies delivered. */
  duplicated: number;
  /** Segments delayed out of order. */
  reordered: number;
  /** Segments dropped by a full bottleneck queue. */
  queueDrops: number;
}

/**
 * A lossy, reordering link between conn A and conn B.
 *
 * @example
 * ```ts
 * import { Link } from "./tcp_test_link.ts";
 * const link = new Link({ loss: 0.1, seed: 1 });
 * link.nextAt(); // Infinity: nothing in flight
 * ```
 */
export class Link {
  /** What happened to segments. */
  readonly stats: LinkStats = { sent: 0, dropped: 0, duplicated: 0, reordered: 0, queueDrops: 0 };
  #q: InFlight[] = [];
  #busyUntil = { toA: 0, toB: 0 };
  #order = 0;
  readonly #rand: () => number;
  readonly #o: LinkOptions;

  /** A link with the given faults. */
  constructor(o: LinkOptions = {}) {
    this.#o = o;
    this.#rand = mulberry32(o.seed ?? 1);
  }

  /** Puts `seg` from A (toB) or from B on the wire at `now`. */
  send(seg: TcpSegment, toB: boolean, now: number): void {
    this.stats.sent++;
    const bytes = encodeTcpSegment(seg, toB ? ADDR_A : ADDR_B, toB ? ADDR_B : ADDR_A);
    const o = this.#o;
    if (this.#rand() < (o.loss ?? 0) || o.filter?.(seg, toB)) {
      this.stats.dropped++;
      return;
    }
    let depart = now;
    if (o.rateBytesPerMs) {
      // Serialise through the bottleneck; a full queue drops the tail.
      const dir = toB ? "toB" : "toA";
      const start = Math.max(now, this.#busyUntil[dir]);
      if ((start - now) * o.rateBytesPerMs > (o.queueBytes ?? 65536)) {
        this.stats.dropped++;
        this.stats.queueDrops++;
        return;
      }
      this.#busyUntil[dir] = start + (bytes.length + 40) / o.rateBytesPerMs;
      depart = this.#busyUntil[dir];
    }
    const copies = this.#rand() < (o.duplicate ?? 0) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      let at = depart + (o.delayMs ?? 5);
      if (this.#rand() < (o.reorder ?? 0)) {
        at += Math.ceil(this.#rand() * (o.reorderMs ?? 10));
        this.stats.reordered++;
      }
      this.#q.push({ at, order: this.#order++, toB, bytes });
    }
  }

  /** When the next segment arrives, or Infinity. */
  nextAt(): number {
    let t = Infinity;
    for (const f of this.#q) t = Math.min(t, f.at);
    return t;
  }

  /** Removes and returns the segments due by `now`, in arrival order, decoded. */
  due(now: number): { toB: boolean; seg: TcpSegment }[] {
    const ready = this.#q.filter((f) => f.at <= now).sort((x, y) =>
      x.at - y.at || x.order - y.order
    );
    this.#q = this.#q.filter((f) => f.at > now);
    return ready.map((f) => {
      const seg = decodeTcpSegment(f.bytes, f.toB ? ADDR_A : ADDR_B, f.toB ? ADDR_B : ADDR_A);
      if (!seg) throw new Error("Cannot decode a segment the link carried");
      return { toB: f.toB, seg };
    });
  }
}

/**
 * Runs A and B over `link` from `now` until `done()` or `until` (ms),
 * calling `step(now)` at every instant so the test can write and read.
 * Time moves in whole milliseconds to the next arrival or timer. Returns the
 * time it stopped.
 */
export function runPair(
  a: TcpConn,
  b: TcpConn,
  link: Link,
  now: number,
  until: number,
  done: () => boolean,
  step: (now: number) => void = () => {},
): number {
  while (now <= until) {
    for (let round = 0; round < 100; round++) {
      step(now);
      a.tick(now);
      b.tick(now);
      let moved = 0;
      for (const s of a.poll(now)) link.send(s, true, now), moved++;
      for (const s of b.poll(now)) link.send(s, false, now), moved++;
      const arrived = link.due(now);
      for (const { toB, seg } of arrived) (toB ? b : a).input(seg, now);
      if (moved === 0 && arrived.length === 0) break;
    }
    if (done()) return now;
    const next = Math.min(link.nextAt(), a.nextTimerAt(), b.nextTimerAt());
    if (next === Infinity) return now;
    now = Math.max(now + 1, Math.ceil(next));
  }
  return now;
}
