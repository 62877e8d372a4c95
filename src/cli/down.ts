/**
 * `warren tun down [--tun NAME]`: asks the running node to stop and returns
 * once its interface is gone.
 *
 * @module
 */
import { callLocalApi } from "../daemon/local_api.ts";
import { listNodes } from "../daemon/runtime_dir.ts";
import { pickOneNode } from "./pick_node.ts";
import { parseFlags } from "./usage.ts";

/** Usage text. */
export const DOWN_HELP = `Usage: warren tun down [--tun NAME | --network NAME]

Stops the running node (or the network of a "tun up --config" process that
--network names, leaving the others running): removes its interface and
every route it added.`;

/** How long to wait for the node to finish tearing down. */
const DOWN_TIMEOUT_MS = 10_000;

/** Runs the command; returns the exit code. */
export async function downCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    tun: { type: "string" },
    network: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(DOWN_HELP);
    return 0;
  }
  const tun = await pickOneNode(values.tun, values.network);
  await callLocalApi(tun, "POST", "/warren/v0/down");
  const deadline = Date.now() + DOWN_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!listNodes().includes(tun) && !interfaceExists(tun)) {
      console.log(`${tun} is down`);
      return 0;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  console.error(`warren tun down: ${tun} did not stop within ${DOWN_TIMEOUT_MS / 1000} s`);
  return 1;
}

function interfaceExists(name: string): boolean {
  try {
    Deno.statSync(`/sys/class/net/${name}`);
    return true;
  } catch {
    return false;
  }
}
