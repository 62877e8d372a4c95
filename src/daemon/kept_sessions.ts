/**
 * A sleeping data plane's WireGuard sessions on the node's thread, until the next Worker takes
 * them: the one place both plane hosts (`ts_plane_host.ts`, `wg_plane_host.ts`) keep session
 * keys, and wipe them — once a Worker has its copy, at stop, and once none is usable any more.
 *
 * @module
 */
import { wipeSavedSessions } from "../wireguard/session_state.ts";
import { type PlaneSessions, sharedNow } from "./ts_plane_messages.ts";

/**
 * The sessions a plane left when it fell asleep, or none.
 *
 * @example
 * ```ts ignore
 * kept.keep(asleep.sessions);   // the Worker fell asleep
 * kept.expireIfStale();         // on each watch wake-up
 * startWorker({ sessions: kept.current });
 * kept.drop();                  // the new Worker has its copy
 * ```
 */
export class KeptSessions {
  #s: PlaneSessions | null = null;

  /** What the next Worker gets (it receives a copy; {@linkcode drop} once it has it). */
  get current(): PlaneSessions | null {
    return this.#s;
  }

  /** Keeps `s`, wiping what was kept before. */
  keep(s: PlaneSessions): void {
    this.drop();
    this.#s = s;
  }

  /** Wipes the keys and forgets the sessions. */
  drop(): void {
    if (this.#s) wipeSavedSessions(this.#s.peers);
    this.#s = null;
  }

  /** The log line of a plane that fell asleep with these sessions. */
  asleepLine(): string {
    const n = this.#s?.peers.reduce((n, p) => n + p.keypairs.length, 0) ?? 0;
    return `data plane asleep: no traffic (${n} session${n === 1 ? "" : "s"} kept)`;
  }

  /**
   * Once no kept session is usable (Reject-After-Time passed), wipes their keys but keeps each
   * peer's handshake memory (the newest initiation timestamp, the last handshake's time).
   */
  expireIfStale(now: number = sharedNow()): void {
    const s = this.#s;
    if (s === null || now < s.keysUntil) return;
    wipeSavedSessions(s.peers);
    this.#s = { ...s, peers: s.peers.map((p) => ({ ...p, keypairs: [] })), keysUntil: Infinity };
  }
}
