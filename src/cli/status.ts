/**
 * `warren tun status [--peers] [--routes] [--json] [--tun NAME]`: asks the
 * running node over the LocalAPI and prints what it says.
 *
 * @module
 */
import { callLocalApi } from "../daemon/local_api.ts";
import type { NodeStatus } from "../daemon/status.ts";
import type { ExitNodeStatus } from "../daemon/exit_node.ts";
import { formatAgo, formatBytes } from "./format.ts";
import { netstackServiceLines } from "./status_netstack.ts";
import { selectNodes } from "./pick_node.ts";
import { parseFlags, UsageError } from "./usage.ts";
import {
  DEFAULT_STATUS_HOSTNAME,
  DEFAULT_STATUS_PORT,
  serveStatusPage,
} from "../web/status_page.ts";
import { parseListenAddress } from "../web/listen.ts";

/** Usage text. */
export const STATUS_HELP =
  `Usage: warren tun status [--peers] [--routes] [--json] [--tun NAME | --network NAME]
       warren tun status --web [--listen HOST:PORT] [--tun NAME | --network NAME]

Shows the running node: interface, addresses, listen port, and with
--peers each peer (endpoint, latest handshake, transfer, allowed IPs),
with --routes the routes warren installed (and a full tunnel's policy
rules). --json prints everything. With several nodes running here (e.g.
"tun up --config") it shows each, or the one --tun or --network names
(--json: {"networks": {NAME: ...}} for several).

--web serves a live status page (peers, paths, latencies, traffic) at
http://${DEFAULT_STATUS_HOSTNAME}:${DEFAULT_STATUS_PORT}/ (or --listen) until Ctrl+C.`;

/** Runs the command; returns the exit code. */
export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    peers: { type: "boolean" },
    routes: { type: "boolean" },
    json: { type: "boolean" },
    tun: { type: "string" },
    network: { type: "string" },
    web: { type: "boolean" },
    listen: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(STATUS_HELP);
    return 0;
  }
  if (values.listen !== undefined && !values.web) throw new UsageError("--listen needs --web");
  const names = await selectNodes(values.tun, values.network);
  if (values.web) return await serveWeb(names, values.listen);
  const all = await fetchAll(names);
  if (values.json) {
    // One node: its status alone, as before; several: {"networks": {NAME: status}}.
    console.log(
      JSON.stringify(names.length === 1 ? Object.values(all)[0] : { networks: all }, null, 2),
    );
    return 0;
  }
  const show = { peers: !!values.peers, routes: !!values.routes };
  console.log(
    Object.entries(all).map(([name, st]) =>
      (names.length > 1 ? `network: ${name}\n` : "") + renderStatus(st, show)
    ).join("\n\n"),
  );
  return 0;
}

/** Each node's status, keyed by its network name (or its interface). */
async function fetchAll(names: string[]): Promise<Record<string, NodeStatus>> {
  const out: Record<string, NodeStatus> = {};
  for (const name of names) {
    const st = await callLocalApi(name, "GET", "/warren/v0/status") as NodeStatus;
    out[st.network ?? st.interface] = st;
  }
  return out;
}

/** Serves the live status page for the nodes `names` until SIGINT or SIGTERM. */
async function serveWeb(names: string[], listen: string | undefined): Promise<number> {
  let addr;
  try {
    addr = parseListenAddress(listen ?? `${DEFAULT_STATUS_HOSTNAME}:${DEFAULT_STATUS_PORT}`);
  } catch (e) {
    throw new UsageError(`--listen: ${(e as Error).message}`);
  }
  // Fail now, in one line, if a node is not there.
  await fetchAll(names);
  const stop = new AbortController();
  const page = serveStatusPage({
    ...addr,
    statuses: () => fetchAll(names),
    signal: stop.signal,
  });
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  console.log(`warren tun status: serving ${page.url} (Ctrl+C to stop)`);
  try {
    await page.finished;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  return 0;
}

/** The text form of a status. */
function renderStatus(st: NodeStatus, show: { peers: boolean; routes: boolean }): string {
  const tn = st.tailnet;
  const lines = [`interface: ${st.interface} (${st.state}, pid ${st.pid})`];
  if (tn) {
    lines.push(
      `  mode: ${st.mode ?? "tun"}`,
      `  self: ${tn.self ? `${tn.self.name} (${tn.self.nodeKey})` : "(not logged in)"}`,
      `  control: ${tn.controlUrl}`,
      `  home DERP: ${
        tn.homeDerp
          ? `region ${tn.homeDerp}` +
            (tn.homeDerpLatencyMs !== null ? ` (${tn.homeDerpLatencyMs.toFixed(1)} ms)` : "")
          : "(none yet)"
      }`,
    );
    if (tn.filter) {
      lines.push(`  filter: ${tn.filter.accepted} accepted, ${tn.filter.dropped} dropped inbound`);
    }
    for (const s of tn.skippedPeers ?? []) lines.push(`  skipped peer: ${s.name}: ${s.reason}`);
    const r = tn.subnetRouter;
    if (r) {
      const approved = new Set(r.approved);
      const pending = r.advertised.filter((x) => !approved.has(x));
      lines.push(
        `  routes advertised: ${r.advertised.join(", ")} (` +
          (r.userspace
            ? "served in userspace: re-dialled from this host"
            : r.snat
            ? "SNAT"
            : "no SNAT") +
          ")",
        `  routes approved: ${r.approved.join(", ") || "(none yet)"}` +
          (pending.length > 0 && r.approved.length > 0 ? `; awaiting ${pending.join(", ")}` : ""),
      );
      if (r.forwardingWarning) lines.push(`  warning: ${r.forwardingWarning}`);
    }
    lines.push(...exitNodeLines(tn.exitNode, st.peers));
    if (st.netstack) {
      const ip = st.netstack.ip;
      lines.push(
        `  netstack: ${ip.received} packets in, ${ip.sent} out, ${ip.echoReplied} echo replies, ` +
          `${st.netstack.device.queueFull} dropped on a full queue`,
      );
      lines.push(...netstackServiceLines(st.netstack));
    }
  } else {
    lines.push(`  public key: ${st.publicKey}`, `  listening port: ${st.listenPort}`);
    if (st.fwmark) lines.push(`  fwmark: 0x${st.fwmark.toString(16)}`);
  }
  if (st.dataPlane) {
    const where = st.dataPlane === "worker" ? "own thread" : "main thread";
    lines.push(`  data plane: ${where}${st.dataPlaneAsleep ? " (asleep: idle)" : ""}`);
  }
  lines.push(
    `  addresses: ${st.addresses.join(", ") || "(none)"}`,
    `  mtu: ${st.mtu}`,
    `  peers: ${st.peers.length}`,
  );
  if (show.peers) {
    for (const p of st.peers) {
      lines.push("");
      if (p.name !== undefined) {
        lines.push(
          `peer: ${p.name}`,
          `  addresses: ${(p.addresses ?? []).join(", ") || "(none)"}`,
          `  online: ${p.online === null ? "unknown" : p.online ? "yes" : "no"}`,
          `  path: ${p.path ?? "none"} (${p.pathState ?? "unknown"}` +
            (p.latencyMs != null ? `, ${p.latencyMs.toFixed(1)} ms` : "") + ")",
          `  node key: ${p.publicKey}`,
        );
      } else {
        lines.push(`peer: ${p.publicKey}`, `  endpoint: ${p.endpoint ?? "(none)"}`);
      }
      lines.push(
        `  allowed ips: ${p.allowedIps.join(", ") || "(none)"}`,
        `  latest handshake: ${formatAgo(p.latestHandshake)}`,
        `  transfer: ${formatBytes(p.rxBytes)} received, ${formatBytes(p.txBytes)} sent`,
      );
      if (p.persistentKeepalive > 0) {
        lines.push(`  persistent keepalive: every ${p.persistentKeepalive} seconds`);
      }
      if (p.presharedKey) lines.push(`  preshared key: (hidden)`);
    }
  }
  if (show.routes) {
    lines.push("", "routes:");
    st.routes.forEach((r, i) => {
      // Older nodes send no tables; a route in main (254) is shown as before.
      const table = st.routeTables?.[i]?.table ?? 254;
      lines.push(`  ${r} dev ${st.interface}${table === 254 ? "" : ` table ${table}`}`);
    });
    if (st.routes.length === 0) lines.push("  (none)");
    if (st.rules && st.rules.length > 0) {
      lines.push("", "rules:");
      for (const r of st.rules) lines.push(`  ${r.rule} (IPv${r.family})`);
    }
  }
  return lines.join("\n");
}

/** The exit node lines: the one in use (or why not), and the peers that offer exit. */
function exitNodeLines(x: ExitNodeStatus | undefined, peers: NodeStatus["peers"]): string[] {
  const lines: string[] = [];
  if (x) {
    const lan = x.allowLanAccess ? `; LAN direct: ${x.lanDirect.join(", ") || "(none)"}` : "";
    lines.push(
      x.node
        ? `  exit node: ${x.node.name} (${x.node.ips.join(", ")}${lan})`
        : `  exit node: ${x.requested}: ${
          x.problem ?? "not resolved yet"
        }; internet traffic dropped`,
    );
  }
  const offering = peers.filter((p) => p.exitNodeOption).map((p) => p.name ?? p.publicKey);
  if (offering.length > 0) lines.push(`  exit nodes offered: ${offering.join(", ")}`);
  return lines;
}
