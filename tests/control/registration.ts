/**
 * Registration the way Headscale's handleRegister does it: pre-auth keys,
 * restarts with the current key, key rotation, interactive logins waiting for
 * approval, and logout (expiry in the past). It keeps the pending interactive
 * logins; nodes live in the tailnet's registry, reached through
 * {@linkcode RegistryAccess}.
 *
 * @module
 */

import { toHex } from "../../src/bytes/hex.ts";
import { MIN_CAPABILITY_VERSION } from "./constants.ts";
import {
  type ControlReply,
  ok,
  regError,
  registerResponseFields,
  unsupported,
} from "./control_reply.ts";
import { goTime, isExpired } from "./mapper.ts";
import { canonicalKey, isObject, parseTime } from "./request_fields.ts";
import type { Change, Json, Logf, NodeRecord, PreAuthKey, User } from "./types.ts";

/** A node to create, or to update in place when its machine is known (key rotation). */
export interface NodeCommit {
  /** Canonical `mkey:` text. */
  machineKey: string;
  /** Canonical `nodekey:` text. */
  nodeKey: string;
  /** The Hostinfo the node sent. */
  hostinfo: Json;
  /** Register it as ephemeral. */
  ephemeral: boolean;
}

/** What registration reads and changes in the tailnet. */
export interface RegistryAccess {
  /** The user every node belongs to. */
  readonly user: User;
  /** Log line sink. */
  readonly logf: Logf;
  /** The server's URL, for interactive login URLs. */
  serverUrl(): string;
  /** A node by canonical `nodekey:` text. */
  nodeByNodeKey(nodeKey: string): NodeRecord | undefined;
  /** A node by canonical `mkey:` text. */
  nodeByMachineKey(machineKey: string): NodeRecord | undefined;
  /** Whether a node with this ID exists. */
  hasNode(id: number): boolean;
  /** A pre-auth key by its secret text. */
  preAuthKey(key: string): PreAuthKey | undefined;
  /** Creates a node, or updates the machine's existing node in place. */
  commitNode(p: NodeCommit): NodeRecord;
  /** Deletes a node (streams get `PeersRemoved`). */
  deleteNode(id: number): boolean;
  /** Persists the tailnet after a change a restarted server must remember. */
  save(): void;
  /** Announces a change to every map stream. */
  emit(c: Change): void;
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

/** Registers nodes in a tailnet and holds its pending interactive logins. */
export class Registrar {
  readonly #t: RegistryAccess;
  readonly #pending = new Map<string, PendingAuth>();

  /** Registration over the tailnet reached through t. */
  constructor(t: RegistryAccess) {
    this.#t = t;
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
      p.node = this.#t.commitNode({
        machineKey: p.machineKey,
        nodeKey: p.nodeKey,
        hostinfo: p.hostinfo,
        ephemeral: false,
      });
      this.#t.logf(`auth ${authId} approved as node ${p.node.id}`);
    }
    for (const w of p.waiters) w();
    p.waiters.clear();
    return true;
  }

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
      const node = this.#t.nodeByNodeKey(nodeKey);
      if (node) return this.#logout(node, expiry, machineKey);
    }
    if (auth === undefined) {
      const node = this.#t.nodeByNodeKey(nodeKey);
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
      this.#t.deleteNode(node.id);
      return ok(registerResponseFields(undefined, true, false));
    }
    // Headscale clamps tailscaled's 1970 sentinel to now.
    node.expiry = new Date(Math.max(expiry?.getTime() ?? now, now));
    this.#t.logf(`node ${node.id} ${node.givenName} logged out`);
    this.#t.save();
    this.#t.emit({
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
    const pak = this.#t.preAuthKey(authKey);
    if (!pak) return regError("invalid pre auth key");
    const existing = this.#t.nodeByMachineKey(machineKey);
    // A known machine re-registering with its current key needs no valid key
    // (containers run `tailscale up --authkey` on every start).
    const refresh = existing !== undefined && existing.nodeKey === nodeKey && !isExpired(existing);
    if (!refresh) {
      if (pak.expiresAt && pak.expiresAt.getTime() <= Date.now()) {
        return regError("authkey expired");
      }
      if (!pak.reusable && pak.used) return regError("authkey already used");
    }
    const holder = this.#t.nodeByNodeKey(nodeKey);
    if (holder && holder.machineKey !== machineKey) return regError("node key already in use");
    // Marked before the commit so the state saved with the node has it used.
    if (!pak.reusable) pak.used = true;
    const node = this.#t.commitNode({ machineKey, nodeKey, hostinfo, ephemeral: pak.ephemeral });
    return ok(this.#registerResponse(node));
  }

  #newAuthUrl(machineKey: string, nodeKey: string, hostinfo: Json): Json {
    const id = toHex(crypto.getRandomValues(new Uint8Array(12)));
    this.#pending.set(id, { id, machineKey, nodeKey, hostinfo, waiters: new Set() });
    const url = `${this.#t.serverUrl().replace(/\/+$/, "")}/register/${id}`;
    this.#t.logf(`auth ${id} pending: ${url}`);
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
    if (!this.#t.hasNode(p.node.id)) return ok(this.#newAuthUrl(machineKey, nodeKey, hostinfo));
    return ok(this.#registerResponse(p.node));
  }

  #registerResponse(node: NodeRecord): Json {
    return registerResponseFields(this.#t.user, isExpired(node), true);
  }

  /** Wakes every registration waiting for approval (server shutdown). */
  wakeAll(): void {
    for (const p of this.#pending.values()) for (const w of p.waiters) w();
  }
}
