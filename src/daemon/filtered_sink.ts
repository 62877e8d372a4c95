/**
 * The inbound edge of a tailnet node: decrypted packets pass the netmap's
 * packet filter before they reach the TUN. Rejected packets are squeezed out
 * of the batch in place, so the accepted ones still go down in one write.
 *
 * @module
 */
import type { PacketFilter } from "../filter/filter.ts";
import { BatchViews } from "../net/batch_views.ts";
import type { TunSink } from "../wireguard/device.ts";

/** A batch writer, as the TUN offers. */
export interface BatchWriter {
  /** Writes `count` packets, each `bufs[i].subarray(offset, offset + sizes[i])`. */
  writeBatch(bufs: Uint8Array[], sizes: number[], offset: number, count: number): unknown;
}

/**
 * A {@link TunSink} that drops what `filter()` (read per batch, so a new
 * netmap's filter applies at once) does not accept; without a filter nothing passes.
 *
 * @example
 * ```ts ignore
 * const sink = filteredSink(tun, () => engine.filter);
 * ```
 */
export function filteredSink(out: BatchWriter, filter: () => PacketFilter | null): TunSink {
  const views = new BatchViews();
  return {
    write(bufs, sizes, offset, count) {
      const f = filter();
      if (f === null) return;
      let kept = 0;
      for (let i = 0; i < count; i++) {
        if (f.check(views.get(i, bufs[i], offset, sizes[i])) !== "accept") continue;
        if (kept !== i) {
          const b = bufs[kept];
          bufs[kept] = bufs[i];
          bufs[i] = b;
          const s = sizes[kept];
          sizes[kept] = sizes[i];
          sizes[i] = s;
        }
        kept++;
      }
      if (kept > 0) out.writeBatch(bufs, sizes, offset, kept);
    },
  };
}
