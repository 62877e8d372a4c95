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
import type { IpnStatusView, PeerLive } from "./ipnstate.ts";

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
