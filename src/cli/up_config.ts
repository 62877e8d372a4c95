/**
 * `warren tun up --config FILE`: every network the file names, in one
 * process. The file is checked whole first (a bad one is exit 2 and creates
 * nothing); then each network starts on its own — one that fails to start,
 * or later loses its control server, leaves the others running — and each
 * keeps its own LocalAPI socket (`tun status --tun NAME`, `tun down --tun
 * NAME`). SIGHUP reloads the file: networks added, removed or changed start
 * or stop, unchanged ones are not touched. The process ends when every
 * network has stopped; SIGINT or SIGTERM stops them all.
 *
 * @module
 */
import { scheduleStartupRelease } from "./release_startup.ts";
import {
  formatConfigProblem,
  loadNetworksConfig,
  type NetworkConfig,
  type NetworksConfig,
  NetworksConfigError,
  USERSPACE_NETWORKING,
} from "../config/mod.ts";
import { TsNode } from "../daemon/ts_node.ts";
import { WgNode } from "../daemon/wg_node.ts";
import { startUserspaceServices } from "../daemon/userspace_services.ts";
import { logLine, runUntilStopped, type Stoppable } from "./foreground.ts";
import { type ApplyResult, NetworkSupervisor } from "./network_supervisor.ts";
import { startOrStop } from "./up_tailnet.ts";
import { UsageError } from "./usage.ts";
import { resolveEndpoints } from "./wg_endpoints.ts";

/** Runs every network of `file` in the foreground; returns the exit code. */
export async function upConfig(file: string): Promise<number> {
  const config = loadOrUsage(file);
  for (const w of config.warnings) logLine(formatConfigProblem(w));
  const networks = new NetworkSupervisor(startNetwork);
  const first = await networks.apply(config.networks);
  logApply(first);
  if (first.started.length === 0) {
    logLine(`no network of ${file} started`);
    return 1;
  }
  logLine(`${first.started.length} of ${config.networks.length} network(s) up`);
  const onHangup = () => void reload(file, networks);
  Deno.addSignalListener("SIGHUP", onHangup);
  try {
    return await runUntilStopped(networks, "every network is down");
  } finally {
    Deno.removeSignalListener("SIGHUP", onHangup);
  }
}

function loadOrUsage(file: string): NetworksConfig {
  try {
    return loadNetworksConfig(file);
  } catch (e) {
    if (e instanceof NetworksConfigError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * SIGHUP: reads the file again and applies it; a file that no longer checks out changes
 * nothing (every problem is logged, the networks keep running as they are).
 */
async function reload(file: string, networks: NetworkSupervisor): Promise<void> {
  logLine(`SIGHUP: reloading ${file}`);
  let config;
  try {
    config = loadNetworksConfig(file);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    logLine(`reload of ${file} refused, nothing changed:\n${why}`);
    return;
  }
  for (const w of config.warnings) logLine(formatConfigProblem(w));
  const r = await networks.apply(config.networks);
  logApply(r);
  logLine(
    `reloaded ${file}: ${r.kept.length} unchanged, ${r.started.length} started, ` +
      `${
        r.stopped.filter((n) => !r.started.includes(n)).length
      } stopped, ${r.failed.length} failed`,
  );
}

function logApply(r: ApplyResult): void {
  for (const f of r.failed) logLine(`[${f.name}] failed to start: ${f.reason}`);
}

/** Starts one network; its log lines carry its name. */
async function startNetwork(net: NetworkConfig): Promise<Stoppable> {
  const log = (line: string) => logLine(`[${net.name}] ${line}`);
  const quiet = (line: string) => (net.verbose ? log(line) : undefined);
  if (net.kind === "wireguard") {
    const node = await WgNode.start({
      tun: net.tun,
      network: net.name,
      config: net.config,
      endpoints: await resolveEndpoints(net.config, net.configFile),
      log: (line) => (line.startsWith("peer ") ? quiet : log)(line),
      afterPlaneSleep: () => void scheduleStartupRelease(log, 1_000),
    });
    const st = await node.status();
    log(`${st.interface} up: ${st.addresses.join(", ") || "no address"}, port ${st.listenPort}`);
    return node;
  }
  let authKey = net.authKey;
  if (net.authKeyFile !== undefined) authKey = (await Deno.readTextFile(net.authKeyFile)).trim();
  const userspace = net.tun === USERSPACE_NETWORKING;
  const node = await TsNode.start({
    tun: net.tun,
    network: net.name,
    userspace,
    controlUrl: net.controlUrl.replace(/\/+$/, ""),
    authKey,
    stateDir: net.stateDir,
    forceReauth: net.forceReauth,
    acceptRoutes: net.acceptRoutes,
    advertiseRoutes: net.advertiseRoutes,
    snatSubnetRoutes: net.snatSubnetRoutes,
    exitNode: net.exitNode,
    exitNodeAllowLanAccess: net.exitNodeAllowLanAccess,
    acceptDns: net.acceptDns && !userspace,
    hostname: net.hostname,
    socket: net.socket,
    afterPlaneSleep: () => void scheduleStartupRelease(log, 1_000),
    ephemeral: net.ephemeral,
    plainDerp: net.plainDerp || Deno.env.get("TS_DEBUG_USE_DERP_HTTP") === "1",
    port: net.port,
    tunables: net.tunables,
    loginTimeoutMs: net.loginTimeoutMs,
    timings: net.timings,
    log: (line) => (/^peer [^ ]+: handshake/.test(line) ? quiet : log)(line),
    onAuthUrl: (u) => log(`To authenticate, visit:\n\n\t${u}\n`),
  });
  const proxies = userspace
    ? await startOrStop(node, () =>
      startUserspaceServices(node, {
        proxies: {
          "socks5-server": net.socks5Server,
          "outbound-http-proxy-listen": net.outboundHttpProxyListen,
        },
        forwards: net.forwards ?? [],
        limits: net.netstackLimits,
      }, log))
    : null;
  const st = node.status();
  log(`${st.interface} up as ${st.tailnet?.self?.name ?? "?"} (${st.addresses.join(", ")})`);
  if (proxies === null) return node;
  let closing: Promise<void> | null = null;
  const closeProxies = () => closing ??= proxies.close();
  return {
    stop: async () => {
      await closeProxies();
      await node.stop();
    },
    done: node.done.then(closeProxies),
  };
}
