/**
 * A TCP connection's settings, their defaults, and the states and events a
 * connection reports (RFC 9293 §3.3.2).
 *
 * @module
 */

import type { CongestionAlgorithm } from "./tcp_congestion.ts";

/** The connection states of RFC 9293 §3.3.2 (LISTEN lives in the listener). */
export type TcpState =
  | "SYN_SENT"
  | "SYN_RECEIVED"
  | "ESTABLISHED"
  | "FIN_WAIT_1"
  | "FIN_WAIT_2"
  | "CLOSE_WAIT"
  | "CLOSING"
  | "LAST_ACK"
  | "TIME_WAIT"
  | "CLOSED";

/** The states in which both sequence spaces are synchronized (RFC 9293 §3.5.2). */
export const SYNCHRONIZED_STATES: ReadonlySet<TcpState> = new Set([
  "ESTABLISHED",
  "FIN_WAIT_1",
  "FIN_WAIT_2",
  "CLOSE_WAIT",
  "CLOSING",
  "LAST_ACK",
  "TIME_WAIT",
]);

/** Counters of one connection, for status and tests. */
export interface TcpConnStats {
  /** Segments taken by input(). */
  segmentsIn: number;
  /** Segments returned by poll(). */
  segmentsOut: number;
  /** Data segments sent again. */
  retransmits: number;
  /** Retransmission timeouts. */
  timeouts: number;
  /** Challenge ACKs sent (RFC 5961), and ACKs for unacceptable segments. */
  challengeAcks: number;
  /** Segments dropped as unacceptable. */
  dropped: number;
}

/** Why a connection reached CLOSED. */
export type TcpCloseReason =
  | "done" // both FINs exchanged and acknowledged (TIME-WAIT over, or LAST-ACK acked)
  | "reset" // the peer sent an acceptable RST
  | "refused" // RST in answer to our SYN
  | "timeout" // retransmissions or keep-alive probes ran out
  | "aborted"; // abort() was called

/** What a connection tells its owner; drain them with `TcpConn.events()`. */
export type TcpEvent =
  | { type: "connected" }
  | { type: "readable" } // data (or end of stream) can be read
  | { type: "writable" } // send buffer space was freed
  | { type: "eof" } // the peer's FIN arrived: no more data after what is buffered
  | { type: "reset" } // the peer reset the connection
  | { type: "closed"; reason: TcpCloseReason };

/** Keep-alive probing (RFC 9293 §3.8.4, Linux's knobs). */
export interface KeepAliveConfig {
  /** Idle time before the first probe. */
  idleMs: number;
  /** Time between unanswered probes. */
  intervalMs: number;
  /** Unanswered probes before the connection is dropped. */
  probes: number;
}

/** Settings for one connection; every field has a default. */
export interface TcpConfig {
  /** The MSS we announce and send at most (default 1460: a 1500-byte IPv4 MTU). */
  mss: number;
  /** Send buffer bound in bytes to start with (default 256 KiB). */
  sendBufferBytes: number;
  /**
   * The send buffer grows up to this to keep twice the congestion window
   * buffered, as Linux grows sk_sndbuf (default 4 MiB, Linux's tcp_wmem
   * maximum; `sendBufferBytes` when only that is given).
   */
  sendBufferMaxBytes: number;
  /** Receive buffer bound in bytes to start with, which also bounds the window (default 256 KiB). */
  recvBufferBytes: number;
  /**
   * Receive-buffer auto-tuning: while the application keeps up and the peer
   * is held back by the window, the buffer (and so the window) doubles, once
   * per window of data, up to this (default 4 MiB, as gVisor's moderated
   * receive buffer and Linux's tcp_rmem maxima are MiBs; `recvBufferBytes`
   * when only that is given). A reader that falls behind stops the growth:
   * memory follows what the application reads, not what the peer sends.
   */
  recvBufferMaxBytes: number;
  /**
   * Out-of-order queue bound in bytes, reached as the window grows: the queue
   * never holds more than the receive buffer's current size (default: the
   * buffer's maximum, so the bound follows the window).
   */
  oooBytes: number;
  /** Offer window scaling (RFC 7323). */
  windowScale: boolean;
  /** Offer SACK (RFC 2018). */
  sack: boolean;
  /** Offer timestamps (RFC 7323). */
  timestamps: boolean;
  /** Congestion control (default CUBIC, as Linux). */
  congestion: CongestionAlgorithm;
  /** Delayed-ACK timeout (RFC 9293 §3.8.6.3: under 500 ms; Linux's 40 ms floor). */
  delayedAckMs: number;
  /** Keep-alive, or null for none (the default, RFC 9293 §3.8.4). */
  keepAlive: KeepAliveConfig | null;
  /** TIME-WAIT length: 2 × MSL with a short MSL (default 2 × 5 s). */
  timeWaitMs: number;
  /** FIN-WAIT-2 without any segment from the peer this long closes the connection. */
  finWait2Ms: number;
  /** SYN (or SYN-ACK) retransmissions before giving up (Linux tcp_syn_retries: 6). */
  synRetries: number;
  /** Data retransmission timeouts in a row before giving up (Linux tcp_retries2: 15). */
  dataRetries: number;
  /** The RTO floor (default 200 ms, see tcp_rtt.ts). */
  minRtoMs: number;
  /** The RTO ceiling (default 120 s). */
  maxRtoMs: number;
  /** The RTO before the first sample (default 1 s). */
  initialRtoMs: number;
  /** Challenge ACKs (RFC 5961) allowed per second. */
  challengeAcksPerSecond: number;
  /** Uniform [0, 1) source for the ISS and the timestamp offset. */
  random: () => number;
  /** The stack-wide buffer budget the connection's buffers come from; none: unbounded in total. */
  memory?: TcpMemoryBudget;
}

import type { TcpMemoryBudget } from "./tcp_memory.ts";

/** Defaults per field of {@linkcode TcpConfig}. */
export const TCP_DEFAULTS: Readonly<Omit<TcpConfig, "oooBytes">> = {
  mss: 1460,
  sendBufferBytes: 256 * 1024,
  recvBufferBytes: 256 * 1024,
  recvBufferMaxBytes: 4 * 1024 * 1024,
  sendBufferMaxBytes: 4 * 1024 * 1024,
  windowScale: true,
  sack: true,
  timestamps: true,
  congestion: "cubic",
  delayedAckMs: 40,
  keepAlive: null,
  timeWaitMs: 10_000,
  finWait2Ms: 60_000,
  synRetries: 6,
  dataRetries: 15,
  minRtoMs: 200,
  maxRtoMs: 120_000,
  initialRtoMs: 1000,
  challengeAcksPerSecond: 10,
  random: () => crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32,
};

/**
 * The settings with the defaults filled in.
 *
 * @example
 * ```ts
 * import { tcpConfig } from "./tcp_config.ts";
 * tcpConfig({ mss: 1200 }).oooBytes; // 4194304
 * tcpConfig({ recvBufferBytes: 65536 }).recvBufferMaxBytes; // 65536: no growth asked for
 * ```
 * @throws {RangeError} if the MSS or a buffer size is out of range
 */
export function tcpConfig(partial: Partial<TcpConfig> = {}): TcpConfig {
  // A caller that sizes a buffer and not its maximum asked for that size: no auto-tuning.
  const recvMax = partial.recvBufferMaxBytes ??
    (partial.recvBufferBytes ?? TCP_DEFAULTS.recvBufferMaxBytes);
  const sendMax = partial.sendBufferMaxBytes ??
    (partial.sendBufferBytes ?? TCP_DEFAULTS.sendBufferMaxBytes);
  const c: TcpConfig = {
    ...TCP_DEFAULTS,
    oooBytes: Math.max(recvMax, partial.recvBufferBytes ?? TCP_DEFAULTS.recvBufferBytes),
    ...partial,
    recvBufferMaxBytes: recvMax,
    sendBufferMaxBytes: sendMax,
  };
  if (!(c.mss >= 64 && c.mss <= 65495)) throw new RangeError(`Cannot use TCP MSS ${c.mss}`);
  for (
    const k of [
      "sendBufferBytes",
      "recvBufferBytes",
      "sendBufferMaxBytes",
      "recvBufferMaxBytes",
    ] as const
  ) {
    if (!(c[k] >= 1 && c[k] <= 1 << 30)) throw new RangeError(`Cannot use TCP ${k} ${c[k]}`);
  }
  return c;
}

/** The MSS assumed when a SYN carries none (RFC 9293 §3.7.1). */
export const DEFAULT_PEER_MSS = 536;
/** The largest window-scale shift (RFC 7323 §2.3). */
export const MAX_WSCALE = 14;
