/**
 * TUN offloads in user space: splitting the TCP "super packets" a TUN opened
 * with `IFF_VNET_HDR` and `TUN_F_TSO*` hands out (`gso.ts`), finishing partial
 * checksums, and coalescing in-order TCP segments of one flow into one super
 * packet for writing (`gro.ts`). Pure byte work over caller buffers; the
 * syscalls live in `ffi/tun.ts`. Every TUN read and write in this mode carries
 * a `struct virtio_net_hdr` (`vnet_hdr.ts`) in front of the IP packet.
 *
 * @module
 */
export * from "./vnet_hdr.ts";
export { foldSum, sumBytes } from "./checksum.ts";
export { GsoSplitter } from "./gso.ts";
export { GroCoalescer, type GroPlan, joinWrite } from "./gro.ts";
