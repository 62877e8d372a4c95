/**
 * Changing a stopped server's tailnet through its state file, as an operator
 * changes Headscale's database while Headscale is down: delete nodes, register
 * new ones with a pre-auth key. The next start serves the changed node set, so
 * tests can check that clients forget what a restarted server no longer has.
 *
 * @module
 */

import { CAPABILITY_VERSION } from "../../src/control/constants.ts";
import { formatKey } from "../../src/key/node_key.ts";
import { resolveConfig } from "./config.ts";
import { readStateFile, writeStateFile } from "./state_file.ts";
import { Tailnet } from "./tailnet.ts";
import type { NodeRecord } from "./types.ts";

/** A node to register offline. */
export interface OfflineNode {
  /** Machine public key (raw bytes). */
  machineKey: Uint8Array;
  /** Node public key (raw bytes). */
  nodeKey: Uint8Array;
  /** Reported hostname (its DNS label follows from it). */
  hostname: string;
  /** A pre-auth key the state file holds. */
  authKey: string;
}

/**
 * Loads the state file of a stopped server, lets `edit` change the tailnet
 * (deleteNode, or {@link registerOffline}), and writes it back. Nodes that were
 * online are stored as offline, as a restart would see them anyway.
 *
 * @example
 * ```ts ignore
 * await editStoppedTailnet(`${dir}/control-state.json`, (t) => { t.deleteNode(3); });
 * ```
 */
export async function editStoppedTailnet(
  path: string,
  edit: (t: Tailnet) => void | Promise<void>,
): Promise<void> {
  const stored = readStateFile(path);
  if (stored === null) throw new Error(`Cannot edit control state in ${path}: no such file`);
  const t = new Tailnet(resolveConfig({}, "http://offline.invalid"));
  try {
    t.restore(stored.tailnet);
    await edit(t);
    writeStateFile(path, { privateKey: stored.privateKey, tailnet: t.snapshot() });
  } finally {
    t.close();
  }
}

/** Registers a node in a stopped tailnet (inside {@link editStoppedTailnet}); returns it. */
export async function registerOffline(t: Tailnet, n: OfflineNode): Promise<NodeRecord> {
  const nodeKey = formatKey("node", n.nodeKey);
  const r = await t.register(
    {
      Version: CAPABILITY_VERSION,
      NodeKey: nodeKey,
      Auth: { AuthKey: n.authKey },
      Hostinfo: { Hostname: n.hostname },
    },
    formatKey("machine", n.machineKey),
    new AbortController().signal,
  );
  const node = t.nodeByNodeKey(nodeKey);
  const err = typeof r.body === "object" ? r.body.Error : r.body;
  if (r.status !== 200 || !node) {
    throw new Error(`Cannot register ${n.hostname} offline: ${err || `HTTP ${r.status}`}`);
  }
  return node;
}
