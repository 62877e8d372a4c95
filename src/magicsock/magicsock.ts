/**
 * magicsock: the WireGuard device's Bind for a tailnet. WireGuard endpoints
 * are peers' node keys; magicsock decides how a packet reaches a peer — over
 * the peer's home DERP region today, over a direct UDP path once disco finds
 * one — and hands packets arriving on any path to the device with the
 * sender's node key as their endpoint.
 *
 * @module
 */
import { toHex } from "../key/node_key.ts";
import type { DERPMap } from "../netmap/tailcfg.ts";
import type { Bind, PacketReceiver } from "../wireguard/device.ts";
import { DerpLinks } from "./derp_links.ts";
import { looksLikeDisco } from "./demux.ts";

/** What magicsock needs to know about a peer from the netmap. */
export interface MagicPeer {
  /** WireGuard/DERP node public key. */
  nodeKey: Uint8Array;
  /** The peer's home DERP region, 0 if unknown. */
  homeDerp: number;
}

/** Per-peer path state. */
interface PeerPath {
  peer: MagicPeer;
  /** Region a packet from the peer last arrived through: the reply route if home is unknown. */
  learnedRegion: number;
  txPackets: number;
  rxPackets: number;
}

/** Options for {@link Magicsock}. */
export interface MagicsockOptions {
  /** Node private key (DERP identity). */
  privateKey: Uint8Array;
  /** Use plain HTTP for DERP. */
  plainHttp: boolean;
  /** One line per event. */
  log: (line: string) => void;
}

/** The tailnet Bind: routes WireGuard packets by peer node key over DERP. */
export class Magicsock implements Bind {
  readonly #derp: DerpLinks;
  readonly #byHex = new Map<string, PeerPath>();
  // Device endpoints are stable arrays per peer; identity lookups skip the hex key.
  #byEndpoint = new WeakMap<Uint8Array, PeerPath>();
  #receiver: PacketReceiver | null = null;
  /** Packets that could not be sent (no path yet), for status. */
  dropped = 0;

  /** Creates the socket layer; attach a receiver and set a DERP map to start. */
  constructor(opts: MagicsockOptions) {
    this.#derp = new DerpLinks({
      privateKey: opts.privateKey,
      plainHttp: opts.plainHttp,
      log: opts.log,
      onPacket: (region, src, data) => this.#receiveDerp(region, src, data),
    });
  }

  /** Where received WireGuard packets go (the device). */
  attach(receiver: PacketReceiver): void {
    this.#receiver = receiver;
  }

  /** The DERP links, for home selection and status. */
  get derp(): DerpLinks {
    return this.#derp;
  }

  /** Adopts the netmap's DERP map. */
  setDerpMap(map: DERPMap): void {
    this.#derp.setMap(map);
  }

  /** Replaces the peer set (keeps path state of peers that stay). */
  setPeers(peers: MagicPeer[]): void {
    const keep = new Set<string>();
    for (const peer of peers) {
      const hex = toHex(peer.nodeKey);
      keep.add(hex);
      const existing = this.#byHex.get(hex);
      if (existing) existing.peer = peer;
      else this.#byHex.set(hex, { peer, learnedRegion: 0, txPackets: 0, rxPackets: 0 });
    }
    for (const hex of [...this.#byHex.keys()]) if (!keep.has(hex)) this.#byHex.delete(hex);
    this.#byEndpoint = new WeakMap();
  }

  /** Sends WireGuard packets; `endpoints[i]` is the destination peer's node key. */
  send(
    bufs: Uint8Array[],
    sizes: number[],
    endpoints: Uint8Array[],
    count: number,
    offset: number,
  ): void {
    for (let i = 0; i < count; i++) {
      const path = this.#path(endpoints[i]);
      const region = path ? (path.peer.homeDerp || path.learnedRegion) : 0;
      if (
        region === 0 ||
        !this.#derp.send(region, endpoints[i], bufs[i].subarray(offset, offset + sizes[i]))
      ) {
        this.dropped++;
        continue;
      }
      path!.txPackets++;
    }
  }

  /** How packets to `nodeKey` travel now: "derp-<region>", or "none". */
  pathOf(nodeKey: Uint8Array): string {
    const path = this.#byHex.get(toHex(nodeKey));
    const region = path ? (path.peer.homeDerp || path.learnedRegion) : 0;
    return region ? `derp-${region}` : "none";
  }

  /** Periodic housekeeping: closes idle DERP links. */
  tick(): void {
    this.#derp.sweep();
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    await this.#derp.close();
  }

  #path(endpoint: Uint8Array): PeerPath | undefined {
    let p = this.#byEndpoint.get(endpoint);
    if (p === undefined) {
      p = this.#byHex.get(toHex(endpoint));
      if (p !== undefined) this.#byEndpoint.set(endpoint, p);
    }
    return p;
  }

  #receiveDerp(region: number, src: Uint8Array, data: Uint8Array): void {
    if (looksLikeDisco(data)) return; // disco arrives with direct paths (issue 5)
    const path = this.#byHex.get(toHex(src));
    if (path) {
      path.learnedRegion = region;
      path.rxPackets++;
    }
    this.#receiver?.receivePackets([data], [data.length], [src], 1);
  }
}
