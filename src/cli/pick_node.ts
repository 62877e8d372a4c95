/**
 * Which running node a client command talks to when `--tun` is not given.
 *
 * @module
 */
import { NodeNotRunningError } from "../daemon/local_api.ts";
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
