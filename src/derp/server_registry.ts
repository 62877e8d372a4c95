/**
 * Who the DERP server can reach and who must hear when that changes: local
 * clients by key (several connections per key, the latest writer active),
 * mesh peers watching connections (PeerPresent/PeerGone), senders to tell
 * when a key leaves the region, and mesh routes to keys on other servers.
 *
 * @module
 */

import { PeerGoneReason, PeerPresentFlags } from "./constants.ts";
import { keyId } from "./key_id.ts";
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

interface ClientSet {
  clients: ServerClient[];
  active: ServerClient;
}

/** The server's clients, watchers and mesh routes, by key id (see key_id.ts). */
export class ClientRegistry {
  readonly #clients = new Map<string, ClientSet>();
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
    let n = 0;
    for (const s of this.#clients.values()) n += s.clients.length;
    return n;
  }

  /** Point-in-time gauges for /metrics and the status page. */
  gauges(): Record<string, number> {
    let conns = 0, dupKeys = 0, home = 0, mesh = 0;
    for (const s of this.#clients.values()) {
      conns += s.clients.length;
      if (s.clients.length > 1) dupKeys++;
      for (const c of s.clients) {
        if (c.preferred) home++;
        if (c.canMesh) mesh++;
      }
    }
    return {
      clients: conns,
      client_keys: this.#clients.size,
      home_clients: home,
      dup_client_keys: dupKeys,
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
    return this.#clients.get(id)?.active;
  }

  /** Every local connection, key by key. */
  *clients(): Generator<ServerClient> {
    for (const set of this.#clients.values()) yield* set.clients;
  }

  /** A frame from c makes it the active connection of its key (last writer wins). */
  noteWriter(c: ServerClient): void {
    const set = this.#clients.get(c.id);
    if (set && set.clients.length > 1 && set.active !== c) set.active = c;
  }

  /** The mesh route to the key id (the newest one), if another server holds it. */
  forwarderFor(id: string): PacketForwarder | undefined {
    const fwds = this.#forwarders.get(id);
    return fwds && fwds.length > 0 ? fwds[fwds.length - 1] : undefined;
  }

  /** Adds a handshaken connection (the newest of its key is active) and tells watchers. */
  register(c: ServerClient): void {
    const set = this.#clients.get(c.id);
    if (set) {
      set.clients.push(c);
      set.active = c;
      this.#logf(
        `derp: client ${
          shortKey(c.key)
        } ${c.remoteAddr} connected again (${set.clients.length} connections for this key; newest is active)`,
      );
    } else {
      this.#clients.set(c.id, { clients: [c], active: c });
      this.#logf(
        `derp: client ${shortKey(c.key)} ${c.remoteAddr} connected${
          c.canMesh ? " (mesh peer)" : ""
        }`,
      );
    }
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
    const set = this.#clients.get(c.id);
    if (!set) return;
    const i = set.clients.indexOf(c);
    if (i < 0) return;
    set.clients.splice(i, 1);
    if (set.clients.length > 0) {
      if (set.active === c) set.active = set.clients[set.clients.length - 1];
      return;
    }
    this.#clients.delete(c.id);
    if (!this.#forwarders.has(c.id)) this.#notePeerGoneFromRegion(c.id, c.key);
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
    for (const set of this.#clients.values()) {
      const a = set.active;
      c.enqueueControl(encodePeerPresent(a.key, a.remoteIp16, a.remotePort, presentFlags(a)));
    }
    this.#watchers.add(c);
    this.#logf(`derp: mesh peer ${shortKey(c.key)} ${c.remoteAddr} is watching connections`);
  }

  /** Closes every connection of key, as mesh peer `by` asked. */
  closePeer(by: ServerClient, key: Uint8Array): void {
    const set = this.#clients.get(keyId(key));
    if (!set) return;
    this.#logf(`derp: mesh peer ${shortKey(by.key)} closed client ${shortKey(key)}`);
    for (const c of [...set.clients]) c.close();
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
  if (c.info.IsProber) f |= PeerPresentFlags.IsProber;
  if (c.canMesh) f |= PeerPresentFlags.IsMeshPeer;
  if (f === 0) f |= PeerPresentFlags.IsRegular;
  if (c.notIdeal) f |= PeerPresentFlags.NotIdeal;
  return f;
}
