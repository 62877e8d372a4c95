/**
 * Who the DERP server can reach and who must hear when that changes: local
 * clients by key (several connections per key, the latest writer active),
 * mesh peers watching connections (PeerPresent/PeerGone), senders to tell
 * when a key leaves the region, and mesh routes to keys on other servers.
 *
 * @module
 */

import { PeerGoneReason, PeerPresentFlags } from "./constants.ts";
import { keyId, shortKeyOfId } from "./key_id.ts";
import { encodePeerGone, encodePeerPresent } from "./messages.ts";
import type { DerpMetrics } from "./metrics.ts";
import type { ServerClient } from "./server_client.ts";
import { shortKey } from "../key/node_key.ts";

/** Something that can carry a packet to a key connected to another server of the mesh. */
export interface PacketForwarder {
  /** Sends src→dst packet towards the server holding dst; returns false if it was dropped. */
  forwardPacket(src: Uint8Array, dst: Uint8Array, packet: Uint8Array): boolean;
  /** A name for logs. */
  readonly name: string;
}

/** The server's clients, watchers and mesh routes, by key id (see key_id.ts). */
export class ClientRegistry {
  /** The active connection of each key connected here. */
  readonly #clients = new Map<string, ServerClient>();
  /**
   * Every connection of the keys that have more than one (the active one included). Kept
   * apart because duplicates are rare: the common key costs one map entry and no array.
   */
  readonly #dups = new Map<string, ServerClient[]>();
  readonly #forwarders = new Map<string, PacketForwarder[]>();
  readonly #peerGoneWatchers = new Map<string, Set<ServerClient>>();
  readonly #watchers = new Set<ServerClient>();
  readonly #selfId: string;
  readonly #metrics: DerpMetrics;
  readonly #logf: (line: string) => void;

  /** An empty registry for the server whose own key id is selfId. */
  constructor(selfId: string, metrics: DerpMetrics, logf: (line: string) => void) {
    this.#selfId = selfId;
    this.#metrics = metrics;
    this.#logf = logf;
  }

  /** Distinct client keys connected locally. */
  get clientKeys(): number {
    return this.#clients.size;
  }

  /** Client connections (duplicates included). */
  get clientConns(): number {
    let n = this.#clients.size;
    for (const list of this.#dups.values()) n += list.length - 1;
    return n;
  }

  /** Point-in-time gauges for /metrics and the status page. */
  gauges(): Record<string, number> {
    let conns = 0, home = 0, mesh = 0;
    this.forEachClient((c) => {
      conns++;
      if (c.preferred) home++;
      if (c.canMesh) mesh++;
    });
    return {
      clients: conns,
      client_keys: this.#clients.size,
      home_clients: home,
      dup_client_keys: this.#dups.size,
      mesh_peers_connected: mesh,
      mesh_watchers: this.#watchers.size,
      mesh_remote_keys: this.#forwarders.size,
    };
  }

  /** Whether the key id has a local connection. */
  has(id: string): boolean {
    return this.#clients.has(id);
  }

  /** The connection that receives packets for the key id, if it is connected here. */
  active(id: string): ServerClient | undefined {
    return this.#clients.get(id);
  }

  /**
   * Calls fn for every local connection (without the per-item garbage of {@link clients}:
   * the keep-alive sweep visits every client each second). fn may close the client.
   */
  forEachClient(fn: (c: ServerClient) => void): void {
    if (this.#dups.size === 0) {
      for (const c of this.#clients.values()) fn(c);
      return;
    }
    for (const c of [...this.clients()]) fn(c);
  }

  /** Every local connection, key by key. */
  *clients(): Generator<ServerClient> {
    for (const [id, c] of this.#clients) {
      const list = this.#dups.get(id);
      if (list) yield* list;
      else yield c;
    }
  }

  /** A frame from c makes it the active connection of its key (last writer wins). */
  noteWriter(c: ServerClient): void {
    if (this.#dups.size === 0) return;
    if (this.#dups.has(c.id) && this.#clients.get(c.id) !== c) this.#clients.set(c.id, c);
  }

  /** The mesh route to the key id (the newest one), if another server holds it. */
  forwarderFor(id: string): PacketForwarder | undefined {
    const fwds = this.#forwarders.get(id);
    return fwds && fwds.length > 0 ? fwds[fwds.length - 1] : undefined;
  }

  /** Adds a handshaken connection (the newest of its key is active) and tells watchers. */
  register(c: ServerClient): void {
    const prev = this.#clients.get(c.id);
    this.#clients.set(c.id, c);
    if (prev) {
      let list = this.#dups.get(c.id);
      if (!list) this.#dups.set(c.id, list = [prev]);
      list.push(c);
      this.#logf(
        `derp: client ${
          shortKeyOfId(c.id)
        } ${c.remoteAddr} connected again (${list.length} connections for this key; newest is active)`,
      );
    } else {
      this.#logf(
        `derp: client ${shortKeyOfId(c.id)} ${c.remoteAddr} connected${
          c.canMesh ? " (mesh peer)" : ""
        }`,
      );
    }
    if (this.#watchers.size === 0) return;
    const frame = encodePeerPresent(c.key, c.remoteIp16, c.remotePort, presentFlags(c));
    for (const w of this.#watchers) w.enqueueControl(frame);
  }

  /**
   * Removes a connection. When it was its key's last, watchers hear PeerGone, and so do
   * the key's correspondents unless a mesh route still reaches it.
   */
  unregister(c: ServerClient): void {
    this.#watchers.delete(c);
    for (const srcId of c.watching ?? []) {
      const w = this.#peerGoneWatchers.get(srcId);
      if (w) {
        w.delete(c);
        if (w.size === 0) this.#peerGoneWatchers.delete(srcId);
      }
    }
    c.watching = null;
    const list = this.#dups.get(c.id);
    if (list) {
      const i = list.indexOf(c);
      if (i < 0) return;
      list.splice(i, 1);
      if (this.#clients.get(c.id) === c) this.#clients.set(c.id, list[list.length - 1]);
      if (list.length === 1) this.#dups.delete(c.id);
      return;
    }
    if (this.#clients.get(c.id) !== c) return;
    this.#clients.delete(c.id);
    if (!this.#forwarders.has(c.id)) this.#notePeerGoneFromRegion(c.id, c.key);
    if (this.#watchers.size === 0) return;
    const frame = encodePeerGone(c.key, PeerGoneReason.Disconnected);
    for (const w of this.#watchers) w.enqueueControl(frame);
  }

  /** Records that dst got a packet from srcId, so dst hears PeerGone when srcId leaves. */
  noteDelivery(dst: ServerClient, srcId: string): void {
    const watching = dst.watching ??= new Set();
    if (!watching.has(srcId)) {
      watching.add(srcId);
      let w = this.#peerGoneWatchers.get(srcId);
      if (!w) this.#peerGoneWatchers.set(srcId, w = new Set());
      w.add(dst);
    }
  }

  #notePeerGoneFromRegion(id: string, key: Uint8Array): void {
    const w = this.#peerGoneWatchers.get(id);
    if (!w) return;
    this.#peerGoneWatchers.delete(id);
    const frame = encodePeerGone(key, PeerGoneReason.Disconnected);
    for (const dst of w) {
      dst.watching?.delete(id);
      if (dst.enqueueControl(frame)) this.#metrics.peerGoneDisconnected++;
    }
  }

  /** Makes mesh peer c a watcher: PeerPresent for everyone connected now, then every change. */
  addWatcher(c: ServerClient): void {
    if (c.id === this.#selfId) return; // our own mesh client dialled us
    for (const a of this.#clients.values()) {
      c.enqueueControl(encodePeerPresent(a.key, a.remoteIp16, a.remotePort, presentFlags(a)));
    }
    this.#watchers.add(c);
    this.#logf(`derp: mesh peer ${shortKeyOfId(c.id)} ${c.remoteAddr} is watching connections`);
  }

  /** Closes every connection of key, as mesh peer `by` asked. */
  closePeer(by: ServerClient, key: Uint8Array): void {
    const id = keyId(key);
    const active = this.#clients.get(id);
    if (!active) return;
    this.#logf(`derp: mesh peer ${shortKeyOfId(by.id)} closed client ${shortKey(key)}`);
    for (const c of [...(this.#dups.get(id) ?? [active])]) c.close();
  }

  /** Registers a mesh route: key is reachable through fwd. */
  addForwarder(key: Uint8Array, fwd: PacketForwarder): void {
    const id = keyId(key);
    const list = this.#forwarders.get(id);
    if (!list) this.#forwarders.set(id, [fwd]);
    else if (!list.includes(fwd)) list.push(fwd);
  }

  /** Removes a mesh route; if the key is then nowhere in the region, its senders get PeerGone. */
  removeForwarder(key: Uint8Array, fwd: PacketForwarder): void {
    const id = keyId(key);
    const list = this.#forwarders.get(id);
    if (!list) return;
    const i = list.indexOf(fwd);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length > 0) return;
    this.#forwarders.delete(id);
    if (!this.#clients.has(id)) this.#notePeerGoneFromRegion(id, key.slice());
  }
}

function presentFlags(c: ServerClient): number {
  let f = 0;
  if (c.isProber) f |= PeerPresentFlags.IsProber;
  if (c.canMesh) f |= PeerPresentFlags.IsMeshPeer;
  if (f === 0) f |= PeerPresentFlags.IsRegular;
  if (c.notIdeal) f |= PeerPresentFlags.NotIdeal;
  return f;
}
