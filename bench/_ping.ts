/**
 * Ping round trips for the benchmarks: each reply's time, and their median. On this VM a
 * 50-ping average swings by tens of percent between runs with the host's load (a few replies
 * of 5–15 ms pull it), so the benchmarks compare medians taken in turns.
 *
 * @module
 */
import type { Netns } from "../src/testbed/netns.ts";

/** Each reply's round trip, ms, of `count` pings 20 ms apart from `client` to `ip`. */
export async function pingTimes(client: Netns, ip: string, count = 50): Promise<number[]> {
  const out = await client.exec(["ping", "-c", String(count), "-i", "0.02", ip], { check: false });
  return [...out.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

/** The median of `xs` (the upper one of an even count), NaN when empty. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)];
}
