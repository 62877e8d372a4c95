/**
 * When a data-plane Worker may give its thread back, for both kinds of node (`ts_plane.ts`,
 * `wg_plane.ts`): its device at rest and no byte moved for the quiet time; and what it hands
 * on then, its sessions.
 *
 * @module
 */
import type { Device } from "../wireguard/device.ts";
import { type PlaneRest, type PlaneSessions, sharedNow } from "./ts_plane_messages.ts";

/** How often a plane asks whether it may sleep, ms. */
const REST_CHECK_MS = 1_000;

/**
 * Sleep once at rest and quiet this long: past the keepalive (10 s) and new-handshake (15 s)
 * timers that traffic starts, and long enough that a conversation's pauses rarely pay a wake-up.
 */
export const REST_DEFAULT: PlaneRest = { quietMs: 30_000 };

/**
 * When a Worker plane sleeps unless told: {@linkcode REST_DEFAULT}; never with
 * `WARREN_PLANE_SLEEP=0`; `WARREN_PLANE_QUIET_MS` sets the quiet time (tests).
 */
export function restDefault(): PlaneRest | null {
  if (Deno.env.get("WARREN_PLANE_SLEEP") === "0") return null;
  const quiet = Number(Deno.env.get("WARREN_PLANE_QUIET_MS") ?? NaN);
  if (!(quiet > 0)) return REST_DEFAULT;
  return { quietMs: quiet };
}

/**
 * A device's sessions for the next plane, saved now (the device must send nothing after):
 * `keysUntil` is when the last of them passes Reject-After-Time.
 */
export function planeSessions(device: Device): PlaneSessions {
  const peers = device.saveSessions();
  const savedAt = sharedNow();
  const reject = device.timings.rejectAfterTime;
  let left = 0;
  for (const p of peers) for (const k of p.keypairs) left = Math.max(left, reject - k.ageMs);
  return { peers, savedAt, keysUntil: savedAt + left };
}

/**
 * The loop's question, asked after each turn: true once `device` is at rest
 * (`Device.atRest`, with `keepalivesElsewhere` as it takes it) and no byte but keepalives moved
 * to or from any peer for `rest.quietMs` (looked at once a second at most).
 *
 * @example
 * ```ts ignore
 * const mayRest = restGate(device, { quietMs: 30_000 });
 * new DataPlane(device, tun, sources, waiter, { rest: () => mayRest() && handUp() });
 * ```
 */
export function restGate(
  device: Device,
  rest: PlaneRest,
  keepalivesElsewhere = false,
): () => boolean {
  let checkedAt = 0, activeAt = performance.now(), moved = 0;
  return () => {
    const now = performance.now();
    if (now - checkedAt < REST_CHECK_MS) return false;
    checkedAt = now;
    let m = 0;
    // Keepalives are not traffic: a persistent keepalive shorter than the quiet time would
    // otherwise keep the plane awake for good.
    for (const p of device.peers()) m += p.rxBytes + p.txBytes - p.keepaliveBytes;
    if (m !== moved) {
      moved = m;
      activeAt = now;
      return false;
    }
    return now - activeAt >= rest.quietMs && device.atRest(keepalivesElsewhere);
  };
}
