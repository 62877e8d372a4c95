/**
 * `warren tun netcheck`: what the running node can tell about its network —
 * UDP reachability, the addresses STUN servers see, whether the NAT mapping
 * varies by destination, latency to each DERP region and the chosen home.
 *
 * @module
 */
import { callLocalApi } from "../daemon/local_api.ts";
import { pickNode } from "./pick_node.ts";
import { parseFlags } from "./usage.ts";

/** Usage text. */
export const NETCHECK_HELP = `Usage: warren tun netcheck [--json] [--tun NAME]

Reports UDP reachability, mapped (public) addresses, whether the mapping
varies by destination (a symmetric NAT), latency per DERP region and the
home region, measured by the running node from its own socket.`;

interface Report {
  udp: boolean;
  endpoints: { addr: string; type: number }[];
  mappingVariesByDestIp: boolean | null;
  regions: { regionId: number; latencyMs: number | null; method: string }[];
  preferredDerp: number;
}

/** Runs the command; returns the exit code. */
export async function netcheckCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    json: { type: "boolean" },
    tun: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(NETCHECK_HELP);
    return 0;
  }
  const r = await callLocalApi(pickNode(values.tun), "GET", "/warren/v0/netcheck") as Report;
  if (values.json) {
    console.log(JSON.stringify(r, null, 2));
    return 0;
  }
  const mapped = r.endpoints.filter((e) => e.type === 2).map((e) => e.addr);
  const local = r.endpoints.filter((e) => e.type === 1).map((e) => e.addr);
  const lines = [
    "Report:",
    `\t* UDP: ${r.udp}`,
    `\t* Mapped addresses: ${mapped.join(", ") || "(none)"}`,
    `\t* Local addresses: ${local.join(", ") || "(none)"}`,
    `\t* MappingVariesByDestIP: ${
      r.mappingVariesByDestIp ?? "unknown (fewer than two STUN servers answered)"
    }`,
    `\t* Nearest DERP: ${r.preferredDerp ? `region ${r.preferredDerp}` : "(none)"}`,
    "\t* DERP latency:",
  ];
  const sorted = [...r.regions].sort((a, b) =>
    (a.latencyMs ?? Infinity) - (b.latencyMs ?? Infinity)
  );
  for (const g of sorted) {
    lines.push(
      `\t\t- ${g.regionId}: ${
        g.latencyMs === null ? "unreachable" : `${g.latencyMs.toFixed(1)}ms (${g.method})`
      }`,
    );
  }
  console.log(lines.join("\n"));
  return 0;
}
