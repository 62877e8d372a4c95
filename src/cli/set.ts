/**
 * `warren tun set`: changes a running node's settings live, as `tailscale
 * set` does — a MaskedPrefs `PATCH /localapi/v0/prefs` on the node's
 * LocalAPI socket with only the flags given — without restarting it or
 * dropping its sessions.
 *
 * @module
 */
import { requestLocalApi } from "../daemon/local_api.ts";
import { maskedPrefsJson } from "../daemon/prefs.ts";
import { pickOneNode } from "./pick_node.ts";
import { exitNodeIp, parseSetFlags, setEdit, type StatusPeers } from "./set_flags.ts";

/** Usage text. */
export const SET_HELP = `Usage: warren tun set [--tun NAME | --network NAME] [flags]

Changes settings of the running node without restarting it (tailscale set);
only the flags given change anything:

  --hostname NAME                  the name to register (MagicDNS follows it)
  --accept-routes[=false]          route the subnets peers advertise
  --accept-dns[=false]             point /etc/resolv.conf at MagicDNS
  --shields-up[=false]             refuse every incoming connection
  --advertise-routes LIST          prefixes to offer ("" for none)
  --advertise-exit-node[=false]    offer 0.0.0.0/0 and ::/0
  --exit-node IP|NAME              use a peer as exit node ("" for none)
  --exit-node-allow-lan-access[=false]  keep the local LANs direct while using one

--network names a network of a "tun up --config" process.`;

/** Runs the command; returns the exit code. */
export async function setCommand(argv: string[]): Promise<number> {
  const flags = parseSetFlags(argv);
  if (flags.help) {
    console.log(SET_HELP);
    return 0;
  }
  // Bad or missing flags are exit 2 before any node is asked (the real edit needs its prefs).
  setEdit(flags, null, (v) => v);
  const tun = await pickOneNode(flags.tun, flags.network);
  const get = async (path: string) => {
    const r = await requestLocalApi(tun, "GET", `/localapi/v0/${path}`);
    if (r.status !== 200) throw new Error(`LocalAPI ${path}: ${r.body.trim()}`);
    return JSON.parse(r.body);
  };
  const needRoutes = flags.advertiseRoutes !== undefined ||
    flags.bools["advertise-exit-node"] !== undefined;
  const current = needRoutes ? await get("prefs") : null;
  const status: StatusPeers | null = flags.exitNode ? await get("status") : null;
  const edit = setEdit(flags, current?.AdvertiseRoutes ?? null, (v) => exitNodeIp(v, status!));
  const res = await requestLocalApi(tun, "PATCH", "/localapi/v0/prefs", maskedPrefsJson(edit));
  if (res.status === 200) return 0;
  let msg = res.body.trim();
  try {
    msg = JSON.parse(res.body).Error ?? msg;
  } catch {
    // a plain-text error
  }
  console.error(`warren tun set: ${msg}`);
  return 1;
}
