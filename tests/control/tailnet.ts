/**
 * The state of the test tailnet and the control-plane rules Headscale applies
 * to it: registration (pre-auth keys, restarts, key rotation, interactive
 * approval, logout), map-request updates, online tracking, deletion and
 * policy. Every mutation reports a {@link Change} to subscribers, which the
 * map streams turn into deltas.
 *
 * @module
 */

import { formatKey, isZeroKey, type KeyKind, parseKey, toHex } from "../../src/key/node_key.ts";
import type { TailnetConfig } from "./config.ts";
import { MIN_CAPABILITY_VERSION } from "./constants.ts";
import { IpAllocator } from "./ip_alloc.ts";
import { ALLOW_ALL_FILTER, goTime, homeDerpOf, isExpired, type TailnetView } from "./mapper.ts";
import { sanitizeHostname, uniqueGivenName } from "./names.ts";
import type {
  Change,
  Json,
  NodeRecord,
  PreAuthKey,
  PreAuthKeySpec,
  TailnetSnapshot,
  User,
} from "./types.ts";
import type { FilterRule, PeerChange } from "../../src/netmap/tailcfg.ts";

/** An HTTP answer from a control handler: JSON body for 200, text otherwise. */
export interface ControlReply {
  /** HTTP status. */
  status: number;
  /** JSON body (status 200) or error text. */
  body: Json | string;
}

/** A pending interactive registration. */
interface PendingAuth {
  id: string;
  machineKey: string;
  nodeKey: string;
  hostinfo: Json;
  node?: NodeRecord;
  waiters: Set<() => void>;
}

/** Log line sink. */
export type Logf = (line: string) => void;

/**
 * The tailnet: nodes, keys, pending logins and policy.
 *
 * @example
 * ```ts
 * import { resolveConfig } from "./config.ts";
 * const t = new Tailnet(resolveConfig({}, "http://127.0.0.1:8080"));
 * t.addPreAuthKey({ key: "k" });
 * console.assert(t.listNodes().length === 0);
 * ```
 */
export class Tailnet implements TailnetView {
  /** Current configuration (filter and DNS may change at run time). */
  readonly config: TailnetConfig;
  /** The only user. */
  readonly user: User;
  readonly #nodes = new Map<number, NodeRecord>();
  readonly #keys = new Map<string, PreAuthKey>();
  readonly #pending = new Map<string, PendingAuth>();
  readonly #ips = new IpAllocator();
  readonly #subscribers = new Set<(c: Change) => void>();
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #logf: Logf;
  #nextNodeId = 1;
  #nextKeyId = 1;
  #persist: (() => void) | undefined;

  /** Creates an empty tailnet. */
  constructor(config: TailnetConfig, logf: Logf = () => {}) {
    this.config = config;
    this.user = { id: 1, name: config.userName, created: new Date() };
    this.#logf = logf;
  }

  // ---- TailnetView ----

  /** A node by ID. */
  node(id: number): NodeRecord | undefined {
    return this.#nodes.get(id);
  }

  /** Every node but id, by ascending ID. */
  peersOf(id: number): NodeRecord[] {
    return [...this.#nodes.values()].filter((n) => n.id !== id).sort((a, b) => a.id - b.id);
  }

  /** Filter rules in force. */
  filterRules(): FilterRule[] {
    return structuredClone(this.config.filter ?? ALLOW_ALL_FILTER);
  }

  // ---- persistence ----

  /**
   * Sets the function called after every change a restarted server must
   * remember (registration, key rotation, logout, deletion, pre-auth keys,
   * stored fields of a map request, online transitions); undefined = none.
   */
  setPersistHook(fn: (() => void) | undefined): void {
    this.#persist = fn;
  }

  #save(): void {
    this.#persist?.();
  }

  /** The durable state, deep-copied. */
  snapshot(): TailnetSnapshot {
    return structuredClone({
      user: this.user,
      nodes: this.listNodes().map(({ sessions: _, ...n }) => n),
      preAuthKeys: this.listPreAuthKeys(),
      nextNodeId: this.#nextNodeId,
      nextKeyId: this.#nextKeyId,
      addresses: this.#ips.snapshot(),
    });
  }

  /**
   * Loads a {@link snapshot} into an empty tailnet. Nothing is streaming yet,
   * so nodes that were online are offline until they reconnect; offline
   * ephemeral nodes get their deletion timer again.
   */
  restore(snap: TailnetSnapshot): void {
    if (this.#nodes.size > 0 || this.#keys.size > 0) {
      throw new Error("Cannot restore a tailnet snapshot: the tailnet is not empty");
    }
    const s = structuredClone(snap);
    const now = new Date();
    this.user.created = s.user.created;
    this.#ips.restore(s.addresses);
    for (const stored of s.nodes) {
      const n: NodeRecord = { ...stored, sessions: 0 };
      if (n.online === true) {
        n.online = false;
        n.lastSeen = now;
      }
      this.#ips.restore({ v4: [n.ipv4], v6: [n.ipv6] });
      this.#nodes.set(n.id, n);
      this.#nextNodeId = Math.max(this.#nextNodeId, n.id + 1);
      if (n.ephemeral && n.online === false) this.#armEphemeralDeletion(n);
    }
    for (const k of s.preAuthKeys) {
      this.#keys.set(k.key, k);
      this.#nextKeyId = Math.max(this.#nextKeyId, k.id + 1);
    }
    this.#nextNodeId = Math.max(this.#nextNodeId, s.nextNodeId);
    this.#nextKeyId = Math.max(this.#nextKeyId, s.nextKeyId);
  }

  // ---- subscriptions ----

  /** Calls fn with every change; returns an unsubscribe function. */
  subscribe(fn: (c: Change) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  /** Announces a change to every subscriber (null is ignored). */
  emit(c: Change | null): void {
    this.#emit(c);
  }

  #emit(c: Change | null): void {
    if (c === null) return;
    this.#logf(`change ${c.reason}${c.originNode ? ` node=${c.originNode}` : ""}`);
    for (const fn of this.#subscribers) fn(c);
  }

  // ---- admin ----

  /** Every node, by ascending ID. */
  listNodes(): NodeRecord[] {
    return [...this.#nodes.values()].sort((a, b) => a.id - b.id);
  }

  /** Finds a node by canonical `nodekey:` text. */
  nodeByNodeKey(nodeKey: string): NodeRecord | undefined {
    for (const n of this.#nodes.values()) if (n.nodeKey === nodeKey) return n;
    return undefined;
  }

  /** Finds a node by canonical `mkey:` text. */
  nodeByMachineKey(machineKey: string): NodeRecord | undefined {
    for (const n of this.#nodes.values()) if (n.machineKey === machineKey) return n;
    return undefined;
  }

  /** Adds a pre-auth key and returns it. */
  addPreAuthKey(spec: PreAuthKeySpec = {}): PreAuthKey {
    const key = spec.key ?? `tskey-auth-${toHex(crypto.getRandomValues(new Uint8Array(24)))}`;
    if (this.#keys.has(key)) throw new TypeError(`Cannot add pre-auth key: it already exists`);
    const k: PreAuthKey = {
      id: this.#nextKeyId++,
      key,
      reusable: spec.reusable ?? true,
      ephemeral: spec.ephemeral ?? false,
      used: false,
      expiresAt: spec.expiresAt,
    };
    this.#keys.set(key, k);
    this.#save();
    return k;
  }

  /** Reports whether a pre-auth key with this secret text exists. */
  hasPreAuthKey(key: string): boolean {
    return this.#keys.has(key);
  }

  /** Every pre-auth key. */
  listPreAuthKeys(): PreAuthKey[] {
    return [...this.#keys.values()];
  }

  /** Deletes a node; every other stream gets `PeersRemoved`. Returns false if unknown. */
  deleteNode(id: number): boolean {
    const n = this.#nodes.get(id);
    if (!n) return false;
    this.#nodes.delete(id);
    this.#ips.release(n);
    this.#clearTimer(`offline:${id}`);
    this.#clearTimer(`ephemeral:${id}`);
    this.#logf(`node ${id} ${n.givenName} deleted`);
    this.#save();
    // Headscale sends a node deletion as a policy change with PeersRemoved.
    this.#emit({ reason: "node-removed", peersRemoved: [id], policy: true });
    return true;
  }

  /** Replaces the filter (undefined = allow all) and pushes it to every stream. */
  setFilter(rules: FilterRule[] | undefined): void {
    this.config.filter = rules === undefined ? undefined : structuredClone(rules);
    this.#emit({ reason: "policy", policy: true });
  }

  /** Replaces DNS extra records and pushes the DNS config. */
  setExtraRecords(records: TailnetConfig["dns"]["extraRecords"]): void {
    this.config.dns.extraRecords = structuredClone(records);
    this.#emit({ reason: "dns", dns: true });
  }

  /** Pending interactive registrations (auth IDs). */
  listPending(): string[] {
    return [...this.#pending.values()].filter((p) => !p.node).map((p) => p.id);
  }

  /** Approves an interactive registration; false if the ID is unknown. */
  approve(authId: string): boolean {
    const p = this.#pending.get(authId);
    if (!p) return false;
    if (!p.node) {
      p.node = this.#commitNode({
        machineKey: p.machineKey,
        nodeKey: p.nodeKey,
        hostinfo: p.hostinfo,
        ephemeral: false,
      });
      this.#logf(`auth ${authId} approved as node ${p.node.id}`);
    }
    for (const w of p.waiters) w();
    p.waiters.clear();
    return true;
  }

  /** Stops every timer (server shutdown). */
  close(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    for (const p of this.#pending.values()) for (const w of p.waiters) w();
  }

  // ---- registration ----

  /**
   * `POST /machine/register` (Headscale's handleRegister). Failures are HTTP 200
   * with `Error` set, as Headscale sends them; only an old Version is HTTP 400.
   */
  async register(
    body: unknown,
    machineKey: string,
    signal: AbortSignal,
  ): Promise<ControlReply> {
    if (!isObject(body)) return regError("invalid register request: not a JSON object");
    const version = Number(body.Version ?? 0);
    if (!(version >= MIN_CAPABILITY_VERSION)) return unsupported(version);
    let nodeKey: string;
    try {
      nodeKey = canonicalKey("node", body.NodeKey);
    } catch (e) {
      return regError(`invalid NodeKey: ${(e as Error).message}`);
    }
    if (nodeKey === "") return regError("invalid NodeKey: zero key");
    const expiry = parseTime(body.Expiry);
    const now = Date.now();
    const auth = isObject(body.Auth) ? body.Auth : undefined;
    const hostinfo = isObject(body.Hostinfo) ? body.Hostinfo : {};

    if (expiry !== undefined && expiry.getTime() < now) {
      const node = this.nodeByNodeKey(nodeKey);
      if (node) return this.#logout(node, expiry, machineKey);
    }
    if (auth === undefined) {
      const node = this.nodeByNodeKey(nodeKey);
      if (node) {
        if (node.machineKey !== machineKey) {
          return regError("node exists with a different machine key");
        }
        // tailscaled restarting: Auth nil, Expiry zero → current state, unchanged.
        if (expiry === undefined && !isExpired(node)) return ok(this.#registerResponse(node));
        const r = this.#logout(node, expiry, machineKey);
        if (r) return r;
      }
    }
    const followup = typeof body.Followup === "string" ? body.Followup : "";
    if (followup !== "") {
      return await this.#waitForFollowup(followup, machineKey, nodeKey, hostinfo, signal);
    }
    const authKey = typeof auth?.AuthKey === "string" ? auth.AuthKey : "";
    if (authKey !== "") return this.#registerWithAuthKey(authKey, machineKey, nodeKey, hostinfo);
    return ok(this.#newAuthUrl(machineKey, nodeKey, hostinfo));
  }

  #logout(node: NodeRecord, expiry: Date | undefined, machineKey: string): ControlReply {
    if (node.machineKey !== machineKey) return regError("node exists with a different machine key");
    if (isExpired(node)) return ok(registerResponseFields(undefined, true, false));
    const now = Date.now();
    if (expiry !== undefined && expiry.getTime() > now) {
      return regError("extending key is not allowed");
    }
    if (node.ephemeral) {
      this.deleteNode(node.id);
      return ok(registerResponseFields(undefined, true, false));
    }
    // Headscale clamps tailscaled's 1970 sentinel to now.
    node.expiry = new Date(Math.max(expiry?.getTime() ?? now, now));
    this.#logf(`node ${node.id} ${node.givenName} logged out`);
    this.#save();
    this.#emit({
      reason: "key-expiry",
      originNode: node.id,
      patches: [{ NodeID: node.id, KeyExpiry: goTime(node.expiry) }],
    });
    return ok({ ...this.#registerResponse(node), NodeKeyExpired: true, MachineAuthorized: false });
  }

  #registerWithAuthKey(
    authKey: string,
    machineKey: string,
    nodeKey: string,
    hostinfo: Json,
  ): ControlReply {
    const pak = this.#keys.get(authKey);
    if (!pak) return regError("invalid pre auth key");
    const existing = this.nodeByMachineKey(machineKey);
    // A known machine re-registering with its current key needs no valid key
    // (containers run `tailscale up --authkey` on every start).
    const refresh = existing !== undefined && existing.nodeKey === nodeKey && !isExpired(existing);
    if (!refresh) {
      if (pak.expiresAt && pak.expiresAt.getTime() <= Date.now()) {
        return regError("authkey expired");
      }
      if (!pak.reusable && pak.used) return regError("authkey already used");
    }
    const holder = this.nodeByNodeKey(nodeKey);
    if (holder && holder.machineKey !== machineKey) return regError("node key already in use");
    // Marked before the commit so the state saved with the node has it used.
    if (!pak.reusable) pak.used = true;
    const node = this.#commitNode({ machineKey, nodeKey, hostinfo, ephemeral: pak.ephemeral });
    return ok(this.#registerResponse(node));
  }

  /** Creates a node, or updates the machine's existing node in place (key rotation). */
  #commitNode(
    p: { machineKey: string; nodeKey: string; hostinfo: Json; ephemeral: boolean },
  ): NodeRecord {
    const existing = this.nodeByMachineKey(p.machineKey);
    const hostname = typeof p.hostinfo.Hostname === "string" ? p.hostinfo.Hostname : "";
    if (existing) {
      const rotated = existing.nodeKey !== p.nodeKey;
      const wasExpired = isExpired(existing);
      existing.nodeKey = p.nodeKey;
      existing.expiry = undefined;
      const oldNetInfo = existing.hostinfo.NetInfo;
      existing.hostinfo = { ...p.hostinfo, Hostname: hostname };
      if (existing.hostinfo.NetInfo === undefined && oldNetInfo !== undefined) {
        existing.hostinfo.NetInfo = oldNetInfo;
      }
      this.#save();
      if (rotated || wasExpired) {
        this.#logf(`node ${existing.id} ${existing.givenName} re-registered with a new key`);
        this.#emit({
          reason: "node-key-rotated",
          originNode: existing.id,
          patches: [{
            NodeID: existing.id,
            Key: existing.nodeKey,
            DiscoKey: existing.discoKey || undefined,
            KeyExpiry: "0001-01-01T00:00:00Z",
          }],
        });
      }
      return existing;
    }
    const addrs = this.#ips.allocate();
    const taken = new Set([...this.#nodes.values()].map((n) => n.givenName));
    const node: NodeRecord = {
      id: this.#nextNodeId++,
      machineKey: p.machineKey,
      nodeKey: p.nodeKey,
      discoKey: "",
      hostname,
      givenName: uniqueGivenName(sanitizeHostname(hostname), taken),
      ipv4: addrs.ipv4,
      ipv6: addrs.ipv6,
      hostinfo: { ...p.hostinfo, Hostname: hostname },
      endpoints: [],
      created: new Date(),
      ephemeral: p.ephemeral,
      sessions: 0,
    };
    this.#nodes.set(node.id, node);
    this.#save();
    this.#logf(
      `node ${node.id} ${node.givenName} registered ${node.ipv4} ${node.ipv6}` +
        (node.ephemeral ? " ephemeral" : ""),
    );
    // A new node changes every peer list; Headscale sends it as a policy change.
    this.#emit({ reason: "node-added", policy: true });
    return node;
  }

  #newAuthUrl(machineKey: string, nodeKey: string, hostinfo: Json): Json {
    const id = toHex(crypto.getRandomValues(new Uint8Array(12)));
    this.#pending.set(id, { id, machineKey, nodeKey, hostinfo, waiters: new Set() });
    const url = `${this.config.serverUrl.replace(/\/+$/, "")}/register/${id}`;
    this.#logf(`auth ${id} pending: ${url}`);
    return { AuthURL: url };
  }

  async #waitForFollowup(
    followup: string,
    machineKey: string,
    nodeKey: string,
    hostinfo: Json,
    signal: AbortSignal,
  ): Promise<ControlReply> {
    let id: string;
    try {
      id = new URL(followup).pathname.replace(/^.*\/register\//, "");
    } catch {
      return regError("invalid followup URL");
    }
    const p = this.#pending.get(id);
    if (!p) return ok(this.#newAuthUrl(machineKey, nodeKey, hostinfo));
    if (!p.node) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", done);
          p.waiters.delete(done);
          resolve();
        };
        p.waiters.add(done);
        signal.addEventListener("abort", done);
      });
    }
    if (!p.node) return regError("registration timed out");
    if (!this.#nodes.has(p.node.id)) return ok(this.#newAuthUrl(machineKey, nodeKey, hostinfo));
    return ok(this.#registerResponse(p.node));
  }

  #registerResponse(node: NodeRecord): Json {
    return registerResponseFields(this.user, isExpired(node), true);
  }

  // ---- map requests ----

  /** Finds the node a map request is for, checking it belongs to the Noise machine key. */
  nodeForMapRequest(body: unknown, machineKey: string): NodeRecord | ControlReply {
    if (!isObject(body)) return { status: 400, body: "invalid map request: not a JSON object" };
    const version = Number(body.Version ?? 0);
    if (!(version >= MIN_CAPABILITY_VERSION)) return unsupported(version);
    let nodeKey: string;
    try {
      nodeKey = canonicalKey("node", body.NodeKey);
    } catch {
      return { status: 404, body: "node not found" };
    }
    const node = this.nodeByNodeKey(nodeKey);
    if (!node) return { status: 404, body: "node not found" };
    if (node.machineKey !== machineKey) {
      return {
        status: 404,
        body: "node key in request does not match the one associated with this machine key",
      };
    }
    return node;
  }

  /**
   * Stores what a map request reports (Headscale's UpdateNodeFromMapRequest) and
   * announces it: Hostinfo or disco key changes as whole-node `PeersChanged`,
   * endpoint or home-DERP changes as `PeersChangedPatch`. The caller emits the
   * returned change (a stream does so only after sending its first map).
   */
  applyMapRequest(node: NodeRecord, req: Json): Change | null {
    let discoChanged = false;
    if ("DiscoKey" in req) {
      let disco = "";
      try {
        disco = canonicalKey("disco", req.DiscoKey);
      } catch {
        disco = node.discoKey;
      }
      discoChanged = disco !== node.discoKey;
      node.discoKey = disco;
    }
    let endpointsChanged = false;
    if ("Endpoints" in req) {
      const eps = Array.isArray(req.Endpoints) ? req.Endpoints.map(String) : [];
      endpointsChanged = !sameSet(eps, node.endpoints);
      node.endpoints = eps;
    }
    let derpChanged = false;
    let hostinfoChanged = false;
    if (isObject(req.Hostinfo)) {
      const hi: Json = { ...req.Hostinfo };
      const oldNetInfo = node.hostinfo.NetInfo;
      if (isObject(hi.NetInfo)) {
        const old = isObject(oldNetInfo) ? oldNetInfo.PreferredDERP : undefined;
        derpChanged = old !== hi.NetInfo.PreferredDERP && Number(hi.NetInfo.PreferredDERP) !== 0;
      } else if (oldNetInfo !== undefined) {
        // tailscaled only sends NetInfo when it changed; keep the last one.
        hi.NetInfo = oldNetInfo;
      }
      hostinfoChanged = JSON.stringify(hi) !== JSON.stringify(node.hostinfo);
      if (hostinfoChanged) {
        const hostname = typeof hi.Hostname === "string" ? hi.Hostname : "";
        if (hostname !== "" && hostname !== node.hostname) {
          const wasDerived = node.givenName === sanitizeHostname(node.hostname) ||
            node.givenName.startsWith(sanitizeHostname(node.hostname) + "-");
          node.hostname = hostname;
          if (wasDerived) {
            const taken = new Set(this.peersOf(node.id).map((n) => n.givenName));
            node.givenName = uniqueGivenName(sanitizeHostname(hostname), taken);
          }
        }
        node.hostinfo = hi;
      }
    }
    if (hostinfoChanged || discoChanged || endpointsChanged || derpChanged) this.#save();
    // Headscale would patch only the endpoints when they change together with the disco key,
    // leaving peers with a stale disco key; send the whole node instead.
    if (hostinfoChanged || discoChanged) {
      return { reason: "node-changed", originNode: node.id, peersChanged: [node.id] };
    }
    if (endpointsChanged || derpChanged) {
      const patch: PeerChange = { NodeID: node.id };
      if (derpChanged) patch.DERPRegion = homeDerpOf(node);
      if (endpointsChanged) patch.Endpoints = [...node.endpoints];
      return { reason: "endpoints", originNode: node.id, patches: [patch] };
    }
    return null;
  }

  /**
   * A map stream opened: the node is online. Returns the online notice (every
   * stream, the node's own included, gets it) for the caller to emit.
   */
  connect(node: NodeRecord): Change {
    node.sessions++;
    this.#clearTimer(`offline:${node.id}`);
    this.#clearTimer(`ephemeral:${node.id}`);
    const wasOnline = node.online === true;
    node.online = true;
    node.lastSeen = undefined;
    if (!wasOnline) this.#save();
    return this.#onlineChange(node, true);
  }

  /** A map stream closed: offline after the grace period if no other stream opened. */
  disconnect(node: NodeRecord): void {
    node.sessions = Math.max(0, node.sessions - 1);
    if (node.sessions > 0) return;
    this.#setTimer(`offline:${node.id}`, this.config.offlineGraceMs, () => {
      if (!this.#nodes.has(node.id) || node.sessions > 0) return;
      node.online = false;
      node.lastSeen = new Date();
      this.#logf(`node ${node.id} ${node.givenName} offline`);
      this.#save();
      this.#emit(this.#onlineChange(node, false));
      if (node.ephemeral) this.#armEphemeralDeletion(node);
    });
  }

  #armEphemeralDeletion(node: NodeRecord): void {
    this.#setTimer(`ephemeral:${node.id}`, this.config.ephemeralInactivityMs, () => {
      if (node.sessions === 0) this.deleteNode(node.id);
    });
  }

  #onlineChange(node: NodeRecord, online: boolean): Change {
    const reason = online ? "online" : "offline";
    if (this.config.useOnlineChange) {
      return { reason, onlineChange: { [String(node.id)]: online } };
    }
    const patch: PeerChange = { NodeID: node.id, Online: online };
    if (!online && node.lastSeen) patch.LastSeen = goTime(node.lastSeen);
    return { reason, patches: [patch] };
  }

  #setTimer(name: string, ms: number, fn: () => void): void {
    this.#clearTimer(name);
    this.#timers.set(
      name,
      setTimeout(() => {
        this.#timers.delete(name);
        fn();
      }, ms),
    );
  }

  #clearTimer(name: string): void {
    const t = this.#timers.get(name);
    if (t !== undefined) clearTimeout(t);
    this.#timers.delete(name);
  }
}

function registerResponseFields(
  user: User | undefined,
  expired: boolean,
  authorized: boolean,
): Json {
  return {
    User: user ? { ID: user.id, DisplayName: user.name, Created: goTime(user.created) } : undefined,
    Login: user
      ? { ID: user.id, Provider: "", LoginName: user.name, DisplayName: user.name }
      : undefined,
    NodeKeyExpired: expired,
    MachineAuthorized: authorized,
    AuthURL: "",
    NodeKeySignature: null,
    Error: "",
  };
}

function ok(body: Json): ControlReply {
  const full: Json = {
    User: undefined,
    Login: undefined,
    NodeKeyExpired: false,
    MachineAuthorized: false,
    AuthURL: "",
    NodeKeySignature: null,
    Error: "",
    ...body,
  };
  return { status: 200, body: full };
}

function regError(message: string): ControlReply {
  return ok({ Error: message });
}

function unsupported(version: number): ControlReply {
  return {
    status: 400,
    body: `unsupported client version: ${version} (minimum ${MIN_CAPABILITY_VERSION})`,
  };
}

/** Parses a key text of a kind and returns its canonical form; "" for a zero key. */
export function canonicalKey(kind: KeyKind, v: unknown): string {
  if (typeof v !== "string") throw new TypeError(`want a ${kind} key string, got ${typeof v}`);
  const k = parseKey(kind, v);
  return isZeroKey(k) ? "" : formatKey(kind, k);
}

function parseTime(v: unknown): Date | undefined {
  if (typeof v !== "string" || v === "" || v.startsWith("0001-01-01")) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : new Date(t);
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const s = [...a].sort(), t = [...b].sort();
  return s.every((v, i) => v === t[i]);
}
