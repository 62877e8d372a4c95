/**
 * Human-readable forms for status output, in the style of `wg show`.
 *
 * @module
 */

/** "1.50 KiB", "3.20 MiB", … */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${n.toFixed(2)} ${units[u]}`;
}

/** "1 minute, 5 seconds ago" from a Unix-seconds timestamp, or "never". */
export function formatAgo(unixSeconds: number, nowMs = Date.now()): string {
  if (unixSeconds <= 0) return "never";
  let s = Math.max(0, Math.floor(nowMs / 1000) - unixSeconds);
  if (s === 0) return "now";
  const parts: string[] = [];
  for (
    const [name, size] of [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]] as const
  ) {
    const v = Math.floor(s / size);
    if (v > 0) parts.push(`${v} ${name}${v === 1 ? "" : "s"}`);
    s %= size;
  }
  return `${parts.join(", ")} ago`;
}
