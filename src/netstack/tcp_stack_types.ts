/**
 * The TCP stack's interfaces and helpers that need none of its state: what
 * it needs from the IP layer and the device ring, its options and counters,
 * and the 4-tuple key of its connection table.
 *
 * @module
 */

import type { ParsedPacket } from "../net/packet.ts";
import type { TcpConfig } from "./tcp_conn.ts";
import type { TcpListenerOptions } from "./tcp_listener.ts";
import type { Clock } from "./types.ts";

/** The IP layer as the stack uses it (an {@linkcode IpInput} fits). */
export interface TcpStackIp {
  /** Our addresses now; a dial takes its source from them by family. */
  readonly addresses: Uint8Array[];
  /** Emits one IP packet. */
  send(packet: Uint8Array): boolean;
  /** Where TCP segments for us go (parsed and checksummed, valid during the call). */
  setTcpHandler(h: ((p: ParsedPacket) => void) | undefined): void;
}

/** The packet ring behind the IP layer (a {@linkcode NetstackDevice} fits). */
export interface TcpStackDevice {
  /** Free places in the ring. */
  readonly room: number;
  /** Called once the ring has drained after a refused send. */
  setDrainHandler(h: (() => void) | null): void;
}

/** How to build a {@linkcode TcpStack}. */
export interface TcpStackOptions {
  /** The IP layer. */
  ip: TcpStackIp;
  /** The ring the IP layer sends into; without one, output is never held back. */
  device?: TcpStackDevice;
  /** Time in ms; the stack's one timer is a real `setTimeout` against it. */
  clock: Clock;
  /** Connections (dialled plus accepted) at most; default 4096. */
  maxConnections?: number;
  /** The link MTU the MSS is derived from (default 1280: 1240 over IPv4, 1220 over IPv6). */
  mtu?: number;
  /** Settings for every connection (the MSS is set per family unless given here). */
  conn?: Partial<TcpConfig>;
  /** Limits of each listener (backlog, accept queue, SYN cookies). */
  listener?: Omit<TcpListenerOptions, "conn">;
}

/** What the stack did, for status and tests. */
export interface TcpStackCounters {
  /** Segments taken from the IP layer. */
  segmentsIn: number;
  /** Segments whose header did not decode (see `rejects`). */
  malformed: number;
  /** RSTs sent for segments to no connection and no listener. */
  resets: number;
  /** Packets handed to the IP layer. */
  packetsOut: number;
  /** Times output stopped because the device ring was full. */
  stalls: number;
  /** Dials and accepts refused because the table was full. */
  tableFull: number;
  /** Connections in TIME-WAIT dropped early to make room for a dial. */
  timeWaitEvicted: number;
  /** Packets dropped because the ring was full and the hold queue too. */
  heldDropped: number;
}

/** Failure kinds a dial reports in `cause`. */
export type TcpDialFailure = "refused" | "timeout" | "unreachable" | "aborted" | "failed";

/** A dial failure with its kind in `cause`. */
export function dialError(kind: TcpDialFailure, message: string): Error {
  return new Error(message, { cause: kind });
}

/** Whether `b` holds the bytes of `a` at `off`. */
export function equalAt(a: Uint8Array, b: Uint8Array, off: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[off + i]) return false;
  return true;
}

/** The connection table's key of a 4-tuple. */
export function tupleKey(
  local: Uint8Array,
  lport: number,
  remote: Uint8Array,
  rport: number,
): string {
  let k = String.fromCharCode(lport, rport);
  for (let i = 0; i < remote.length; i++) k += String.fromCharCode(remote[i]);
  for (let i = 0; i < local.length; i++) k += String.fromCharCode(local[i]);
  return k;
}
