/**
 * tailscaled's `ipn.Prefs` as the LocalAPI shows them (`GET prefs`), and
 * `ipn.MaskedPrefs` edits (`PATCH prefs`: a full Prefs plus `<Field>Set`
 * booleans naming the fields to change), limited to what warren supports.
 * Shapes follow tailscale 1.96's `ipn/prefs.go`; the golden copy is
 * `fixtures/tailscaled-1.96.5-localapi/prefs.json`.
 *
 * @module
 */
import type { UserProfile } from "../netmap/tailcfg.ts";

/** The prefs a warren node keeps, under tailscaled's names. */
export interface NodePrefs {
  /** Coordination server URL. */
  ControlURL: string;
  /** Accept subnet routes from peers (`--accept-routes`). */
  RouteAll: boolean;
  /** Stable ID of the exit node in use, "" for none. */
  ExitNodeID: string;
  /** Exit node by IP, "" once resolved to an ID (or none). */
  ExitNodeIP: string;
  /** Reach the local LAN while using an exit node. */
  ExitNodeAllowLANAccess: boolean;
  /** Use the tailnet's DNS settings (`--accept-dns`). */
  CorpDNS: boolean;
  /** Whether the node should be up. */
  WantRunning: boolean;
  /** Logged out by the user. */
  LoggedOut: boolean;
  /** Refuse every incoming connection (`--shields-up`); replies to this node's own still pass. */
  ShieldsUp: boolean;
  /** Hostname to register with, "" for the OS's. */
  Hostname: string;
  /** Routes (and exit routes) this node offers. */
  AdvertiseRoutes: string[] | null;
  /** ACL tags this node asks for. */
  AdvertiseTags: string[] | null;
  /** The logged-in user, null before login (Persist.UserProfile). */
  UserProfile: UserProfile | null;
  /** This node's stable ID, "" before login (Persist.NodeID). */
  NodeID: string;
}

/** The fields a `PATCH prefs` may change on a warren node (`tun set`'s settings). */
export const EDITABLE_PREFS = [
  "RouteAll",
  "ExitNodeID",
  "ExitNodeIP",
  "ExitNodeAllowLANAccess",
  "CorpDNS",
  "WantRunning",
  "ShieldsUp",
  "Hostname",
  "AdvertiseRoutes",
] as const;

/** One editable field's name. */
export type EditablePref = typeof EDITABLE_PREFS[number];

/** A validated edit: only the fields whose `…Set` was true. */
export type PrefsEdit = Partial<Pick<NodePrefs, EditablePref>>;

const ZERO_KEY = "privkey:" + "0".repeat(64);
const ZERO_NL_KEY = "nlpriv:" + "0".repeat(128);

/**
 * The full ipn.Prefs JSON for `p`, in Go's key order. Fields warren has no
 * notion of carry the value that means "off"; private keys are zero, as
 * tailscaled redacts them.
 */
export function renderPrefs(p: NodePrefs): Record<string, unknown> {
  return {
    ControlURL: p.ControlURL,
    RouteAll: p.RouteAll,
    ExitNodeID: p.ExitNodeID,
    ExitNodeIP: p.ExitNodeIP,
    InternalExitNodePrior: "",
    ExitNodeAllowLANAccess: p.ExitNodeAllowLANAccess,
    CorpDNS: p.CorpDNS,
    RunSSH: false,
    RunWebClient: false,
    WantRunning: p.WantRunning,
    LoggedOut: p.LoggedOut,
    ShieldsUp: p.ShieldsUp,
    AdvertiseTags: p.AdvertiseTags,
    Hostname: p.Hostname,
    NotepadURLs: false,
    AdvertiseRoutes: p.AdvertiseRoutes,
    AdvertiseServices: null,
    Sync: null,
    NoSNAT: false,
    NoStatefulFiltering: true,
    NetfilterMode: 0,
    AutoUpdate: { Check: false, Apply: null },
    AppConnector: { Advertise: false },
    PostureChecking: false,
    NetfilterKind: "",
    DriveShares: null,
    AllowSingleHosts: true,
    Config: p.UserProfile || p.NodeID
      ? {
        PrivateNodeKey: ZERO_KEY,
        OldPrivateNodeKey: ZERO_KEY,
        UserProfile: p.UserProfile ?? { ID: 0, LoginName: "", DisplayName: "" },
        NetworkLockKey: ZERO_NL_KEY,
        NodeID: p.NodeID,
      }
      : null,
  };
}

/**
 * Fields a full Prefs body (check-prefs, start) carries that warren does not
 * act on: what a client echoes back (Config, LoggedOut, …) and the Linux
 * firewall and sync settings `tailscale up` always fills with its defaults
 * (NetfilterMode 2, Sync false), which warren's own forwarding makes moot.
 * Refusing them would refuse every `tailscale up`.
 */
const PASSIVE = new Set([
  "Config",
  "AllowSingleHosts",
  "LoggedOut",
  "InternalExitNodePrior",
  "NetfilterMode",
  "NetfilterKind",
  "NoStatefulFiltering",
  "Sync",
]);

/** Go's opt.Bool and nil slices: absent, null, "", [] and false all mean "unset" for a check. */
function same(a: unknown, b: unknown): boolean {
  const norm = (v: unknown) =>
    v === undefined || v === "" || (Array.isArray(v) && v.length === 0) ? null : v;
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

/** Raised for a prefs request warren cannot carry out; its message is the client's error. */
export class PrefsError extends Error {
  /**
   * Carries the client-facing message.
   *
   * @param message what is wrong, for the client
   */
  constructor(message: string) {
    super(message);
    this.name = "PrefsError";
  }
}

/**
 * tailscaled's CheckPrefs for a full Prefs body, plus warren's own limit: a
 * field warren does not support may be sent only with the value warren shows.
 *
 * @returns the problems, joined by newlines as Go's errors.Join does; "" if none
 */
export function checkPrefs(body: Record<string, unknown>, current: NodePrefs): string {
  const shown = renderPrefs(current);
  const errs: string[] = [];
  for (const [k, v] of Object.entries(body)) {
    if (PASSIVE.has(k) || (EDITABLE_PREFS as readonly string[]).includes(k)) continue;
    if (k === "ControlURL" && (v === "" || v === shown.ControlURL)) continue;
    if (k === "AutoUpdate") {
      // update checks are harmless to ignore; applying updates is not something warren does
      const apply = (v as { Apply?: unknown } | null)?.Apply;
      if (apply === true) errs.push("warren does not support changing AutoUpdate");
      continue;
    }
    if (k in shown && !same(v, shown[k])) errs.push(`warren does not support changing ${k}`);
    else if (!(k in shown) && !same(v, null) && v !== false && v !== 0) {
      errs.push(`warren does not support ${k}`);
    }
  }
  const exit = Boolean(body.ExitNodeID) || Boolean(body.ExitNodeIP);
  const routes = Array.isArray(body.AdvertiseRoutes) ? body.AdvertiseRoutes : [];
  if (exit && routes.includes("0.0.0.0/0") && routes.includes("::/0")) {
    errs.push("Cannot advertise an exit node and use an exit node at the same time.");
  }
  return errs.join("\n");
}

const isStringList = (v: unknown): v is string[] | null =>
  v === null || (Array.isArray(v) && v.every((x) => typeof x === "string"));

/**
 * Turns a MaskedPrefs body into an edit of the supported fields.
 *
 * @throws {PrefsError} for a `…Set` on a field warren cannot change, or a value of the wrong type
 */
export function parseMaskedPrefs(body: unknown): PrefsEdit {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new PrefsError("MaskedPrefs must be a JSON object");
  }
  const mp = body as Record<string, unknown>;
  const edit: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(mp)) {
    if (!k.endsWith("Set")) continue;
    const field = k.slice(0, -3);
    if (v === false || v === undefined || v === null) continue;
    if (typeof v === "object") {
      // AutoUpdateSet is a struct of booleans
      if (Object.values(v).every((x) => !x)) continue;
      throw new PrefsError(`warren does not support changing ${field}`);
    }
    if (field === "InternalExitNodePrior") throw new PrefsError("can't set Internal fields");
    if (!(EDITABLE_PREFS as readonly string[]).includes(field)) {
      throw new PrefsError(`warren does not support changing ${field}`);
    }
    const value = mp[field];
    const ok = field === "AdvertiseRoutes"
      ? isStringList(value)
      : ["ExitNodeID", "ExitNodeIP", "Hostname"].includes(field)
      ? typeof value === "string"
      : typeof value === "boolean";
    if (!ok) throw new PrefsError(`invalid value for ${field}: ${JSON.stringify(value)}`);
    edit[field] = field === "AdvertiseRoutes" && value !== null ? [...value as string[]] : value;
  }
  return edit as PrefsEdit;
}
