/**
 * A tailnet node's preferences: the part of tailscaled's `ipn.Prefs` warren
 * supports, under tailscaled's field names, and tailscaled's `ApplyEdits`
 * for a MaskedPrefs edit (only the fields whose `…Set` was true change).
 * They persist in the node's state directory (`state.json`, key `prefs`;
 * in memory with `mem:`), so a node stopped with `tailscale down` and a node
 * restarted with `tun up` resume with what `tun set` last chose.
 *
 * At `tun up`, the stored prefs are the base and every setting given on the
 * command line replaces its stored value; a config-file network (and any
 * caller that does not say which settings were given) states all of them.
 *
 * @module
 */
import type { KeyState } from "../key/state.ts";
import { formatPrefix, parsePrefix } from "../net/ip.ts";
import type { EditablePref, NodePrefs, PrefsEdit } from "../localapi/prefs.ts";
import type { TsNodeOptions } from "./ts_node_options.ts";

/** The prefs a warren node keeps, as tailscaled names them. */
export type NodePrefsState = Pick<NodePrefs, EditablePref | "LoggedOut">;

/** An edit of any of them (LoggedOut is the node's own: a client cannot send it). */
export type StateEdit = Partial<NodePrefsState>;

/** The prefs' key in the state file's `extra`. */
export const PREFS_KEY = "prefs";

/** The prefs a node gets with nothing stored and no flags: tailscaled's `NewPrefs` for Linux. */
export const DEFAULT_PREFS: Readonly<NodePrefsState> = Object.freeze({
  RouteAll: false,
  ExitNodeID: "",
  ExitNodeIP: "",
  ExitNodeAllowLANAccess: false,
  CorpDNS: false,
  WantRunning: true,
  LoggedOut: false,
  ShieldsUp: false,
  Hostname: "",
  AdvertiseRoutes: null,
});

/**
 * tailscaled's `Prefs.ApplyEdits`: a copy of `p` with each field of `edit`
 * replaced (lists copied, so the edit and the result share nothing).
 *
 * @example
 * ```ts
 * applyEdits(DEFAULT_PREFS, { RouteAll: true }).RouteAll; // true
 * ```
 */
export function applyEdits(p: Readonly<NodePrefsState>, edit: StateEdit): NodePrefsState {
  const out: NodePrefsState = { ...p };
  for (const [k, v] of Object.entries(edit) as [keyof StateEdit, unknown][]) {
    if (v === undefined) continue;
    (out as Record<string, unknown>)[k] = Array.isArray(v) ? [...v] : v;
  }
  return out;
}

/** The fields whose values differ between `a` and `b` (an empty list and null are the same). */
export function changedPrefs(
  a: Readonly<NodePrefsState>,
  b: Readonly<NodePrefsState>,
): (keyof NodePrefsState)[] {
  const norm = (v: unknown) => (Array.isArray(v) && v.length === 0 ? null : v);
  return (Object.keys(DEFAULT_PREFS) as (keyof NodePrefsState)[]).filter((k) =>
    JSON.stringify(norm(a[k])) !== JSON.stringify(norm(b[k]))
  );
}

/** The prefs `tun up`'s options state (hostname, accept-routes, accept-dns, advertised routes). */
export function prefsFromOptions(opts: TsNodeOptions): PrefsEdit {
  const routes = (opts.advertiseRoutes ?? []).map(formatPrefix);
  return {
    RouteAll: opts.acceptRoutes,
    CorpDNS: opts.acceptDns,
    Hostname: opts.hostname ?? "",
    AdvertiseRoutes: routes.length > 0 ? routes : null,
  };
}

/** `opts` with the settings the prefs decide taken from `p`. */
export function optionsWithPrefs(opts: TsNodeOptions, p: Readonly<NodePrefsState>): TsNodeOptions {
  const routes = (p.AdvertiseRoutes ?? []).map((r) => parsePrefix(r));
  return {
    ...opts,
    acceptRoutes: p.RouteAll,
    acceptDns: p.CorpDNS,
    hostname: p.Hostname === "" ? undefined : p.Hostname,
    advertiseRoutes: routes,
  };
}

/** A stored value's fields that have the right types; anything else is left to the default. */
function readStored(v: unknown): StateEdit {
  if (typeof v !== "object" || v === null) return {};
  const out: Record<string, unknown> = {};
  for (const [k, d] of Object.entries(DEFAULT_PREFS)) {
    const x = (v as Record<string, unknown>)[k];
    if (k === "AdvertiseRoutes") {
      if (Array.isArray(x) && x.every((r) => typeof r === "string")) out[k] = [...x];
    } else if (typeof x === typeof d) out[k] = x;
  }
  return out;
}

/** The node's prefs, kept in its state. */
export class PrefsStore {
  readonly #state: KeyState;
  #prefs: NodePrefsState;

  private constructor(state: KeyState, prefs: NodePrefsState) {
    this.#state = state;
    this.#prefs = prefs;
  }

  /**
   * The prefs for a starting node: the stored ones (defaults if none), with
   * `given` — what `tun up` was told — replacing theirs, and WantRunning on
   * (`tun up` asks the node to run). Saved at once.
   */
  static async open(state: KeyState, given: PrefsEdit): Promise<PrefsStore> {
    const stored = applyEdits(DEFAULT_PREFS, readStored(state.getExtra(PREFS_KEY)));
    const store = new PrefsStore(
      state,
      applyEdits(stored, { ...given, WantRunning: true, LoggedOut: false }),
    );
    await store.#save();
    return store;
  }

  /** The prefs now (a copy). */
  get current(): NodePrefsState {
    return applyEdits(this.#prefs, {});
  }

  /**
   * Applies an edit and saves it.
   *
   * @returns the fields whose values changed
   */
  async edit(edit: StateEdit): Promise<(keyof NodePrefsState)[]> {
    const next = applyEdits(this.#prefs, edit);
    const changed = changedPrefs(this.#prefs, next);
    this.#prefs = next;
    if (changed.length > 0) await this.#save();
    return changed;
  }

  async #save(): Promise<void> {
    await this.#state.setExtra(PREFS_KEY, this.#prefs);
  }
}

/** Whether `f` is one of the prefs a node keeps (a `…Set` name without its suffix). */
export function isNodePref(f: string): f is keyof NodePrefsState {
  return Object.hasOwn(DEFAULT_PREFS, f);
}

/** The edit as a MaskedPrefs JSON object: each field with its `…Set: true`, in Go's field order. */
export function maskedPrefsJson(edit: PrefsEdit): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(DEFAULT_PREFS)) {
    if (!(k in edit)) continue;
    out[k] = (edit as Record<string, unknown>)[k];
  }
  for (const k of Object.keys(DEFAULT_PREFS)) if (k in edit) out[`${k}Set`] = true;
  return out;
}
