/**
 * Live preference changes on a running tailnet node (`warren tun set`,
 * `PATCH /localapi/v0/prefs`, `tailscale down`/`up`/`logout`): an edit is
 * checked whole, saved, and then only what changed is applied to the
 * running node — a new Hostinfo to control for a hostname or advertised
 * routes, a re-plan for accept-routes, the subnet router replaced for
 * advertised routes, resolv.conf for accept-dns — without restarting it, so
 * WireGuard sessions and TCP flows carry on. `WantRunning: false` stops the
 * data plane and the control poll but keeps the process and its LocalAPI,
 * as tailscaled does; `true` brings them back.
 *
 * Edits run one at a time, in the order they came.
 *
 * @module
 */
import {
  AdvertiseRoutesError,
  isExitRoute,
  parseAdvertiseRoutes,
} from "../net/advertise_routes.ts";
import { formatPrefix, type IpPrefix } from "../net/ip.ts";
import type { Hostinfo } from "../netmap/tailcfg.ts";
import type { StartRequest } from "../localapi/handler.ts";
import { type PrefsEdit, PrefsError } from "../localapi/prefs.ts";
import { applyEdits, type NodePrefsState, type PrefsStore } from "./prefs.ts";
import { ADVERTISE_AND_USE_ERROR } from "./exit_node.ts";

/** The exit node a node should use: `id` "" for none (the hook's argument). */
export interface ExitNodeChoice {
  /** The exit node's StableID, "" for none. */
  id: string;
  /** Whether the local LANs stay reachable directly while it is in use. */
  allowLanAccess: boolean;
}

/** What live changes do to the running node. */
export interface LivePrefsPorts {
  /** Sends control a Hostinfo with these fields replaced (an undefined value removes one). */
  updateHostinfo(patch: Partial<Hostinfo>): Promise<void>;
  /** Re-plans the current netmap with accept-routes on or off, and commits it. */
  setAcceptRoutes(on: boolean): void;
  /** Replaces the subnet router by one for `routes` (none: no router), and re-plans. */
  setAdvertisedRoutes(routes: IpPrefix[]): void;
  /** Refuses every incoming connection (true) or lets the netmap's packet filter decide again. */
  setShieldsUp(on: boolean): void;
  /** Points resolv.conf at MagicDNS (true) or puts the original back (false). */
  setCorpDns(on: boolean): Promise<void>;
  /** Stops (false) or restarts (true) the data plane and the control poll; the process stays. */
  setRunning(on: boolean): Promise<void>;
  /** Deregisters this node's key at control (a register with an expiry in the past). */
  logout(): Promise<void>;
  /**
   * Uses (or with `id` "" stops using) an exit node: the exit-node routing's hook.
   * Absent: an exit-node setting is refused.
   */
  setExitNode?(choice: ExitNodeChoice): Promise<void>;
  /**
   * Whether an exit node is in use now. The stored prefs may not say: `tun up --exit-node
   * NAME` is not stored as an ID. Absent: the stored prefs decide.
   */
  exitNodeActive?(): boolean;
  /** One line per change. */
  log(line: string): void;
}

/** Refusal for an exit-node setting on a node without exit-node support. */
export const NO_EXIT_NODE_SUPPORT = "warren cannot use an exit node yet (--exit-node)";

/**
 * tailscale's dnsname.ValidHostname: each dot-separated label 1–63 bytes,
 * letters, digits and `-`, starting and ending with a letter or digit.
 *
 * @returns the problem in tailscale's words, or null when `name` is fine ("" is)
 */
export function hostnameProblem(name: string): string | null {
  if (name === "") return null;
  if (name.replace(/\.$/, "").length > 253) return `${JSON.stringify(name)} is too long`;
  for (const label of name.replace(/\.$/, "").split(".")) {
    const q = JSON.stringify(label);
    if (label === "") return "empty DNS label";
    if (new TextEncoder().encode(label).length > 63) {
      return `${q} is too long, max length is 63 bytes`;
    }
    const alnum = (c: string) => /^[A-Za-z0-9]$/.test(c);
    if (!alnum(label[0])) {
      return `${q} is not a valid DNS label: must start with a letter or number`;
    }
    if (!alnum(label.at(-1)!)) {
      return `${q} is not a valid DNS label: must end with a letter or number`;
    }
    const bad = [...label].find((c) => !/^[A-Za-z0-9-]$/.test(c));
    if (bad !== undefined) {
      return `${q} is not a valid DNS label: contains invalid character ${JSON.stringify(bad)}`;
    }
  }
  return null;
}

/** Canonical advertised routes (tailscale's wording for a bad one), null for none. */
function checkRoutes(list: readonly string[] | null): string[] | null {
  if (list === null || list.length === 0) return null;
  try {
    return parseAdvertiseRoutes(list.join(","), false).map(formatPrefix);
  } catch (e) {
    if (e instanceof AdvertiseRoutesError) throw new PrefsError(e.message);
    throw e;
  }
}

/** A node's prefs, changed live. */
export class LivePrefs {
  readonly #store: PrefsStore;
  readonly #ports: LivePrefsPorts;
  #queue: Promise<unknown> = Promise.resolve();

  /** Live changes for the node whose prefs `store` keeps, carried out through `ports`. */
  constructor(store: PrefsStore, ports: LivePrefsPorts) {
    this.#store = store;
    this.#ports = ports;
  }

  /** The prefs now. */
  get prefs(): NodePrefsState {
    return this.#store.current;
  }

  /** Whether the data plane should run: wanted and not logged out. */
  get running(): boolean {
    const p = this.#store.current;
    return p.WantRunning && !p.LoggedOut;
  }

  /**
   * Checks, saves and applies an edit.
   *
   * @throws {PrefsError} when the edit is refused (nothing changed then)
   */
  edit(edit: PrefsEdit): Promise<void> {
    return this.#serial(() => this.#edit(edit));
  }

  /** `tailscale logout`: stops the data plane and deregisters the node key; state NeedsLogin. */
  logout(): Promise<void> {
    return this.#serial(async () => {
      if (this.#store.current.LoggedOut) return;
      await this.#ports.setRunning(false);
      await this.#ports.logout();
      await this.#store.edit({ WantRunning: false, LoggedOut: true });
      this.#ports.log("logged out: the node key is expired at control");
    });
  }

  /** `tailscale up` (LocalAPI start): the stored prefs with `req.prefs` on top, running. */
  start(req: StartRequest): Promise<void> {
    if (this.#store.current.LoggedOut) {
      return Promise.reject(
        new PrefsError("this node logged out; log in again by restarting `warren tun up`"),
      );
    }
    return this.edit({ ...req.prefs, WantRunning: true });
  }

  #serial(f: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(f);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #edit(raw: PrefsEdit): Promise<void> {
    const edit: PrefsEdit = { ...raw };
    if (edit.Hostname !== undefined) {
      const problem = hostnameProblem(edit.Hostname);
      if (problem) throw new PrefsError(problem);
    }
    if (edit.AdvertiseRoutes !== undefined) {
      edit.AdvertiseRoutes = checkRoutes(edit.AdvertiseRoutes);
    }
    const before = this.#store.current;
    // Any exit-node setting given is applied, equal to the stored one or not: `tun up
    // --exit-node NAME` chose a node the stored prefs (IDs and IPs) do not name.
    const exitGiven = edit.ExitNodeID !== undefined || edit.ExitNodeIP !== undefined ||
      edit.ExitNodeAllowLANAccess !== undefined;
    const exitDiffers = (edit.ExitNodeID ?? before.ExitNodeID) !== before.ExitNodeID ||
      (edit.ExitNodeIP ?? before.ExitNodeIP) !== before.ExitNodeIP ||
      (edit.ExitNodeAllowLANAccess ?? before.ExitNodeAllowLANAccess) !==
        before.ExitNodeAllowLANAccess;
    if (exitDiffers && !this.#ports.setExitNode) throw new PrefsError(NO_EXIT_NODE_SUPPORT);
    const exitChange = exitGiven && this.#ports.setExitNode !== undefined;
    if (before.LoggedOut && edit.WantRunning) {
      throw new PrefsError("this node logged out; log in again by restarting `warren tun up`");
    }
    const after = applyEdits(before, edit);
    // Using one after this edit: as the edit says if it names one, else as the node is now.
    const usesExit = edit.ExitNodeID !== undefined || edit.ExitNodeIP !== undefined ||
        this.#ports.exitNodeActive === undefined
      ? after.ExitNodeID !== "" || after.ExitNodeIP !== ""
      : this.#ports.exitNodeActive();
    if (usesExit && advertisesExitNode(after.AdvertiseRoutes)) {
      throw new PrefsError(ADVERTISE_AND_USE_ERROR);
    }
    const changed = await this.#store.edit(edit);
    if (changed.length === 0 && !exitChange) return;
    const p = this.#store.current;
    const ports = this.#ports;
    this.#ports.log(`prefs: ${changed.map((k) => `${k}=${JSON.stringify(p[k])}`).join(" ")}`);
    const has = (k: keyof NodePrefsState) => changed.includes(k);
    // Stopping goes first and starting last, so nothing below touches a data plane being torn down.
    if (has("WantRunning") && !p.WantRunning) await ports.setRunning(false);
    // As one list: an exit route alone (0.0.0.0/0 without ::/0) is refused by the parser.
    const routes = parseAdvertiseRoutes((p.AdvertiseRoutes ?? []).join(","), false);
    if (has("Hostname") || has("AdvertiseRoutes") || has("ShieldsUp")) {
      // Hostinfo's omitempty fields: absent rather than empty or false
      await ports.updateHostinfo({
        Hostname: p.Hostname || hostnameOfOs(),
        RoutableIPs: routes.length > 0 ? routes.map(formatPrefix) : undefined,
        ShieldsUp: p.ShieldsUp || undefined,
      });
    }
    if (has("ShieldsUp")) ports.setShieldsUp(p.ShieldsUp);
    if (has("AdvertiseRoutes")) ports.setAdvertisedRoutes(routes);
    if (has("RouteAll")) ports.setAcceptRoutes(p.RouteAll);
    if (has("CorpDNS")) await ports.setCorpDns(p.CorpDNS);
    if (exitChange) {
      await ports.setExitNode!({ id: p.ExitNodeID, allowLanAccess: p.ExitNodeAllowLANAccess });
    }
    if (has("WantRunning") && p.WantRunning) await ports.setRunning(true);
  }
}

/** Whether routes include the exit routes (an exit node is offered). */
export function advertisesExitNode(routes: readonly string[] | null): boolean {
  return (routes ?? []).some((r) => isExitRoute(r));
}

function hostnameOfOs(): string {
  try {
    return Deno.hostname();
  } catch {
    return "warren";
  }
}
