/**
 * The seam between the data plane and whatever sits on the inner side of
 * the tunnel: the kernel's TUN (`ffi/tun.ts`) or warren's own TCP/IP stack
 * (`src/netstack/device.ts`). Both move whole IP packets in batches on
 * buffers the data plane owns, and offer an fd that polls readable when a
 * read would return packets.
 *
 * @module
 */

/**
 * A source and sink of IP packets, read and written in batches without
 * blocking.
 *
 * @example
 * ```ts ignore
 * await poller.wait([dev.fd], dev.pending ? 0 : 1000);
 * const n = dev.readBatch(bufs, sizes, 16);
 * dev.writeBatch(bufs, sizes, 16, n);
 * ```
 */
export interface PacketDevice {
  /** An fd that polls readable when `readBatch` has packets to return. */
  readonly fd: number;
  /**
   * Whether `readBatch` would return packets even if `fd` does not poll
   * readable (part of a TUN super packet, say): the loop must not wait.
   */
  readonly pending: boolean;
  /**
   * Reads packets into `bufs[i]` from `offset` until none are left or `bufs`
   * is full; sets `sizes[i]` and returns the count. Never blocks.
   */
  readBatch(bufs: Uint8Array[], sizes: number[], offset: number): number;
  /**
   * Takes `bufs[i].subarray(offset, offset + sizes[i])` for `i < count`;
   * returns how many were consumed. The buffers are the caller's again on
   * return. Never blocks.
   */
  writeBatch(bufs: Uint8Array[], sizes: number[], offset: number, count: number): number;
}
