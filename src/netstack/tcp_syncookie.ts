/**
 * SYN cookies (RFC 4987 §3.6): when the SYN backlog is full the listener
 * answers with a SYN-ACK whose ISS encodes everything it needs, keeps no
 * state, and rebuilds the connection from the ACK that comes back. The ISS
 * is t (5 bits: a 64-second counter) | MSS index (3 bits) | a 24-bit keyed
 * BLAKE2s MAC over the 4-tuple, the client's ISN, t and the MSS index — the
 * layout Linux uses. What the cookie cannot carry is lost, as in Linux
 * without timestamps: window scaling, SACK and timestamps stay off.
 *
 * @module
 */

import { blake2s } from "../crypto/blake2s.ts";
import { seqAdd } from "./tcp_seq.ts";

/** The MSS values a cookie can name (the peer's MSS rounds down to one of them). */
export const COOKIE_MSS = [536, 1200, 1220, 1300, 1380, 1420, 1440, 1460] as const;
/** The cookie counter's period. */
export const COOKIE_PERIOD_MS = 64_000;
/** How many periods back a cookie is still accepted (the current one and one before). */
const COOKIE_MAX_AGE = 1;

/** The connection a cookie names, as the listener rebuilds it. */
export interface CookieConn {
  /** Our ISS (the cookie). */
  iss: number;
  /** The peer's ISN. */
  irs: number;
  /** The peer's MSS, rounded down to a table value. */
  mss: number;
}

/**
 * Makes and checks SYN cookies under one secret.
 *
 * @example
 * ```ts
 * import { SynCookies } from "./tcp_syncookie.ts";
 * const c = new SynCookies(new Uint8Array(32).fill(7));
 * const a = new Uint8Array([10, 0, 0, 1]), b = new Uint8Array([10, 0, 0, 2]);
 * const iss = c.make(a, 40000, b, 80, 1000, 1460, 0);
 * c.check(a, 40000, b, 80, 1001, iss + 1, 5000)?.mss; // 1460
 * ```
 */
export class SynCookies {
  readonly #key: Uint8Array;

  /** Cookies keyed by `secret` (1 to 32 bytes; random per listener by default). */
  constructor(secret: Uint8Array = crypto.getRandomValues(new Uint8Array(32))) {
    this.#key = secret;
  }

  #mac(a: Uint8Array, ap: number, b: Uint8Array, bp: number, isn: number, t: number, m: number) {
    const msg = new Uint8Array(a.length + b.length + 14);
    const v = new DataView(msg.buffer);
    msg.set(a, 0);
    msg.set(b, a.length);
    const o = a.length + b.length;
    v.setUint16(o, ap);
    v.setUint16(o + 2, bp);
    v.setUint32(o + 4, isn >>> 0);
    v.setUint32(o + 8, t >>> 0);
    v.setUint16(o + 12, m);
    const d = blake2s(msg, 3, this.#key);
    return (d[0] << 16) | (d[1] << 8) | d[2];
  }

  /**
   * The cookie ISS for a SYN from `client`:`cport` to `server`:`sport` with
   * ISN `isn` and MSS option `mss` (or 536), at `now` (ms).
   */
  make(
    client: Uint8Array,
    cport: number,
    server: Uint8Array,
    sport: number,
    isn: number,
    mss: number,
    now: number,
  ): number {
    let m = 0;
    while (m + 1 < COOKIE_MSS.length && COOKIE_MSS[m + 1] <= mss) m++;
    const t = Math.floor(now / COOKIE_PERIOD_MS);
    const mac = this.#mac(client, cport, server, sport, isn, t, m);
    return ((t & 31) << 27) | (m << 24) | mac;
  }

  /**
   * Checks the ACK (`seq`, `ack`) that completes a cookie handshake: the
   * connection it names, or null if the cookie is forged or too old.
   */
  check(
    client: Uint8Array,
    cport: number,
    server: Uint8Array,
    sport: number,
    seq: number,
    ack: number,
    now: number,
  ): CookieConn | null {
    const iss = seqAdd(ack, -1), irs = seqAdd(seq, -1);
    const t5 = iss >>> 27, m = (iss >>> 24) & 7;
    const nowT = Math.floor(now / COOKIE_PERIOD_MS);
    for (let age = 0; age <= COOKIE_MAX_AGE; age++) {
      const t = nowT - age;
      if ((t & 31) !== t5) continue;
      if (this.#mac(client, cport, server, sport, irs, t, m) === (iss & 0xff_ffff)) {
        return { iss, irs, mss: COOKIE_MSS[m] };
      }
    }
    return null;
  }
}
