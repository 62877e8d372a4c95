/**
 * tailscaled's LocalAPI (`/localapi/v0/…`) over a warren node, so the stock
 * `tailscale` CLI and LocalAPI client libraries work against warren. A fetch
 * handler: mount it on the node's unix socket with `Deno.serve({ path }, h)`.
 * Request checks, status codes and error bodies follow tailscale 1.96's
 * `ipn/localapi` (golden data: `fixtures/tailscaled-1.96.5-localapi/`).
 *
 * @module
 */
import { parseIp } from "../net/ip.ts";
import { type BackendState, buildIpnStatus, type IpnStatusView } from "./ipnstate.ts";
import { tailscaleIps } from "./names.ts";
import { parseWhoisAddr, peerForIp, whois } from "./lookup.ts";
import {
  checkPrefs,
  EDITABLE_PREFS,
  type NodePrefs,
  parseMaskedPrefs,
  type PrefsEdit,
  PrefsError,
  renderPrefs,
} from "./prefs.ts";
import { defBool, errorJson, goJson, httpError, jsonResponse, readJson } from "./http.ts";

/** A pong: how it came and how long it took (magicsock's PingResult). */
export interface Pong {
  /** `ip:port` for a direct path, `derp-<region>` over DERP. */
  via: string;
  /** Round trip, ms. */
  latencyMs: number;
}

/** What `start` asks for (ipn.Options, as warren reads it). */
export interface StartRequest {
  /** Pre-auth key, "" for none. */
  authKey: string;
  /** The supported prefs from Options.UpdatePrefs, null if it sent none. */
  prefs: PrefsEdit | null;
}

/** What the LocalAPI needs from a node: data it reads per request and the actions it asks for. */
export interface LocalApiNode {
  /** The facts `status` is built from, read per request. */
  statusView(): IpnStatusView;
  /** The node's current prefs. */
  prefs(): NodePrefs;
  /** Applies a prefs edit (only the named fields); throw to refuse, the message goes to the client. */
  editPrefs(edit: PrefsEdit): Promise<void>;
  /** Disco-pings the peer with this `nodekey:…`; null when no pong came in time. */
  discoPing(nodeKey: string, size: number): Promise<Pong | null>;
  /** TSMP-pings `ip` through the peer; absent: TSMP is unsupported. */
  tsmpPing?(ip: string, nodeKey: string): Promise<Pong | null>;
  /** ICMP-echoes `ip` through the tunnel; absent: unsupported. */
  icmpPing?(ip: string, nodeKey: string): Promise<Pong | null>;
  /** Logs out (control expires the key); throw to report a failure. */
  logout(): Promise<void>;
  /** Starts the backend with these options (`tailscale up` when not running). */
  start(req: StartRequest): Promise<void>;
  /** Starts an interactive login; absent: not supported. */
  loginInteractive?(): Promise<void>;
  /** Calls `cb` on every backend-state change until the returned function is called. */
  watchState?(cb: (state: BackendState) => void): () => void;
}

/** Options of {@link localApiHandler}. */
export interface LocalApiOptions {
  /**
   * Require `Sec-Tailscale: localapi`, as tsnet's loopback LocalAPI does.
   * tailscaled's unix socket does not (its fixture shows a GET without it answered).
   */
  requireSecHeader?: boolean;
  /** Capability version in `Tailscale-Cap` (warren claims 133). */
  capVersion?: number;
  /** How long a ping with no pong is held open before a 500 (tailscaled holds it forever). */
  pingHoldMs?: number;
}

/** Go's LocalAPIHost: the Host the official clients send. */
export const LOCAL_API_HOST = "local-tailscaled.sock";
/** magicsock.MaxDiscoPingSize (tstun.MaxPacketSize less IPv4 and UDP headers). */
export const MAX_DISCO_PING_SIZE = 65503 - 20 - 8;

const STATE_NUMBER: Record<BackendState, number> = {
  NoState: 0,
  NeedsLogin: 2,
  NeedsMachineAuth: 3,
  Stopped: 4,
  Starting: 5,
  Running: 6,
};

/** tailscaled 1.96 endpoints warren does not implement (a trailing `/` is a prefix). */
const NOT_IMPLEMENTED = new Set(
  ("profiles/ check-so-mark-in-use derpmap goroutines reload-config reset-auth set-expiry-sooner " +
    "shutdown alpha-set-device-attrs appc-route-info bugreport cert/ check-ip-forwarding " +
    "check-udp-gro-forwarding component-debug-logging debug debug-bus-events debug-bus-graph " +
    "debug-bus-queues debug-capture debug-derp-region debug-dial-types debug-log " +
    "debug-optional-features debug-packet-filter-matches debug-packet-filter-rules " +
    "debug-peer-endpoint-changes debug-peer-relay-sessions debug-portmap debug-rotate-disco-key " +
    "dev-set-state-store dial disconnect-control dns-osconfig dns-query drive/fileserver-address " +
    "drive/shares file-put/ file-targets files/ handle-push-message id-token logtap metrics " +
    "policy/ pprof query-feature set-dns set-gui-visible set-push-device-token " +
    "set-udp-gro-forwarding set-use-exit-node-enabled suggest-exit-node tka/ update/ " +
    "upload-client-metrics usermetrics watch-ipn-bus").split(" "),
);

const CSP = "default-src 'none'; frame-ancestors 'none'; script-src 'none'; " +
  "script-src-elem 'none'; script-src-attr 'none'";

type Route = (req: Request, url: URL) => Promise<Response> | Response;

/**
 * The LocalAPI as a fetch handler over `node`.
 *
 * @example
 * ```ts ignore
 * Deno.serve({ path: "/var/run/tailscale/tailscaled.sock" }, localApiHandler(node));
 * ```
 */
export function localApiHandler(
  node: LocalApiNode,
  opts: LocalApiOptions = {},
): (req: Request) => Promise<Response> {
  const cap = String(opts.capVersion ?? 133);
  const holdMs = opts.pingHoldMs ?? 60_000;
  const routes: Record<string, Route> = {
    "status": (_req, url) =>
      jsonResponse(
        buildIpnStatus(node.statusView(), { peers: defBool(url.searchParams.get("peers"), true) }),
        { indent: true },
      ),
    "whois": (_req, url) => serveWhois(node, url),
    "ping": (req, url) => servePing(node, req, url, holdMs),
    "prefs": (req) => servePrefs(node, req),
    "check-prefs": (req) => serveCheckPrefs(node, req),
    "logout": async (req) => {
      if (req.method !== "POST") return httpError(400, "want POST");
      try {
        await node.logout();
      } catch (e) {
        return httpError(500, message(e));
      }
      return new Response(null, { status: 204 });
    },
    "start": (req) => serveStart(node, req),
    "login-interactive": async (req) => {
      if (req.method !== "POST") return httpError(400, "want POST");
      if (!node.loginInteractive) return notImplemented("login-interactive");
      try {
        await node.loginInteractive();
      } catch (e) {
        return httpError(500, message(e));
      }
      return new Response(null, { status: 204 });
    },
    "serve-config": async (req) => {
      if (req.method !== "GET") return notImplemented("serve-config");
      // No serve config: Go marshals the empty view as null, its ETag is sha256("null").
      const body = new TextEncoder().encode("null");
      const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
      const etag = [...sum].map((b) => b.toString(16).padStart(2, "0")).join("");
      return new Response(body, { headers: { "Content-Type": "application/json", Etag: etag } });
    },
  };
  if (node.watchState) routes["watch-ipn-bus"] = (req, url) => serveWatch(node, req, url);

  return async (req) => {
    if (opts.requireSecHeader && req.headers.get("Sec-Tailscale") !== "localapi") {
      return new Response("missing 'Sec-Tailscale: localapi' header", {
        status: 403,
        headers: { "Content-Type": "text/plain; charset=utf-8" },
      });
    }
    const host = req.headers.get("Host") ?? "";
    if (req.headers.has("Referer") || req.headers.has("Origin") || !validHost(host)) {
      return httpError(403, "invalid localapi request");
    }
    const res = await route(req);
    const h = res.headers;
    h.set("Tailscale-Version", node.statusView().version);
    h.set("Tailscale-Cap", cap);
    h.set("Content-Security-Policy", CSP);
    h.set("X-Frame-Options", "DENY");
    h.set("X-Content-Type-Options", "nosniff");
    return res;
  };

  async function route(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/") return new Response("tailscaled\n");
    if (!url.pathname.startsWith("/localapi/v0/")) return notFound();
    const name = url.pathname.slice("/localapi/v0/".length);
    const fn = Object.hasOwn(routes, name) ? routes[name] : undefined; // not "constructor"
    if (fn) {
      try {
        return await fn(req, url);
      } catch (e) {
        return errorJson(message(e));
      }
    }
    const slash = name.indexOf("/");
    if (
      NOT_IMPLEMENTED.has(name) || (slash >= 0 && NOT_IMPLEMENTED.has(name.slice(0, slash + 1)))
    ) {
      return notImplemented(name);
    }
    return notFound();
  }
}

/** Go's validHost for a unix-socket LocalAPI: no Host, or the one the clients send. */
function validHost(host: string): boolean {
  return host === "" || host === LOCAL_API_HOST;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function notFound(): Response {
  return httpError(404, "404 page not found");
}

function notImplemented(name: string): Response {
  return httpError(501, `warren does not implement the LocalAPI endpoint ${name}`);
}

function serveWhois(node: LocalApiNode, url: URL): Response {
  const v = url.searchParams.get("addr") ?? "";
  if (v === "") return httpError(400, "missing 'addr' parameter");
  const addr = parseWhoisAddr(v);
  if (!addr) {
    return httpError(
      400,
      v.startsWith("nodekey:") ? "invalid nodekey in 'addr' parameter" : "invalid 'addr' parameter",
    );
  }
  const nm = node.statusView().netmap;
  const res = nm ? whois(nm, addr) : null;
  if (!res) return httpError(404, "no match for IP:port");
  // MarshalIndent: tabs and no trailing newline
  return new Response(goJson(res, true), { headers: { "Content-Type": "application/json" } });
}

async function servePing(
  node: LocalApiNode,
  req: Request,
  url: URL,
  holdMs: number,
): Promise<Response> {
  if (req.method !== "POST") return httpError(400, "want POST");
  const ip = url.searchParams.get("ip") ?? "";
  if (ip === "") return httpError(400, "missing 'ip' parameter");
  try {
    parseIp(ip);
  } catch {
    return httpError(400, "invalid IP");
  }
  const type = url.searchParams.get("type") ?? "";
  if (type === "") return httpError(400, "missing 'type' parameter");
  let size = 0;
  const sizeText = url.searchParams.get("size");
  if (sizeText !== null && sizeText !== "") {
    size = /^[+-]?\d+$/.test(sizeText) ? Number(sizeText) : NaN;
    if (!Number.isSafeInteger(size)) return httpError(400, "invalid 'size' parameter");
    if (size !== 0 && type !== "disco") {
      return httpError(400, "'size' parameter is only supported with disco pings");
    }
    if (size > MAX_DISCO_PING_SIZE) {
      return httpError(400, `maximum value for 'size' is ${MAX_DISCO_PING_SIZE}`);
    }
  }
  if (!["disco", "TSMP", "ICMP", "peerapi"].includes(type)) {
    // tailscaled never answers an unknown type; a client waits out its timeout
    return httpError(400, `unknown ping type "${type}" (want disco, TSMP or ICMP)`);
  }
  const view = node.statusView();
  const res = pingResult(ip);
  const target = view.netmap ? peerForIp(view.netmap, ip, view) : null;
  if (!target) return jsonResponse({ ...res, Err: "no matching peer" });
  if (target.self) {
    return jsonResponse({ ...res, Err: `${ip} is local Tailscale IP`, IsLocalIP: true });
  }
  const peer = target.node;
  if (type === "peerapi") {
    return jsonResponse({ ...res, NodeIP: ip, Err: "warren does not support peerapi pings" });
  }
  res.NodeIP = tailscaleIps(peer)[0] ?? "";
  res.NodeName = peer.Name ? peer.Name.split(".")[0] : (peer.Hostinfo?.Hostname ?? "");
  const ping = type === "disco"
    ? (view.backendState === "Running" || view.backendState === "Starting"
      ? () => node.discoPing(peer.Key, size)
      : null)
    : type === "TSMP"
    ? node.tsmpPing && (() => node.tsmpPing!(ip, peer.Key))
    : node.icmpPing && (() => node.icmpPing!(ip, peer.Key));
  if (type === "disco" && !ping) return jsonResponse({ ...res, Err: "local tailscaled stopped" });
  if (!ping) {
    return jsonResponse({
      ...res,
      Err: `warren does not support ${type} pings; use a disco ping (the default)`,
    });
  }
  const pong = await ping();
  if (!pong) {
    await held(req.signal, holdMs);
    return errorJson(`${type} ping to ${ip} timed out`);
  }
  // Go: Duration.Seconds(), nanoseconds over 1e9
  res.LatencySeconds = Math.round(pong.latencyMs * 1e6) / 1e9;
  // only a disco pong says which path answered (TSMP and ICMP come through WireGuard)
  const derp = pong.via.match(/^derp-(\d+)$/);
  if (type === "disco" && derp) {
    res.DERPRegionID = Number(derp[1]);
    res.DERPRegionCode = view.netmap?.derpMap?.Regions?.[derp[1]]?.RegionCode ?? "";
  } else if (type === "disco") {
    res.Endpoint = pong.via;
  }
  if (type === "TSMP") {
    // a TSMP pong carries the peer's PeerAPI port for the pinged family
    const proto = ip.includes(":") ? "peerapi6" : "peerapi4";
    const port = peer.Hostinfo?.Services?.find((s) => s.Proto === proto)?.Port ?? 0;
    if (port) return jsonResponse({ ...res, PeerAPIPort: port });
  }
  return jsonResponse(res);
}

/** ipnstate.PingResult with Go's zero values, in its key order. */
function pingResult(ip: string) {
  return {
    IP: ip,
    NodeIP: "",
    NodeName: "",
    Err: "",
    LatencySeconds: 0,
    Endpoint: "",
    PeerRelay: "",
    DERPRegionID: 0,
    DERPRegionCode: "",
  };
}

/** Resolves when the client goes away or after `ms`, whichever is first. */
function held(signal: AbortSignal, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

async function servePrefs(node: LocalApiNode, req: Request): Promise<Response> {
  if (req.method === "GET" || req.method === "HEAD") {
    return jsonResponse(renderPrefs(node.prefs()), { indent: true });
  }
  if (req.method !== "PATCH") return httpError(405, "unsupported method");
  const body = await readJson(req);
  if (!body.ok) return httpError(400, body.error);
  const fail = (msg: string) => jsonResponse({ Error: msg }, { status: 400 });
  let edit: PrefsEdit;
  try {
    edit = resolveExitNodeIp(node, parseMaskedPrefs(body.value));
  } catch (e) {
    if (e instanceof PrefsError) return fail(e.message);
    throw e;
  }
  const current = node.prefs();
  const problem = checkPrefs(renderPrefs({ ...current, ...edit }), current);
  if (problem) return fail(problem);
  if (Object.keys(edit).length) {
    try {
      await node.editPrefs(edit);
    } catch (e) {
      return fail(message(e));
    }
  }
  return jsonResponse(renderPrefs(node.prefs()), { indent: true });
}

/** tailscaled turns an exit node given by IP into its stable ID once the netmap has it. */
function resolveExitNodeIp(node: LocalApiNode, edit: PrefsEdit): PrefsEdit {
  if (!edit.ExitNodeIP) return edit;
  const view = node.statusView();
  const target = view.netmap ? peerForIp(view.netmap, edit.ExitNodeIP, view) : null;
  if (target?.self) throw new PrefsError("cannot use this node as its own exit node");
  const exact = target && tailscaleIps(target.node).includes(edit.ExitNodeIP) ? target.node : null;
  if (!exact) throw new PrefsError(`no peer with Tailscale IP ${edit.ExitNodeIP} in the netmap`);
  return { ...edit, ExitNodeID: exact.StableID, ExitNodeIP: "" };
}

async function serveCheckPrefs(node: LocalApiNode, req: Request): Promise<Response> {
  if (req.method !== "POST") return httpError(405, "unsupported method");
  const body = await readJson(req);
  if (!body.ok || typeof body.value !== "object" || body.value === null) {
    return httpError(400, "invalid JSON body");
  }
  const problem = checkPrefs(body.value as Record<string, unknown>, node.prefs());
  return jsonResponse(problem ? { Error: problem } : {});
}

async function serveStart(node: LocalApiNode, req: Request): Promise<Response> {
  if (req.method !== "POST") return httpError(400, "want POST");
  const body = await readJson(req);
  if (!body.ok) return httpError(400, body.error);
  const o = (body.value ?? {}) as Record<string, unknown>;
  const up = o.UpdatePrefs as Record<string, unknown> | null | undefined;
  let prefs: PrefsEdit | null = null;
  if (up && typeof up === "object") {
    const problem = checkPrefs(up, node.prefs());
    if (problem) return httpError(500, problem);
    const masked: Record<string, unknown> = { ...up };
    for (const f of EDITABLE_PREFS) if (f in up) masked[`${f}Set`] = true;
    try {
      prefs = resolveExitNodeIp(node, parseMaskedPrefs(masked));
    } catch (e) {
      return httpError(500, message(e));
    }
  }
  try {
    await node.start({ authKey: typeof o.AuthKey === "string" ? o.AuthKey : "", prefs });
  } catch (e) {
    return httpError(500, message(e));
  }
  return new Response(null, { status: 204 });
}

/** watch-ipn-bus, state only: one ipn.Notify line per backend-state change. */
function serveWatch(node: LocalApiNode, req: Request, url: URL): Response {
  const mask = Number(url.searchParams.get("mask") ?? "0");
  if (!Number.isSafeInteger(mask) || mask < 0) return httpError(400, "bad mask");
  const enc = new TextEncoder();
  const version = node.statusView().version;
  const line = (s: BackendState) =>
    enc.encode(goJson({ Version: version, State: STATE_NUMBER[s] }) + "\n");
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(ctl) {
      const NOTIFY_INITIAL_STATE = 2;
      if (mask & NOTIFY_INITIAL_STATE) ctl.enqueue(line(node.statusView().backendState));
      stop = node.watchState!((s) => {
        try {
          ctl.enqueue(line(s));
        } catch {
          stop(); // the stream is closed
        }
      });
      req.signal.addEventListener("abort", () => {
        stop();
        try {
          ctl.close();
        } catch {
          // already closed
        }
      }, { once: true });
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, { headers: { "Content-Type": "application/json" } });
}
