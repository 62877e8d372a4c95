/**
 * The test control server's state file: its Noise private key and the
 * durable part of the tailnet as one JSON document, so a killed server can be
 * started again and nodes keep their identity (Headscale keeps the same in
 * its database). Written atomically: a temporary file in the same directory,
 * mode 0600, renamed over the old one.
 *
 * @module
 */

import { formatKey, isZeroKey, type KeyKind, parseKey } from "../../src/key/node_key.ts";
import { formatIp, parseIp } from "../../src/net/ip.ts";
import type { Json, PreAuthKey, StoredNode, TailnetSnapshot, User } from "./types.ts";

/** Format version written into every state file. */
export const STATE_FILE_VERSION = 1;

/** What a state file holds. */
export interface ControlState {
  /** The server's Noise static private key. */
  privateKey: Uint8Array;
  /** Nodes, pre-auth keys, user and address allocation. */
  tailnet: TailnetSnapshot;
}

/**
 * Serializes a state as the file's JSON text.
 *
 * @example
 * ```ts
 * const text = encodeControlState({
 *   privateKey: new Uint8Array(32).fill(1),
 *   tailnet: {
 *     user: { id: 1, name: "test", created: new Date(0) },
 *     nodes: [], preAuthKeys: [], nextNodeId: 1, nextKeyId: 1,
 *     addresses: { v4: [], v6: [] },
 *   },
 * });
 * console.assert(decodeControlState(text).tailnet.user.name === "test");
 * ```
 */
export function encodeControlState(state: ControlState): string {
  const t = state.tailnet;
  const doc = {
    version: STATE_FILE_VERSION,
    privateKey: formatKey("private", state.privateKey),
    user: { id: t.user.id, name: t.user.name, created: t.user.created.toISOString() },
    nextNodeId: t.nextNodeId,
    nextKeyId: t.nextKeyId,
    addresses: t.addresses,
    nodes: t.nodes.map((n) => ({
      ...n,
      created: n.created.toISOString(),
      expiry: n.expiry?.toISOString(),
      lastSeen: n.lastSeen?.toISOString(),
    })),
    preAuthKeys: t.preAuthKeys.map((k) => ({ ...k, expiresAt: k.expiresAt?.toISOString() })),
  };
  return JSON.stringify(doc, null, 2) + "\n";
}

/**
 * Parses and checks a state file's text. Throws SyntaxError with a one-line
 * message naming the first field that is wrong.
 */
export function decodeControlState(text: string): ControlState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`not JSON (${oneLine((e as Error).message)})`);
  }
  const doc = obj(raw, "the document");
  if (doc.version !== STATE_FILE_VERSION) {
    throw new SyntaxError(
      `unsupported version ${JSON.stringify(doc.version)} (want ${STATE_FILE_VERSION})`,
    );
  }
  const privateKey = key("private", doc.privateKey, "privateKey");
  if (privateKey === null) throw new SyntaxError("privateKey is the zero key");
  const u = obj(doc.user, "user");
  const user: User = {
    id: int(u.id, "user.id"),
    name: str(u.name, "user.name"),
    created: date(u.created, "user.created"),
  };
  const a = obj(doc.addresses, "addresses");
  const addresses = {
    v4: strArray(a.v4, "addresses.v4").map((s) => ip(s, 4, "addresses.v4")),
    v6: strArray(a.v6, "addresses.v6").map((s) => ip(s, 6, "addresses.v6")),
  };
  const nodes = array(doc.nodes, "nodes").map((v, i) => decodeNode(v, `nodes[${i}]`));
  const ids = new Set<number>();
  for (const n of nodes) {
    if (ids.has(n.id)) throw new SyntaxError(`node ID ${n.id} appears twice`);
    ids.add(n.id);
  }
  const preAuthKeys = array(doc.preAuthKeys, "preAuthKeys").map((v, i) =>
    decodePreAuthKey(v, `preAuthKeys[${i}]`)
  );
  return {
    privateKey,
    tailnet: {
      user,
      nodes,
      preAuthKeys,
      nextNodeId: int(doc.nextNodeId, "nextNodeId"),
      nextKeyId: int(doc.nextKeyId, "nextKeyId"),
      addresses,
    },
  };
}

/**
 * Reads a state file; null when it does not exist. Any other failure throws
 * an Error with a one-line message: `Cannot load control state from <path>: <why>`.
 */
export function readStateFile(path: string): ControlState | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(`Cannot load control state from ${path}: ${oneLine((e as Error).message)}`);
  }
  try {
    return decodeControlState(text);
  } catch (e) {
    throw new SyntaxError(`Cannot load control state from ${path}: ${(e as Error).message}`);
  }
}

/**
 * Writes a state file atomically: the text goes to `<path>.tmp` with mode
 * 0600 and is renamed over `path`, so a reader (or a killed server) never
 * sees half a file. Synchronous, so the state is on disk before the change's
 * reply goes out, as a database commit would be.
 */
export function writeStateFile(path: string, state: ControlState): void {
  const tmp = `${path}.tmp`;
  try {
    Deno.removeSync(tmp);
  } catch {
    // Usually absent; a leftover from a killed writer is replaced.
  }
  Deno.writeTextFileSync(tmp, encodeControlState(state), { mode: 0o600, createNew: true });
  // mode is filtered through the umask on creation; 0600 must hold regardless.
  Deno.chmodSync(tmp, 0o600);
  Deno.renameSync(tmp, path);
}

function decodeNode(v: unknown, where: string): StoredNode {
  const n = obj(v, where);
  const machineKey = key("machine", n.machineKey, `${where}.machineKey`);
  const nodeKey = key("node", n.nodeKey, `${where}.nodeKey`);
  if (machineKey === null) throw new SyntaxError(`${where}.machineKey is the zero key`);
  if (nodeKey === null) throw new SyntaxError(`${where}.nodeKey is the zero key`);
  const disco = n.discoKey === "" ? null : key("disco", n.discoKey, `${where}.discoKey`);
  const hostinfo = obj(n.hostinfo, `${where}.hostinfo`) as Json;
  const online = n.online;
  if (online !== undefined && typeof online !== "boolean") {
    throw new SyntaxError(`${where}.online must be a boolean`);
  }
  return compact({
    id: positive(n.id, `${where}.id`),
    machineKey: formatKey("machine", machineKey),
    nodeKey: formatKey("node", nodeKey),
    discoKey: disco === null ? "" : formatKey("disco", disco),
    hostname: str(n.hostname, `${where}.hostname`),
    givenName: str(n.givenName, `${where}.givenName`),
    ipv4: ip(n.ipv4, 4, `${where}.ipv4`),
    ipv6: ip(n.ipv6, 6, `${where}.ipv6`),
    hostinfo,
    endpoints: strArray(n.endpoints, `${where}.endpoints`),
    created: date(n.created, `${where}.created`),
    expiry: n.expiry === undefined ? undefined : date(n.expiry, `${where}.expiry`),
    ephemeral: bool(n.ephemeral, `${where}.ephemeral`),
    online,
    lastSeen: n.lastSeen === undefined ? undefined : date(n.lastSeen, `${where}.lastSeen`),
    approvedRoutes: n.approvedRoutes === undefined
      ? undefined
      : strArray(n.approvedRoutes, `${where}.approvedRoutes`),
  });
}

function decodePreAuthKey(v: unknown, where: string): PreAuthKey {
  const k = obj(v, where);
  return compact({
    id: positive(k.id, `${where}.id`),
    key: str(k.key, `${where}.key`),
    reusable: bool(k.reusable, `${where}.reusable`),
    ephemeral: bool(k.ephemeral, `${where}.ephemeral`),
    used: bool(k.used, `${where}.used`),
    expiresAt: k.expiresAt === undefined ? undefined : date(k.expiresAt, `${where}.expiresAt`),
  });
}

/** Drops keys whose value is undefined, so a decoded record has the shape the live one had. */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new SyntaxError(`${where} must be a JSON object`);
  }
  return v as Record<string, unknown>;
}

function array(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw new SyntaxError(`${where} must be an array`);
  return v;
}

function str(v: unknown, where: string): string {
  if (typeof v !== "string") throw new SyntaxError(`${where} must be a string`);
  return v;
}

function strArray(v: unknown, where: string): string[] {
  return array(v, where).map((s, i) => str(s, `${where}[${i}]`));
}

function bool(v: unknown, where: string): boolean {
  if (typeof v !== "boolean") throw new SyntaxError(`${where} must be a boolean`);
  return v;
}

function int(v: unknown, where: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) {
    throw new SyntaxError(`${where} must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

function positive(v: unknown, where: string): number {
  const n = int(v, where);
  if (n === 0) throw new SyntaxError(`${where} must be at least 1`);
  return n;
}

function date(v: unknown, where: string): Date {
  const t = typeof v === "string" ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) throw new SyntaxError(`${where} must be an RFC 3339 time, got ${show(v)}`);
  return new Date(t);
}

/** The key's bytes, or null for the zero key. */
function key(kind: KeyKind, v: unknown, where: string): Uint8Array | null {
  try {
    const k = parseKey(kind, str(v, where));
    return isZeroKey(k) ? null : k;
  } catch (e) {
    throw new SyntaxError(`${where}: ${oneLine((e as Error).message)}`);
  }
}

function ip(v: unknown, family: 4 | 6, where: string): string {
  let b: Uint8Array;
  try {
    b = parseIp(str(v, where));
  } catch (e) {
    throw new SyntaxError(`${where}: ${oneLine((e as Error).message)}`);
  }
  if (b.length !== (family === 4 ? 4 : 16)) {
    throw new SyntaxError(`${where} must be an IPv${family} address, got ${show(v)}`);
  }
  return formatIp(b);
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}
