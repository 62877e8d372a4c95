/**
 * The {@link LivePrefsPorts} of a running tailnet node: how `tun set` and
 * `tailscale down`/`up`/`logout` reach its planner, engine, subnet router,
 * MagicDNS and control session. Kept apart from `ts_node.ts` so that file
 * keeps to building and running the node.
 *
 * @module
 */
import type { ControlSession } from "../control/session.ts";
import type { IpPrefix } from "../net/ip.ts";
import type { Hostinfo } from "../netmap/tailcfg.ts";
import type { TailnetEngine } from "./engine.ts";
import type { ExitNodeChoice, LivePrefsPorts } from "./live_prefs.ts";
import type { NodeDns } from "./node_dns.ts";
import { startSubnetRouter, type SubnetRouter } from "./subnet_router.ts";
import type { TailnetPlanner } from "./tailnet_plan.ts";

/** The parts of a node that live changes touch. */
export interface LiveNodeParts {
  /** The TUN's name, and whether it is a kernel TUN (else userspace networking). */
  link: {
    name: string;
    mode: string;
    netstack?: { ip: { setRoutes(p: IpPrefix[]): void } } | null;
  };
  /** Masquerade forwarded traffic (`--snat-subnet-routes`). */
  snat: boolean;
  /** Destinations always local besides the router's (quad-100). */
  fixedLocal: readonly IpPrefix[];
  /** The planner whose options change. */
  planner: TailnetPlanner;
  /** The engine (null before it exists). */
  engine(): TailnetEngine | null;
  /** The subnet router now, and its replacement. */
  router: { get(): SubnetRouter | null; set(r: SubnetRouter | null): void };
  /** MagicDNS and resolv.conf. */
  dns: NodeDns;
  /** The control session. */
  session: ControlSession;
  /** Replaces Hostinfo fields and tells control. */
  pushHostinfo(patch: Partial<Hostinfo>): Promise<void>;
  /** Plans the current netmap again and commits it. */
  replan(): void;
  /** Whether accept-dns is on now. */
  corpDns(): boolean;
  /** The exit-node routing's hook; absent: exit-node settings are refused. */
  setExitNode?(choice: ExitNodeChoice): Promise<void>;
  /** Whether an exit node is chosen now (however it was: flag or prefs). */
  exitNodeActive?(): boolean;
  /** One line per notable event. */
  log(line: string): void;
}

/** The live-change ports over a node's parts. */
export function nodeLivePorts(n: LiveNodeParts): LivePrefsPorts {
  const kernel = n.link.mode === "tun";
  // As tailscaled's userspace mode (no OS DNS configurator): nothing to point at quad-100.
  const dns = (on: boolean) =>
    !kernel ? Promise.resolve() : on ? n.dns.acceptDns() : n.dns.releaseDns();
  return {
    updateHostinfo: (patch) => n.pushHostinfo(patch),
    setAcceptRoutes: (on) => {
      n.planner.setOptions({ acceptRoutes: on });
      n.replan();
    },
    setAdvertisedRoutes: (routes) => {
      n.router.get()?.close();
      const router = startSubnetRouter({
        advertised: routes,
        snat: n.snat,
        tun: n.link.name,
        kernel,
        netstack: n.link.netstack?.ip,
        log: n.log,
      });
      n.router.set(router);
      n.engine()?.setFixedLocal([...n.fixedLocal, ...(router?.localNets() ?? [])]);
      n.replan();
    },
    setShieldsUp: (on) => {
      n.engine()?.setShieldsUp(on);
      n.replan();
    },
    setCorpDns: dns,
    setRunning: async (on) => {
      // tailscaled pauses its control client while stopped: control sees the node offline.
      n.session.setPaused(!on);
      n.replan();
      if (n.corpDns()) await dns(on);
    },
    logout: () => n.session.logout(),
    ...(n.setExitNode ? { setExitNode: (c: ExitNodeChoice) => n.setExitNode!(c) } : {}),
    ...(n.exitNodeActive ? { exitNodeActive: () => n.exitNodeActive!() } : {}),
    log: n.log,
  };
}
