/**
 * `warren demo`: the most complete thing warren can show on one machine —
 * a whole local tailnet (coordination server, DERP relay, two nodes,
 * MagicDNS, status), then plain WireGuard between two namespaces. Needs
 * root for the namespaces; says so in one line otherwise.
 *
 * @module
 */
import { namespaceSupport } from "../testbed/netns.ts";
import { tailnetAct } from "./demo_tailnet.ts";
import { wireguardAct } from "./demo_wireguard.ts";

/** Runs the demo; returns the exit code. */
export async function demoCommand(_argv: string[]): Promise<number> {
  const missing = await namespaceSupport();
  if (missing !== null) {
    console.error(
      `warren demo: needs root, iproute2 and /dev/net/tun to build namespaces (${missing})`,
    );
    return 1;
  }
  const say = (s: string) => console.log(`\n== ${s}`);
  try {
    console.log("# Act 1: a tailnet on one machine");
    await tailnetAct(say);
    console.log("\n# Act 2: plain WireGuard from wg-quick configs");
    await wireguardAct(say);
    say("done");
    return 0;
  } catch (e) {
    console.error(`warren demo: ${e instanceof Error ? e.message : e}`);
    return 1;
  }
}
