/**
 * Which running node a client command talks to when `--tun` is not given.
 *
 * @module
 */
import { callLocalApi, NodeNotRunningError } from "../daemon/local_api.ts";
import { listNodes, runtimeDirs } from "../daemon/runtime_dir.ts";
import { UsageError } from "./usage.ts";

/** The interface named by `--tun`, or the only node running in this namespace. */
export function pickNode(tun: string | undefined): string {
  if (tun !== undefined) return tun;
  const nodes = listNodes();
  if (nodes.length === 1) return nodes[0];
  if (nodes.length === 0) {
    const e = new NodeNotRunningError("this network namespace");
    e.message = `No warren node is running in this network namespace (no socket in ${
      runtimeDirs().join(", ")
    })`;
    throw e;
  }
  throw new UsageError(
    `Several warren nodes are running (${nodes.join(", ")}): pick one with --tun`,
  );
}

/**
 * The nodes a client command addresses: the one named by `--tun`, the one whose
 * `tun up --config` network is `--network` (or whose interface is), or else every
 * node running in this network namespace.
 */
export async function selectNodes(
  tun: string | undefined,
  network: string | undefined,
): Promise<string[]> {
  if (tun !== undefined && network !== undefined) {
    throw new UsageError("--tun and --network name the same thing: give one");
  }
  if (tun !== undefined) return [tun];
  const nodes = listNodes();
  if (nodes.length === 0) return [pickNode(undefined)]; // throws the "none running" error
  if (network === undefined) return nodes;
  for (const name of nodes) {
    const st = await callLocalApi(name, "GET", "/warren/v0/status").catch(() => null) as
      | { network?: string; interface?: string }
      | null;
    if (st && (st.network === network || st.interface === network)) return [name];
  }
  throw new NodeNotRunningError(network);
}

/**
 * The one node a command that changes a node talks to: `--network`'s (see
 * {@link selectNodes}), else `--tun`'s or the only one running ({@link pickNode}).
 */
export async function pickOneNode(
  tun: string | undefined,
  network: string | undefined,
): Promise<string> {
  return network === undefined ? pickNode(tun) : (await selectNodes(tun, network))[0];
}
