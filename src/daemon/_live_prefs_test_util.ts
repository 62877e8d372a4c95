/**
 * Test ports for `LivePrefs` (live_prefs.ts): each call recorded as [name, argument].
 *
 * @module
 */
import { formatPrefix } from "../net/ip.ts";
import type { LivePrefsPorts } from "./live_prefs.ts";

/** Ports that record every call as [name, argument]; `withExitNode` adds the exit-node hook. */
export function fakePorts(withExitNode = false): LivePrefsPorts & { calls: [string, unknown][] } {
  const calls: [string, unknown][] = [];
  const rec = (name: string) => (arg?: unknown) => {
    calls.push([name, arg]);
    return Promise.resolve();
  };
  return {
    calls,
    updateHostinfo: rec("updateHostinfo"),
    setAcceptRoutes: (on) => void calls.push(["setAcceptRoutes", on]),
    setAdvertisedRoutes: (r) => void calls.push(["setAdvertisedRoutes", r.map(formatPrefix)]),
    setShieldsUp: (on) => void calls.push(["setShieldsUp", on]),
    setCorpDns: rec("setCorpDns"),
    setRunning: rec("setRunning"),
    logout: rec("logout"),
    ...(withExitNode ? { setExitNode: rec("setExitNode") } : {}),
    log: () => {},
  };
}
