/**
 * The seam of the userspace TCP/IP stack: the few types the IP layer, TCP and
 * the proxies all code against, so they can be written apart and wired later.
 *
 * @module
 */

import type { Clock as EngineClock } from "../wireguard/clock.ts";

/**
 * A clock in milliseconds; tests pass a fake. It is the monotonic half of the
 * WireGuard engine's clock, so that clock (and its {@linkcode FakeClock}) fits as is.
 */
export type Clock = Pick<EngineClock, "now">;

export { FakeClock, systemClock } from "../wireguard/clock.ts";

/** Emits an IP packet (IPv4 or IPv6, complete, checksummed) towards the network. */
export type PacketOut = (packet: Uint8Array) => void;

/** A 4- or 16-byte address and a port. */
export interface Endpoint {
  /** The address: 4 bytes (IPv4) or 16 bytes (IPv6). */
  ip: Uint8Array;
  /** The port, 0-65535. */
  port: number;
}
