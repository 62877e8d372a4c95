/**
 * The state of the test tailnet: its node registry (nodes, addresses, names,
 * pre-auth keys), persistence, online tracking, deletion and policy, and the
 * entry points of registration (registration.ts) and map requests
 * (map_request.ts). Every mutation reports a {@link Change} to subscribers,
 * which the map streams turn into deltas.
 *
 * @module
 */

import { toHex } from "../../src/bytes/hex.ts";
import type { TailnetConfig } from "./config.ts";
import type { ControlReply } from "./control_reply.ts";
import { IpAllocator } from "./ip_alloc.ts";
import { findMapRequestNode, updateNodeFromMapRequest } from "./map_request.ts";
import { ALLOW_ALL_FILTER, goTime, isExpired, type TailnetView } from "./mapper.ts";
import { sanitizeHostname, uniqueGivenName } from "./names.ts";
import { type NodeCommit, Registrar } from "./registration.ts";
import { checkApprovedRoutes, type NodeRoutes, nodeRoutes, primaryRoutesOf } from "./routes.ts";
import type {
  Change,
  Json,
  Logf,
  NodeRecord,
  PreAuthKey,
  PreAuthKeySpec,
  TailnetSnapshot,
  User,
} from "./types.ts";
import type { FilterRule, PeerChange } from "../../src/netmap/tailcfg.ts";

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
  readonly #registrar: Registrar;
  readonly #ips: IpAllocator;
  readonly #subscribers = new Set<(c: Change) => void>();
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #logf: Logf;
  #nextNodeId = 1;
  #nextKeyId = 1;
  #persist: (() => void) | undefined;

  /** Creates an empty tailnet. */
  constructor(config: TailnetConfig, logf: Logf = () => {}) {
    this.config = config;
    this.#ips = new IpAllocator(config.prefixes);
    this.user = { id: 1, name: config.userName, created: new Date() };
    this.#logf = logf;
    this.#registrar = new Registrar({
      user: this.user,
      logf,
      serverUrl: () => this.config.serverUrl,
      nodeByNodeKey: (nodeKey) => this.nodeByNodeKey(nodeKey),
      nodeByMachineKey: (machineKey) => this.nodeByMachineKey(machineKey),
      hasNode: (id) => this.#nodes.has(id),
      preAuthKey: (key) => this.#keys.get(key),
      commitNode: (p) => this.#commitNode(p),
      deleteNode: (id) => this.deleteNode(id),
      save: () => this.#save(),
      emit: (c) => this.#emit(c),
    });
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

  /** The prefixes a node is primary router for. */
  primaryRoutesOf(id: number): string[] {
    const n = this.#nodes.get(id);
    return n ? primaryRoutesOf(n, this.#nodes.values()) : [];
  }

  // ---- routes ----

  /** A node's announced, approved, served and primary routes; undefined if unknown. */
  routesOf(id: number): NodeRoutes | undefined {
    const n = this.#nodes.get(id);
    return n ? nodeRoutes(n, this.#nodes.values()) : undefined;
  }

  /**
   * Replaces a node's approved routes (`headscale nodes approve-routes`; [] approves none).
   * As Headscale, every stream gets a policy update — the peers see the node's new
   * AllowedIPs and PrimaryRoutes — and the node itself no self update (see the capture in
   * fixtures/headscale-0.28-routes). Returns undefined if the node is unknown.
   *
   * @throws {RangeError} if a prefix is not canonical
   */
  approveRoutes(id: number, routes: unknown): NodeRoutes | undefined {
    const n = this.#nodes.get(id);
    if (!n) return undefined;
    const approved = checkApprovedRoutes(routes);
    n.approvedRoutes = approved.length > 0 ? approved : undefined;
    this.#logf(`node ${id} ${n.givenName} approved routes: ${approved.join(",") || "(none)"}`);
    this.#save();
    this.#emit({ reason: "routes-approved", policy: true });
    return nodeRoutes(n, this.#nodes.values());
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

  /** Stops every timer (server shutdown). */
  close(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#registrar.wakeAll();
  }

  /** Pending interactive registrations (auth IDs). */
  listPending(): string[] {
    return this.#registrar.listPending();
  }

  /** Approves an interactive registration; false if the ID is unknown. */
  approve(authId: string): boolean {
    return this.#registrar.approve(authId);
  }

  // ---- registration ----

  /**
   * `POST /machine/register` (Headscale's handleRegister). Failures are HTTP 200
   * with `Error` set, as Headscale sends them; only an old Version is HTTP 400.
   */
  register(body: unknown, machineKey: string, signal: AbortSignal): Promise<ControlReply> {
    return this.#registrar.register(body, machineKey, signal);
  }

  /** Creates a node, or updates the machine's existing node in place (key rotation). */
  #commitNode(p: NodeCommit): NodeRecord {
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

  // ---- map requests ----

  /** Finds the node a map request is for, checking it belongs to the Noise machine key. */
  nodeForMapRequest(body: unknown, machineKey: string): NodeRecord | ControlReply {
    return findMapRequestNode(body, machineKey, (nodeKey) => this.nodeByNodeKey(nodeKey));
  }

  /**
   * Stores what a map request reports (Headscale's UpdateNodeFromMapRequest) and
   * announces it: Hostinfo or disco key changes as whole-node `PeersChanged`,
   * endpoint or home-DERP changes as `PeersChangedPatch`. The caller emits the
   * returned change (a stream does so only after sending its first map).
   */
  applyMapRequest(node: NodeRecord, req: Json): Change | null {
    const { change, stored } = updateNodeFromMapRequest(node, req, (id) => this.peersOf(id));
    if (stored) this.#save();
    return change;
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
