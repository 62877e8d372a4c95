/**
 * Test helpers: the netmap and status view of ts-b at the moment tailscaled
 * 1.96.5 answered the LocalAPI captures in
 * `fixtures/tailscaled-1.96.5-localapi/` (ts-b's own MapResponses from
 * `fixtures/headscale-0.28-routes/`, replayed), and a shape comparison.
 *
 * @module
 */
import assert from "node:assert/strict";
import { applyMapResponse } from "../netmap/apply_map_response.ts";
import type { NetworkMap } from "../netmap/network_map.ts";
import type { MapResponse } from "../netmap/tailcfg.ts";
import type { BackendState, IpnStatusView, PeerLive } from "./ipnstate.ts";
import type { LocalApiNode, Pong, StartRequest } from "./handler.ts";
import type { NodePrefs, PrefsEdit } from "./prefs.ts";
import { DEFAULT_PREFS } from "../daemon/prefs.ts";

/** The tailscaled LocalAPI capture. */
export const LOCALAPI_FIXTURES = new URL(
  "../../../shared/fixtures/tailscaled-1.96.5-localapi/",
  import.meta.url,
);
const ROUTES_B = new URL(
  "../../../shared/fixtures/headscale-0.28-routes/node2-ts-b/",
  import.meta.url,
);

/** ts-a's node key. */
export const TS_A_KEY = "nodekey:2e2f49f48769d71425034dedf567cae163b55c969ae737d7b150b68c4e350105";

/**
 * Paths of status.json warren cannot match the way tailscaled does: its own
 * PeerAPI listeners (warren runs none) and Taildrop eligibility (no Taildrop).
 */
export const NOT_DERIVABLE = {
  "$.Self.PeerAPIURL": "any",
  [`$.Peer.${TS_A_KEY}.TaildropTarget`]: "kind",
} as const;

/** Reads one fixture file as JSON. */
export function fixtureJson(name: string): unknown {
  return JSON.parse(Deno.readTextFileSync(new URL(name, LOCALAPI_FIXTURES)));
}

/** ts-b's netmap after every MapResponse it received before the capture (22:15:40). */
export function tsbNetmap(): NetworkMap {
  const names = [...Deno.readDirSync(ROUTES_B)].map((e) => e.name)
    .filter((n) => n.endsWith(".json") && n < "2026-12-01T22-15-40").sort();
  let nm: NetworkMap | null = null;
  for (const [i, name] of names.entries()) {
    const resp: MapResponse = JSON.parse(Deno.readTextFileSync(new URL(name, ROUTES_B)));
    nm = applyMapResponse(nm, resp, 1_000 + i);
  }
  if (!nm) throw new Error("No MapResponses in the fixture");
  return nm;
}

/** ts-a as ts-b's data plane saw it in status.json. */
export const TS_A_LIVE: PeerLive = {
  rxBytes: 348,
  txBytes: 428,
  lastHandshakeMs: Date.parse("2026-12-01T22:15:36.94895131Z"),
  lastWriteMs: Date.parse("2026-12-01T22:15:40.55960546Z"),
  curAddr: "",
  active: true,
  inMagicSock: true,
  inEngine: true,
};

/** The view ts-b had when status.json was captured. */
export function tsbView(over: Partial<IpnStatusView> = {}): IpnStatusView {
  return {
    version: "1.96.5-t88200dbb4",
    tun: true,
    backendState: "Running",
    haveNodeKey: true,
    authUrl: "",
    netmap: tsbNetmap(),
    selfEndpoints: ["10.98.2.2:41641"],
    homeDerp: 999,
    selfOnline: true,
    health: [],
    exitNodeId: "",
    routeAll: true,
    peers: new Map([[TS_A_KEY, TS_A_LIVE]]),
    ...over,
  };
}

const kind = (v: unknown) => v === null ? "null" : Array.isArray(v) ? "array" : typeof v;

/**
 * Asserts that `got` has exactly `want`'s keys at every depth, with the same
 * JSON kinds, and equal values except at the paths in `loose` (compared by kind
 * only, or not at all when `loose` maps them to "any"). Times compare by instant.
 */
export function assertSameShape(
  got: unknown,
  want: unknown,
  loose: Record<string, "kind" | "any"> = {},
  path = "$",
): void {
  const rule = loose[path];
  if (rule === "any") return;
  assert.equal(kind(got), kind(want), `${path}: kind`);
  if (kind(want) === "object") {
    const g = got as Record<string, unknown>;
    const w = want as Record<string, unknown>;
    assert.deepEqual(Object.keys(g).sort(), Object.keys(w).sort(), `${path}: keys`);
    for (const k of Object.keys(w)) assertSameShape(g[k], w[k], loose, `${path}.${k}`);
    return;
  }
  if (rule === "kind") return;
  if (typeof want === "string" && /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(want)) {
    // Go writes nanoseconds, JS has milliseconds
    assert.equal(Math.floor(Date.parse(String(got))), Math.floor(Date.parse(want)), path);
    return;
  }
  assert.deepEqual(got, want, path);
}

/** ts-b's prefs as its prefs.json shows them. */
export function tsbPrefs(): NodePrefs {
  return {
    ...DEFAULT_PREFS,
    ControlURL: "http://10.98.0.1:8080",
    RouteAll: true,
    Hostname: "ts-b",
    AdvertiseTags: null,
    UserProfile: { ID: 1, LoginName: "lab", DisplayName: "lab" },
    NodeID: "2",
  };
}

/** A LocalApiNode over ts-b's fixtures that records what it is asked to do. */
export class FakeNode implements LocalApiNode {
  /** The view status is built from. */
  view: IpnStatusView = tsbView();
  /** The prefs, edited in place. */
  current: NodePrefs = tsbPrefs();
  /** Every call made, in order. */
  calls: { fn: string; args: unknown[] }[] = [];
  /** What discoPing answers. */
  pong: Pong | null = { via: "10.98.1.2:41641", latencyMs: 0.403131 };
  /** When set, editPrefs, logout and start throw this. */
  refuse: string | null = null;
  #watchers = new Set<(s: BackendState) => void>();

  /** The current view. */
  statusView(): IpnStatusView {
    return this.view;
  }
  /** The current prefs. */
  prefs(): NodePrefs {
    return this.current;
  }
  /** Records the edit and applies it (Running/Stopped follow WantRunning). */
  editPrefs(edit: PrefsEdit): Promise<void> {
    this.calls.push({ fn: "editPrefs", args: [edit] });
    if (this.refuse) return Promise.reject(new Error(this.refuse));
    this.current = { ...this.current, ...edit };
    if (edit.WantRunning !== undefined) this.setState(edit.WantRunning ? "Running" : "Stopped");
    return Promise.resolve();
  }
  /** Records the ping and answers {@link FakeNode.pong}. */
  discoPing(nodeKey: string, size: number): Promise<Pong | null> {
    this.calls.push({ fn: "discoPing", args: [nodeKey, size] });
    return Promise.resolve(this.pong);
  }
  /** Records the logout; the state becomes NeedsLogin. */
  logout(): Promise<void> {
    this.calls.push({ fn: "logout", args: [] });
    if (this.refuse) return Promise.reject(new Error(this.refuse));
    this.setState("NeedsLogin");
    return Promise.resolve();
  }
  /** Records the start request. */
  start(req: StartRequest): Promise<void> {
    this.calls.push({ fn: "start", args: [req] });
    if (this.refuse) return Promise.reject(new Error(this.refuse));
    return Promise.resolve();
  }
  /** Adds a state watcher. */
  watchState(cb: (s: BackendState) => void): () => void {
    this.#watchers.add(cb);
    return () => this.#watchers.delete(cb);
  }
  /** Changes the backend state and tells the watchers. */
  setState(s: BackendState): void {
    this.view = { ...this.view, backendState: s };
    for (const w of this.#watchers) w(s);
  }
}
