/**
 * Which prefs `warren tun up` was given on its command line: those replace the node's
 * stored prefs (`src/daemon/prefs.ts`), the others keep what `tun set` last chose.
 *
 * @module
 */
import type { PrefsEdit } from "../localapi/prefs.ts";
import { formatPrefix, type IpPrefix } from "../net/ip.ts";
import type { TailnetFlags } from "./up_tailnet.ts";

/** The prefs the flags in `v` state; `routes` is what the advertise flags parsed to. */
export function upGivenPrefs(v: TailnetFlags, routes: readonly IpPrefix[]): PrefsEdit {
  const edit: PrefsEdit = {};
  if (v["accept-routes"] !== undefined) edit.RouteAll = v["accept-routes"];
  if (v["accept-dns"] !== undefined) edit.CorpDNS = v["accept-dns"];
  if (v.hostname !== undefined) edit.Hostname = v.hostname;
  if (v["advertise-routes"] !== undefined || v["advertise-exit-node"] !== undefined) {
    edit.AdvertiseRoutes = routes.length > 0 ? routes.map(formatPrefix) : null;
  }
  return edit;
}
