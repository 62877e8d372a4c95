/**
 * Which peer is the exit node: `--exit-node IP|NAME` resolved against each
 * netmap, as tailscaled's `exitNodeIPOfArg` matches it (a peer's Tailscale
 * IP; its MagicDNS base name, FQDN with or without the dot; and, as warren
 * adds, its Hostinfo host name), with tailscale's messages when it cannot be
 * used. A choice that names no usable peer is kept and reported: the exit
 * routes stay in and traffic to the internet is dropped rather than leaked
 * to the LAN, as tailscaled does ("we want to avoid leaking traffic at the
 * expense of functionality"); it is re-resolved on every netmap, so the node
 * appearing (or starting to offer exit) puts it in use.
 *
 * {@link ExitNodeControl} holds the choice at runtime: `set()` changes it
 * (`tun set --exit-node`), the node re-plans, and `commit()` installs or
 * removes the policy routing (`exit_routing.ts`).
 *
 * @module
 */
import type { NetworkMap } from "../netmap/network_map.ts";
import type { Node } from "../netmap/tailcfg.ts";
import { magicDnsSuffixOf, offersExit, tailscaleIps, trimDnsSuffix } from "../localapi/names.ts";
import { parseIp } from "../net/ip.ts";
import { cleanStaleExitRouting, ExitRouting, lanPrefixes } from "./exit_routing.ts";
import { describeRule } from "./policy_routing_apply.ts";

/** tailscale's refusal of `--advertise-exit-node` together with `--exit-node`. */
export const ADVERTISE_AND_USE_ERROR =
  "Cannot advertise an exit node and use an exit node at the same time.";
/** tailscale's refusal of `--exit-node-allow-lan-access` alone. */
export const LAN_ACCESS_ALONE_ERROR =
  "--exit-node-allow-lan-access can only be used with --exit-node";

/** The user's choice: `--exit-node` ("" for none) and `--exit-node-allow-lan-access`. */
export interface ExitNodePrefs {
  /** Tailscale IP, MagicDNS name (short or full) or host name; "" for none. */
  exitNode: string;
  /** Keep the host's own networks direct. */
  allowLanAccess: boolean;
}

/** What a choice resolves to in one netmap. */
export type ExitNodeResolution =
  | { kind: "none" }
  | { kind: "selected"; node: Node; name: string }
  | { kind: "unavailable"; reason: string };

/**
 * Resolves `target` against the netmap's peers (see the module doc).
 *
 * @example
 * ```ts
 * const nm = { self: null, peers: new Map() } as never;
 * resolveExitNode("", nm).kind; // "none"
 * ```
 */
export function resolveExitNode(
  target: string,
  nm: Pick<NetworkMap, "self" | "peers">,
): ExitNodeResolution {
  if (target === "") return { kind: "none" };
  const peers = [...nm.peers.values()].filter((p) => !p.Expired);
  const local = nm.self ? tailscaleIps(nm.self) : [];
  let isIp = true;
  try {
    parseIp(target);
  } catch {
    isIp = false;
  }
  if (isIp) {
    if (local.includes(target)) return unavailable(localIpError(target));
    const peer = peers.find((p) => tailscaleIps(p).includes(target));
    if (!peer) return unavailable(`no node found in netmap with IP ${target}`);
    if (!offersExit(peer.AllowedIPs)) {
      return unavailable(`node ${target} is not advertising an exit node`);
    }
    return { kind: "selected", node: peer, name: nameOf(peer) };
  }
  const want = target.toLowerCase();
  const matches = peers.filter((p) => namesOf(p).includes(want));
  if (matches.length === 0) {
    if (nm.self && namesOf(nm.self).includes(want)) return unavailable(localIpError(target));
    return unavailable(`invalid value "${target}" for --exit-node; must be IP or peer hostname`);
  }
  if (matches.length > 1) {
    return unavailable(`ambiguous exit node name "${target}": ${matches.map(nameOf).join(", ")}`);
  }
  const [peer] = matches;
  if (tailscaleIps(peer).length === 0) return unavailable(`node "${target}" has no Tailscale IP?`);
  if (!offersExit(peer.AllowedIPs)) {
    return unavailable(`node "${target}" is not advertising an exit node`);
  }
  return { kind: "selected", node: peer, name: nameOf(peer) };
}

function unavailable(reason: string): ExitNodeResolution {
  return { kind: "unavailable", reason };
}

function localIpError(s: string): string {
  return `cannot use ${s} as an exit node as it is a local IP address to this machine`;
}

function nameOf(n: Node): string {
  return (n.Name ?? "").replace(/\.$/, "") || `node ${n.ID}`;
}

/** The lowercase names a peer answers to: base name, FQDN with and without the dot, host name. */
function namesOf(n: Node): string[] {
  const fqdn = (n.Name ?? "").toLowerCase();
  if (!fqdn) return [];
  const out = [fqdn, fqdn.replace(/\.$/, ""), trimDnsSuffix(fqdn, magicDnsSuffixOf(fqdn))];
  const host = n.Hostinfo?.Hostname?.toLowerCase();
  if (host) out.push(host);
  return out;
}

/** The exit node part of `tun status` and the LocalAPI. */
export interface ExitNodeStatus {
  /** What `--exit-node` asked for ("" for none). */
  requested: string;
  /** `--exit-node-allow-lan-access`. */
  allowLanAccess: boolean;
  /** The peer in use, when one is. */
  node:
    | { id: number; stableId: string; name: string; ips: string[]; online: boolean | null }
    | null;
  /** Why the requested exit node is not in use (traffic to the internet is dropped meanwhile). */
  problem: string | null;
  /** Whether the policy routing (table 52 and its rules) is in. */
  routing: boolean;
  /** The rules installed, as `ip rule` lists them. */
  rules: { family: 4 | 6; rule: string }[];
  /** The networks kept direct (throw routes in table 52). */
  lanDirect: string[];
}

/** How {@link ExitNodeControl} reaches the host. */
export interface ExitNodeControlOptions {
  /** The first choice (`tun up` flags). */
  prefs: ExitNodePrefs;
  /** The TUN's name, or null in userspace mode (no policy routing there). */
  tun: string | null;
  /**
   * Whether this node offers to be an exit node now (then using one is refused); asked at
   * each change, as `tun set --advertise-exit-node` may change it while the node runs.
   */
  advertisesExit: () => boolean;
  /** The host's interfaces (for the networks `allowLanAccess` keeps direct). */
  interfaces?: () => Deno.NetworkInterfaceInfo[];
  /** One line per notable event. */
  log(line: string): void;
}

/** The exit node choice of a running node and the routing that goes with it. */
export class ExitNodeControl {
  readonly #opts: ExitNodeControlOptions;
  #prefs: ExitNodePrefs;
  #resolved: ExitNodeResolution = { kind: "none" };
  #reported = "";
  #routing: ExitRouting | null = null;
  #cleaned = false;
  #lastError = "";

  /** Checks `opts.prefs` as {@link set} does. */
  constructor(opts: ExitNodeControlOptions) {
    this.#opts = opts;
    checkExitNodePrefs(opts.prefs, opts.advertisesExit());
    this.#prefs = { ...opts.prefs };
  }

  /**
   * Whether an exit node is chosen (usable or not: an unusable one still takes the internet
   * traffic, which is then dropped rather than sent around the tunnel).
   */
  get active(): boolean {
    return this.#prefs.exitNode !== "";
  }

  /** The choice now. */
  get prefs(): ExitNodePrefs {
    return { ...this.#prefs };
  }

  /**
   * Changes the choice; the caller re-plans its netmap (which calls
   * {@link resolve}) and then {@link commit}s. Throws a TypeError with
   * tailscale's message for a choice it refuses (nothing changes then).
   */
  set(prefs: Partial<ExitNodePrefs>): void {
    const next = { ...this.#prefs, ...prefs };
    if (next.exitNode === "") next.allowLanAccess = prefs.allowLanAccess ?? false;
    checkExitNodePrefs(next, this.#opts.advertisesExit());
    this.#prefs = next;
  }

  /** Resolves the choice against `nm`, logging when the outcome changes; the node ID to plan with. */
  resolve(nm: NetworkMap): number | null {
    const r = this.#resolved = resolveExitNode(this.#prefs.exitNode, nm);
    const line = r.kind === "selected"
      ? `exit node: using ${r.name} (${tailscaleIps(r.node).join(", ")})`
      : r.kind === "unavailable"
      ? `exit node ${this.#prefs.exitNode}: ${r.reason}; internet traffic is dropped until it can be used`
      : this.#reported === ""
      ? ""
      : "exit node: none";
    if (line !== this.#reported) {
      if (line !== "") this.#opts.log(line);
      this.#reported = line;
    }
    return r.kind === "selected" ? r.node.ID : null;
  }

  /**
   * Installs the routing the choice needs (or removes it). The first call
   * also clears what a killed node left. Kernel refusals are logged, not thrown:
   * the next commit tries again.
   */
  commit(): void {
    const tun = this.#opts.tun;
    if (tun === null) return;
    try {
      if (!this.#cleaned) {
        this.#cleaned = true;
        cleanStaleExitRouting(this.#opts.log);
      }
      const active = this.#prefs.exitNode !== "";
      if (!active && this.#routing === null) return;
      this.#routing ??= new ExitRouting(tun, this.#opts.log);
      const nics = this.#opts.interfaces ?? (() => Deno.networkInterfaces());
      const lan = active && this.#prefs.allowLanAccess ? lanPrefixes(nics(), tun) : [];
      this.#routing.set({ active, lan });
      this.#lastError = "";
    } catch (e) {
      const line = `exit node routing: ${e instanceof Error ? e.message : e}`;
      if (line !== this.#lastError) this.#opts.log(line);
      this.#lastError = line;
    }
  }

  /** Status for `tun status` and the LocalAPI. */
  status(): ExitNodeStatus {
    const r = this.#resolved;
    return {
      requested: this.#prefs.exitNode,
      allowLanAccess: this.#prefs.allowLanAccess,
      node: r.kind === "selected"
        ? {
          id: r.node.ID,
          stableId: r.node.StableID,
          name: r.name,
          ips: tailscaleIps(r.node),
          online: r.node.Online ?? null,
        }
        : null,
      problem: r.kind === "unavailable" ? r.reason : null,
      routing: this.#routing?.active ?? false,
      rules: (this.#routing?.rules ?? []).map((x) => ({ family: x.family, rule: describeRule(x) })),
      lanDirect: this.#routing?.lanDirect ?? [],
    };
  }

  /** Removes the routing. Idempotent. */
  close(): void {
    this.#routing?.close();
  }
}

/**
 * Refuses what tailscale refuses: using and offering an exit node at once
 * (its message), and LAN access without an exit node. (In userspace-networking
 * mode an exit node carries the proxies' non-tailnet destinations.)
 *
 * @throws {TypeError} with the message to show
 */
export function checkExitNodePrefs(prefs: ExitNodePrefs, advertisesExit: boolean): void {
  if (prefs.exitNode === "") {
    if (prefs.allowLanAccess) throw new TypeError(LAN_ACCESS_ALONE_ERROR);
    return;
  }
  if (advertisesExit) throw new TypeError(ADVERTISE_AND_USE_ERROR);
}

/** The {@link ExitNodeControl} of a node started with `opts` (its `tun up` flags). */
export function exitNodeControl(
  opts: {
    exitNode?: string;
    exitNodeAllowLanAccess?: boolean;
    userspace?: boolean;
    tun: string;
    log(line: string): void;
  },
  advertisesExit: () => boolean,
): ExitNodeControl {
  return new ExitNodeControl({
    prefs: { exitNode: opts.exitNode ?? "", allowLanAccess: !!opts.exitNodeAllowLanAccess },
    tun: opts.userspace ? null : opts.tun,
    advertisesExit,
    log: opts.log,
  });
}
