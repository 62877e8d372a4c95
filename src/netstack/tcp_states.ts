/**
 * The closing half of RFC 9293's state diagram (§3.3.2, Figure 5) as pure
 * transitions, so the connection applies them and a test can read them
 * against the figure.
 *
 * @module
 */

import type { TcpState } from "./tcp_config.ts";

/**
 * The state after our FIN is acknowledged: FIN-WAIT-1 → FIN-WAIT-2,
 * CLOSING → TIME-WAIT, LAST-ACK → CLOSED; any other state stays.
 *
 * @example
 * ```ts
 * import { afterOurFinAcked } from "./tcp_states.ts";
 * afterOurFinAcked("LAST_ACK"); // "CLOSED"
 * ```
 */
export function afterOurFinAcked(s: TcpState): TcpState {
  switch (s) {
    case "FIN_WAIT_1":
      return "FIN_WAIT_2";
    case "CLOSING":
      return "TIME_WAIT";
    case "LAST_ACK":
      return "CLOSED";
    default:
      return s;
  }
}

/**
 * The state after the peer's FIN is reached: ESTABLISHED → CLOSE-WAIT,
 * FIN-WAIT-1 → CLOSING (or TIME-WAIT if our FIN is acknowledged too),
 * FIN-WAIT-2 → TIME-WAIT; any other state stays.
 *
 * @example
 * ```ts
 * import { afterPeerFin } from "./tcp_states.ts";
 * afterPeerFin("FIN_WAIT_1", false); // "CLOSING"
 * ```
 */
export function afterPeerFin(s: TcpState, ourFinAcked: boolean): TcpState {
  switch (s) {
    case "ESTABLISHED":
      return "CLOSE_WAIT";
    case "FIN_WAIT_1":
      return ourFinAcked ? "TIME_WAIT" : "CLOSING";
    case "FIN_WAIT_2":
      return "TIME_WAIT";
    default:
      return s;
  }
}

/**
 * The state after the application's close() (RFC 9293 §3.10.4):
 * ESTABLISHED → FIN-WAIT-1, CLOSE-WAIT → LAST-ACK, SYN-SENT → CLOSED; a
 * SYN-RECEIVED connection stays, its FIN queued for after the handshake;
 * later states are already closing.
 *
 * @example
 * ```ts
 * import { afterClose } from "./tcp_states.ts";
 * afterClose("CLOSE_WAIT"); // "LAST_ACK"
 * ```
 */
export function afterClose(s: TcpState): TcpState {
  switch (s) {
    case "ESTABLISHED":
      return "FIN_WAIT_1";
    case "CLOSE_WAIT":
      return "LAST_ACK";
    case "SYN_SENT":
      return "CLOSED";
    default:
      return s;
  }
}

/** Whether a connection in `s` still takes in data and the peer's FIN. */
export function receivesData(s: TcpState): boolean {
  return s === "ESTABLISHED" || s === "FIN_WAIT_1" || s === "FIN_WAIT_2";
}
