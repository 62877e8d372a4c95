/**
 * disco: Tailscale's direct-path discovery (protocol doc §6) as two pure cores.
 *
 * **Codec** (`codec.ts`). A disco packet is `"TS💬" ‖ sender disco key(32) ‖
 * nonce(24) ‖ NaCl box`, the box holding `type ‖ version 0 ‖ body`: Ping
 * (TxID ‖ sender node key ‖ padding), Pong (TxID ‖ source IP(16) ‖ port) and
 * CallMeMaybe (N × IP(16) ‖ port). {@linkcode sealDisco} and {@linkcode openDisco}
 * frame, box and parse; the per-peer shared key (`crypto_box_beforenm`) is cached.
 * Unknown types, short messages, strangers and boxes that do not open are
 * dropped silently, as tailscaled does.
 *
 * **Path state machine** (`path.ts`). One {@linkcode PeerPath} per peer, driven by
 * events with the current time and answering with actions (ping this endpoint
 * over UDP, send CallMeMaybe over DERP, send this pong, the path changed):
 *
 * | State        | Meaning                                              | WireGuard packets go |
 * |--------------|------------------------------------------------------|----------------------|
 * | `unknown`    | nothing probed yet (or the path was forgotten)       | DERP                 |
 * | `probing`    | discovery pings in flight, no pong yet               | DERP                 |
 * | `direct`     | a pong verified the best endpoint                    | UDP (+ DERP once 6.5 s pass without a pong) |
 * | `degraded`   | `degradedAfterFailures` heartbeats in a row missed   | UDP and DERP         |
 * | `relay-only` | probing failed, or no pong for `degradedTimeout`     | DERP; reprobe every `reprobeInterval` |
 *
 * Transitions: unknown → probing when a ping goes out; probing → direct on a
 * pong, → relay-only when the round times out (`probeTimeout`); direct →
 * degraded after `degradedAfterFailures` missed heartbeats (a heartbeat counts
 * as missed when the next one is due unanswered, or at its timeout); degraded
 * → relay-only when the best path has had no pong for `degradedTimeout`; any
 * state → direct on a fresh pong. Heartbeats (`heartbeatInterval`) run while
 * the session is active (a send within `sessionActiveTimeout`). Candidate
 * endpoints come from the netmap, from the peer's CallMeMaybe (replacing the
 * previous CallMeMaybe set; IPv6 link-local skipped) and from the sources of
 * its UDP pings. Between verified paths {@linkcode betterAddr} chooses, with
 * Tailscale's bonuses for loopback, link-local, private and IPv6 addresses.
 * The WireGuard session does not depend on the path, so a switch never drops it.
 *
 * Timings live in {@linkcode DiscoTunables} ({@linkcode DEFAULT_DISCO_TUNABLES}:
 * heartbeat 2 s, reprobe 25 s, probe timeout 5 s, degraded after 3 failures,
 * degraded timeout 10 s, plus Tailscale's trust 6.5 s, ping throttle 5 s,
 * session 45 s, upgrade 60 s, good-enough latency 5 ms).
 *
 * @module
 */

export * from "./constants.ts";
export {
  type AddrPort,
  addrPort,
  addrPortEqual,
  formatAddrPort,
  isIPv6,
  isLinkLocalUnicast,
  isLoopback,
  isPrivate,
  parseAddrPort,
} from "./addr.ts";
export {
  clearDiscoKeyCache,
  type DiscoCallMeMaybe,
  type DiscoMessage,
  type DiscoPing,
  type DiscoPong,
  discoSender,
  encodeDiscoMessage,
  looksLikeDisco,
  openDisco,
  openDiscoPayload,
  type OpenedDisco,
  parseDiscoMessage,
  sealDisco,
  sealDiscoPayload,
  type SealOptions,
} from "./codec.ts";
export { type AddrQuality, betterAddr } from "./better_addr.ts";
export { PeerPath, type PeerPathOptions } from "./path.ts";
export {
  type CandidateInfo,
  type DiscoAction,
  type DiscoVia,
  type PathState,
  type PingPurpose,
  type SendPath,
} from "./path_types.ts";
export { DEFAULT_DISCO_TUNABLES, type DiscoTunables, discoTunables } from "./tunables.ts";
