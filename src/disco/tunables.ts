/**
 * Timing knobs of the per-peer path state machine, all in milliseconds.
 *
 * The first five are warren's explicit state-machine tunables (issue 5); the
 * rest are Tailscale's magicsock constants, kept so a warren node probes and
 * trusts paths the way a tailscaled peer expects.
 *
 * @module
 */

/** Timing knobs for {@linkcode PeerPath}. Every duration is in milliseconds. */
export interface DiscoTunables {
  /** How often the best direct path is pinged while the session is active. */
  heartbeatInterval: number;
  /** How often every candidate is pinged again while the peer is relay-only. */
  reprobeInterval: number;
  /** How long a ping waits for its pong. */
  probeTimeout: number;
  /** Consecutive missed heartbeats after which a direct path is degraded. */
  degradedAfterFailures: number;
  /** Time without a pong on the best path after which a degraded peer is relay-only. */
  degradedTimeout: number;
  /** Minimum time between discovery pings to one endpoint (tailscale `discoPingInterval`). */
  discoPingInterval: number;
  /** How long a pong lets the best path carry traffic alone (tailscale `trustUDPAddrDuration`). */
  trustUDPAddrDuration: number;
  /** Time since the last send after which heartbeats stop (tailscale `sessionActiveTimeout`). */
  sessionActiveTimeout: number;
  /** How often a working but slow direct path looks for a better one. */
  upgradeUDPDirectInterval: number;
  /** Latency at or under which no better path is looked for (tailscale `goodEnoughLatency`). */
  goodEnoughLatency: number;
}

/** warren's defaults (issue 5) plus Tailscale's magicsock constants. */
export const DEFAULT_DISCO_TUNABLES: Readonly<DiscoTunables> = Object.freeze({
  heartbeatInterval: 2_000,
  reprobeInterval: 25_000,
  probeTimeout: 5_000,
  degradedAfterFailures: 3,
  degradedTimeout: 10_000,
  discoPingInterval: 5_000,
  trustUDPAddrDuration: 6_500,
  sessionActiveTimeout: 45_000,
  upgradeUDPDirectInterval: 60_000,
  goodEnoughLatency: 5,
});

/**
 * The defaults with `overrides` applied, validated.
 *
 * @example
 * ```ts
 * import { discoTunables } from "./tunables.ts";
 * discoTunables({ heartbeatInterval: 1000 }).reprobeInterval; // 25000
 * ```
 * @throws {RangeError} if a value is not a finite non-negative number, or
 *   `degradedAfterFailures` is not a positive integer
 */
export function discoTunables(overrides?: Partial<DiscoTunables>): DiscoTunables {
  const t: DiscoTunables = { ...DEFAULT_DISCO_TUNABLES, ...overrides };
  for (const [name, v] of Object.entries(t)) {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new RangeError(`Disco tunable ${name} must be a finite non-negative number, got ${v}`);
    }
  }
  if (!Number.isInteger(t.degradedAfterFailures) || t.degradedAfterFailures < 1) {
    throw new RangeError(
      `Disco tunable degradedAfterFailures must be a positive integer, got ${t.degradedAfterFailures}`,
    );
  }
  return t;
}
