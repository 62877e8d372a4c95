/**
 * `warren tun ping PEER [-c N]`: disco pings through the running node, like
 * `tailscale ping` — each try says which path answered (a direct ip:port or
 * a DERP region) and how long it took.
 *
 * @module
 */
import { callLocalApi } from "../daemon/local_api.ts";
import { pickNode } from "./pick_node.ts";
import { numberFlag } from "./up_tailnet.ts";
import { parseFlags, UsageError } from "./usage.ts";

/** Usage text. */
export const PING_HELP = `Usage: warren tun ping PEER [-c N] [--until-direct] [--tun NAME]

Sends disco pings to a peer (MagicDNS name, short name or tailnet IP) and
prints the path and round trip of each answer.

  -c, --count N      number of pings (default 10)
  --until-direct     stop at the first answer over a direct path (default)
  --no-stop          send all N pings`;

interface PingAnswer {
  peer: string;
  address: string;
  result: { via: string; latencyMs: number } | null;
}

/** Runs the command; returns the exit code (0 if any pong came back). */
export async function pingCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    count: { type: "string", short: "c" },
    "until-direct": { type: "boolean" },
    "no-stop": { type: "boolean" },
    tun: { type: "string" },
    help: { type: "boolean", short: "h" },
  }, 1);
  if (values.help) {
    console.log(PING_HELP);
    return 0;
  }
  const peer = positionals[0];
  if (!peer) throw new UsageError("Missing PEER (a MagicDNS name, short name or tailnet IP)");
  const count = numberFlag("count", values.count, 1, 1000) ?? 10;
  const tun = pickNode(values.tun);
  let answered = 0;
  for (let i = 0; i < count; i++) {
    const r = await callLocalApi(
      tun,
      "POST",
      `/warren/v0/ping?peer=${encodeURIComponent(peer)}`,
    ) as PingAnswer;
    if (r.result === null) {
      console.log(`ping "${r.peer}" timed out`);
      continue;
    }
    answered++;
    const direct = !r.result.via.startsWith("derp-");
    const via = direct ? r.result.via : `DERP(${r.result.via.slice(5)})`;
    console.log(
      `pong from ${r.peer} (${r.address}) via ${via} in ${r.result.latencyMs.toFixed(1)}ms`,
    );
    if (direct && !values["no-stop"]) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  return answered > 0 ? 0 : 1;
}
