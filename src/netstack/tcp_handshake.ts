/**
 * The option side of the three-way handshake: what a SYN offers, what a
 * SYN-ACK answers, and what both ends then use (RFC 9293 §3.7.1 MSS,
 * RFC 7323 window scale and timestamps, RFC 2018 SACK-permitted). Pure
 * functions over the configuration and the peer's options.
 *
 * @module
 */

import { DEFAULT_PEER_MSS, MAX_WSCALE, type TcpConfig } from "./tcp_config.ts";
import type { TcpOptions } from "./tcp_segment.ts";

/** Timestamp option bytes (10 + 2 NOPs), taken from each segment's data room. */
export const TS_OPTION_BYTES = 12;

/** What a handshake settled. */
export interface Negotiated {
  /** The shift we apply to windows we announce (0 without scaling). */
  rcvShift: number;
  /** The shift the peer applies to its windows (0 without scaling). */
  sndShift: number;
  /** Whether both ends do window scaling. */
  windowScale: boolean;
  /** Whether SACK is on. */
  sack: boolean;
  /** Whether timestamps are on. */
  timestamps: boolean;
  /** Data bytes per segment we send: the smaller MSS less the timestamp option. */
  segMax: number;
}

/**
 * The smallest window-scale shift that lets `bytes` of receive buffer be
 * announced in the 16-bit window field (at most 14).
 *
 * @example
 * ```ts
 * import { windowShiftFor } from "./tcp_handshake.ts";
 * windowShiftFor(256 * 1024); // 3
 * ```
 */
export function windowShiftFor(bytes: number): number {
  let shift = 0;
  while (shift < MAX_WSCALE && bytes / 2 ** shift > 0xffff) shift++;
  return shift;
}

/** The largest window we may announce: where receive-buffer auto-tuning stops. */
function maxWindow(cfg: TcpConfig): number {
  return Math.max(cfg.recvBufferBytes, cfg.recvBufferMaxBytes);
}

/**
 * What a connection uses given the peer's SYN (or SYN-ACK) options `peer`
 * and our settings: each option only when both ends want it.
 *
 * @example
 * ```ts
 * import { negotiate } from "./tcp_handshake.ts";
 * import { tcpConfig } from "./tcp_config.ts";
 * negotiate({ mss: 1400, wscale: 7 }, tcpConfig()).segMax; // 1400: no timestamps offered
 * ```
 */
export function negotiate(peer: TcpOptions, cfg: TcpConfig): Negotiated {
  const windowScale = cfg.windowScale && peer.wscale !== undefined;
  const timestamps = cfg.timestamps && peer.ts !== undefined;
  const mss = Math.min(peer.mss ?? DEFAULT_PEER_MSS, cfg.mss);
  return {
    rcvShift: windowScale ? windowShiftFor(maxWindow(cfg)) : 0,
    sndShift: windowScale ? Math.min(peer.wscale!, MAX_WSCALE) : 0,
    windowScale,
    sack: cfg.sack && peer.sackPermitted === true,
    timestamps,
    segMax: Math.max(64, mss - (timestamps ? TS_OPTION_BYTES : 0)),
  };
}

/**
 * The options of our SYN (when `agreed` is null: offer everything
 * configured) or SYN-ACK (answer only what was `agreed`). `tsVal` and
 * `tsEcr` fill the timestamp option.
 *
 * @example
 * ```ts
 * import { synOptions } from "./tcp_handshake.ts";
 * import { tcpConfig } from "./tcp_config.ts";
 * synOptions(tcpConfig({ timestamps: false, sack: false }), null, 0, 0).wscale; // 7: 4 MiB
 * ```
 */
export function synOptions(
  cfg: TcpConfig,
  agreed: Negotiated | null,
  tsVal: number,
  tsEcr: number,
): TcpOptions {
  const o: TcpOptions = { mss: cfg.mss };
  const ws = agreed ? agreed.windowScale : cfg.windowScale;
  if (ws) o.wscale = windowShiftFor(maxWindow(cfg));
  if (agreed ? agreed.sack : cfg.sack) o.sackPermitted = true;
  if (agreed ? agreed.timestamps : cfg.timestamps) o.ts = { val: tsVal, ecr: agreed ? tsEcr : 0 };
  return o;
}

/**
 * Allows at most `perSecond` events in each one-second window: RFC 5961 §7's
 * limit on challenge ACKs, also applied to ACKs for unacceptable segments.
 *
 * @example
 * ```ts
 * import { RateLimit } from "./tcp_handshake.ts";
 * const r = new RateLimit(1);
 * r.allow(0); // true
 * r.allow(10); // false
 * ```
 */
export class RateLimit {
  #windowStart = -Infinity;
  #count = 0;
  readonly #perSecond: number;

  /** A limit of `perSecond` events per second. */
  constructor(perSecond: number) {
    this.#perSecond = perSecond;
  }

  /** Whether one more event may happen at `now` (ms); counts it if so. */
  allow(now: number): boolean {
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#count = 0;
    }
    if (this.#count >= this.#perSecond) return false;
    this.#count++;
    return true;
  }
}
