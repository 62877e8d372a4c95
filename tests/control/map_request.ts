/**
 * What a map request does to the tailnet (Headscale's handlePoll and
 * UpdateNodeFromMapRequest): find the node it is for, store what it reports,
 * and say how peers learn of it.
 *
 * @module
 */

import { MIN_CAPABILITY_VERSION } from "./constants.ts";
import { type ControlReply, unsupported } from "./control_reply.ts";
import { homeDerpOf } from "./mapper.ts";
import { sanitizeHostname, uniqueGivenName } from "./names.ts";
import { canonicalKey, isObject } from "./request_fields.ts";
import type { Change, Json, NodeRecord } from "./types.ts";
import type { PeerChange } from "../../src/netmap/tailcfg.ts";

/** Finds the node a map request is for, checking it belongs to the Noise machine key. */
export function findMapRequestNode(
  body: unknown,
  machineKey: string,
  nodeByNodeKey: (nodeKey: string) => NodeRecord | undefined,
): NodeRecord | ControlReply {
  if (!isObject(body)) return { status: 400, body: "invalid map request: not a JSON object" };
  const version = Number(body.Version ?? 0);
  if (!(version >= MIN_CAPABILITY_VERSION)) return unsupported(version);
  let nodeKey: string;
  try {
    nodeKey = canonicalKey("node", body.NodeKey);
  } catch {
    return { status: 404, body: "node not found" };
  }
  const node = nodeByNodeKey(nodeKey);
  if (!node) return { status: 404, body: "node not found" };
  if (node.machineKey !== machineKey) {
    return {
      status: 404,
      body: "node key in request does not match the one associated with this machine key",
    };
  }
  return node;
}

/**
 * Stores what a map request reports in the node (Headscale's UpdateNodeFromMapRequest)
 * and says how to announce it: Hostinfo or disco key changes as whole-node
 * `PeersChanged`, endpoint or home-DERP changes as `PeersChangedPatch`. `stored` tells
 * whether anything a restarted server must remember changed. `peersOf` lists the other
 * nodes, whose given names a renamed node must not take.
 */
export function updateNodeFromMapRequest(
  node: NodeRecord,
  req: Json,
  peersOf: (id: number) => NodeRecord[],
): { change: Change | null; stored: boolean } {
  let discoChanged = false;
  if ("DiscoKey" in req) {
    let disco = "";
    try {
      disco = canonicalKey("disco", req.DiscoKey);
    } catch {
      disco = node.discoKey;
    }
    discoChanged = disco !== node.discoKey;
    node.discoKey = disco;
  }
  let endpointsChanged = false;
  if ("Endpoints" in req) {
    const eps = Array.isArray(req.Endpoints) ? req.Endpoints.map(String) : [];
    endpointsChanged = !sameSet(eps, node.endpoints);
    node.endpoints = eps;
  }
  let derpChanged = false;
  let hostinfoChanged = false;
  if (isObject(req.Hostinfo)) {
    const hi: Json = { ...req.Hostinfo };
    const oldNetInfo = node.hostinfo.NetInfo;
    if (isObject(hi.NetInfo)) {
      const old = isObject(oldNetInfo) ? oldNetInfo.PreferredDERP : undefined;
      derpChanged = old !== hi.NetInfo.PreferredDERP && Number(hi.NetInfo.PreferredDERP) !== 0;
    } else if (oldNetInfo !== undefined) {
      // tailscaled only sends NetInfo when it changed; keep the last one.
      hi.NetInfo = oldNetInfo;
    }
    hostinfoChanged = JSON.stringify(hi) !== JSON.stringify(node.hostinfo);
    if (hostinfoChanged) {
      const hostname = typeof hi.Hostname === "string" ? hi.Hostname : "";
      if (hostname !== "" && hostname !== node.hostname) {
        const wasDerived = node.givenName === sanitizeHostname(node.hostname) ||
          node.givenName.startsWith(sanitizeHostname(node.hostname) + "-");
        node.hostname = hostname;
        if (wasDerived) {
          const taken = new Set(peersOf(node.id).map((n) => n.givenName));
          node.givenName = uniqueGivenName(sanitizeHostname(hostname), taken);
        }
      }
      node.hostinfo = hi;
    }
  }
  const stored = hostinfoChanged || discoChanged || endpointsChanged || derpChanged;
  // Headscale would patch only the endpoints when they change together with the disco key,
  // leaving peers with a stale disco key; send the whole node instead.
  if (hostinfoChanged || discoChanged) {
    return {
      change: { reason: "node-changed", originNode: node.id, peersChanged: [node.id] },
      stored,
    };
  }
  if (endpointsChanged || derpChanged) {
    const patch: PeerChange = { NodeID: node.id };
    if (derpChanged) patch.DERPRegion = homeDerpOf(node);
    if (endpointsChanged) patch.Endpoints = [...node.endpoints];
    return { change: { reason: "endpoints", originNode: node.id, patches: [patch] }, stored };
  }
  return { change: null, stored };
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const s = [...a].sort(), t = [...b].sort();
  return s.every((v, i) => v === t[i]);
}
