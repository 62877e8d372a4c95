/**
 * Where the DERP server sends a client's packet: to the active local
 * connection of the destination key, else over the mesh route to the server
 * holding it, else nowhere (with a rate-limited PeerGone NotHere for disco
 * packets). A packet that arrived forwarded from a mesh peer is only ever
 * delivered locally.
 *
 * @module
 */

import {
  KEY_LEN,
  looksLikeDisco,
  MAX_PACKET_SIZE,
  PEER_GONE_NOT_HERE_BURST,
  PEER_GONE_NOT_HERE_PER_SEC,
  PeerGoneReason,
} from "./constants.ts";
import { keyId } from "./key_id.ts";
import { decodeForwardPacket, encodePeerGone } from "./messages.ts";
import type { DerpMetrics } from "./metrics.ts";
import type { ServerClient } from "./server_client.ts";
import type { ClientRegistry } from "./server_registry.ts";

/** Routes packets between the clients of one registry. */
export class PacketRouter {
  readonly #registry: ClientRegistry;
  readonly #metrics: DerpMetrics;

  /** A router over the registry's clients and mesh routes. */
  constructor(registry: ClientRegistry, metrics: DerpMetrics) {
    this.#registry = registry;
    this.#metrics = metrics;
  }

  /** A SendPacket frame from c (dst key ‖ packet); throws for a malformed one. */
  sendPacket(c: ServerClient, payload: Uint8Array): void {
    if (payload.length < KEY_LEN) throw new Error("SendPacket shorter than a key");
    const packet = payload.subarray(KEY_LEN);
    if (packet.length > MAX_PACKET_SIZE) {
      throw new Error(`SendPacket of ${packet.length} bytes is over the limit`);
    }
    const disco = looksLikeDisco(packet);
    this.#metrics.packetsRecv++;
    this.#metrics.bytesRecv += packet.length;
    if (disco) this.#metrics.packetsRecvDisco++;
    const dstId = keyId(payload.subarray(0, KEY_LEN));
    const dst = this.#registry.active(dstId);
    if (dst) {
      this.#deliver(dst, c.key, c.id, packet, disco);
      return;
    }
    const fwd = this.#registry.forwarderFor(dstId);
    if (fwd) {
      this.#metrics.packetsForwardedOut++;
      if (!fwd.forwardPacket(c.key, payload.subarray(0, KEY_LEN), packet)) {
        this.#metrics.drop("queue_tail", packet.length);
      }
      return;
    }
    this.#metrics.drop("unknown_dest", packet.length);
    if (disco) this.#peerGoneNotHere(c, payload.subarray(0, KEY_LEN));
  }

  /** A ForwardPacket frame from mesh peer c; throws for a malformed one or a non-mesh sender. */
  forwardPacket(c: ServerClient, payload: Uint8Array): void {
    if (!c.canMesh) throw new Error("ForwardPacket without the mesh key");
    const fp = decodeForwardPacket(payload);
    if (fp.packet.length > MAX_PACKET_SIZE) {
      throw new Error(`ForwardPacket of ${fp.packet.length} bytes is over the limit`);
    }
    this.#metrics.packetsForwardedIn++;
    const disco = looksLikeDisco(fp.packet);
    const dst = this.#registry.active(keyId(fp.dst));
    if (!dst) {
      // Never re-forward a forwarded packet: that could loop between servers.
      this.#metrics.drop("unknown_dest_on_fwd", fp.packet.length);
      if (disco) this.#peerGoneNotHere(c, fp.dst);
      return;
    }
    const src = fp.src.slice();
    this.#deliver(dst, src, keyId(src), fp.packet, disco);
  }

  #deliver(
    dst: ServerClient,
    src: Uint8Array,
    srcId: string,
    packet: Uint8Array,
    disco: boolean,
  ): void {
    dst.enqueuePacket(src, packet, disco);
    this.#registry.noteDelivery(dst, srcId);
  }

  #peerGoneNotHere(c: ServerClient, dst: Uint8Array): void {
    const now = Date.now();
    c.peerGoneTokens = Math.min(
      PEER_GONE_NOT_HERE_BURST,
      c.peerGoneTokens + (now - c.peerGoneRefillAt) / 1000 * PEER_GONE_NOT_HERE_PER_SEC,
    );
    c.peerGoneRefillAt = now;
    if (c.peerGoneTokens < 1) return;
    c.peerGoneTokens -= 1;
    if (c.enqueueControl(encodePeerGone(dst, PeerGoneReason.NotHere))) {
      this.#metrics.peerGoneNotHere++;
    }
  }
}
