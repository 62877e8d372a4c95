/**
 * magicsock: the WireGuard device's Bind for a tailnet. WireGuard endpoints
 * are peers' node keys; magicsock decides how each packet reaches a peer —
 * over a direct UDP path that disco has verified, over the peer's home DERP
 * region, or both while a path is in doubt — and hands packets arriving on
 * any path to the device with the sender's node key as their endpoint, so
 * switching paths never touches the WireGuard session.
 *
 * @module
 */
import { endpointFromIp, endpointIp, endpointPort } from "../../ffi/udp.ts";
import { publicKeyFrom } from "../crypto/x25519.ts";
import { type AddrPort, addrPort, formatAddrPort, parseAddrPort } from "../disco/addr.ts";
import { openDisco, sealDisco } from "../disco/codec.ts";
import type { DiscoPeer } from "./disco_peer.ts";
import { toHex } from "../bytes/hex.ts";
import { bytesEqual } from "../bytes/equal.ts";
import { PeerPath } from "../disco/path.ts";
import type { DiscoAction, DiscoVia } from "../disco/path_types.ts";
import type { DiscoTunables } from "../disco/tunables.ts";
import type { DERPMap } from "../netmap/tailcfg.ts";
import type { Bind, PacketReceiver } from "../wireguard/device.ts";
import { DerpLinks } from "./derp_links.ts";
import { looksLikeDisco } from "../disco/codec.ts";

/** What magicsock needs to know about a peer from the netmap. */
export interface MagicPeer {
  /** WireGuard/DERP node public key. */
  nodeKey: Uint8Array;
  /** The peer's home DERP region, 0 if unknown. */
  homeDerp: number;
  /** The peer's disco key, null if it does not do disco (DERP only). */
  discoKey?: Uint8Array | null;
  /** The peer's UDP endpoints from the netmap ("ip:port"). */
  endpoints?: string[];
}

/**
 * magicsock's UDP socket: {@linkcode UdpConn}, or, when the data plane runs in a Worker that
 * reads the socket, a front that sends on the same fd and forwards the address bookkeeping.
 */
export interface MagicUdp {
  /** Sends datagrams; `to[i]` is a 28-byte sockaddr. */
  send(bufs: Uint8Array[], sizes: number[], to: Uint8Array[], count: number, offset: number): void;
  /** Sends one datagram. */
  sendOne(packet: Uint8Array, to: Uint8Array): void;
  /** Datagrams from `addr` are from the peer with `nodeKey`. */
  setPeerAddr(addr: Uint8Array, nodeKey: Uint8Array): void;
  /** Forgets every address of the peer. */
  forgetPeer(nodeKey: Uint8Array): void;
  /** Where received WireGuard packets go. */
  attach(receiver: PacketReceiver): void;
}

/** Options for {@link Magicsock}. */
export interface MagicsockOptions {
  /** Node private key (DERP identity, and the node key pings carry). */
  privateKey: Uint8Array;
  /** Use plain HTTP for DERP. */
  plainHttp: boolean;
  /** One line per event. */
  log: (line: string) => void;
  /** The UDP socket for direct paths; without it everything goes over DERP. */
  udp?: MagicUdp | null;
  /** This run's disco private key (required with `udp`). */
  discoPrivate?: Uint8Array;
  /** Disco timing. */
  tunables?: Partial<DiscoTunables>;
  /** Monotonic clock, ms. */
  now?: () => number;
  /** Resolves DERP host names (warren's own resolver). */
  resolveHost?: (host: string) => Promise<string | null>;
  /**
   * Runs {@link Magicsock.tick} when a disco timer is due (default: a `setTimeout` on
   * {@link MagicsockOptions.now}'s clock); tests that drive the clock pass `false` and tick.
   */
  timers?: boolean;
  /**
   * Told each peer's send path whenever it changes — a direct sockaddr or null, and whether
   * DERP carries the packets too — for a data plane that sends without calling
   * {@linkcode Magicsock.send} (it reports activity with {@linkcode Magicsock.noteSend} and
   * hands DERP's share to {@linkcode Magicsock.sendDerp}).
   */
  onSendPath?: (nodeKey: Uint8Array, udp: Uint8Array | null, derp: boolean) => void;
}

/** A path report for status. */
export interface PathReport {
  /** "direct", "derp", or "none". */
  kind: "direct" | "derp" | "none";
  /** "ip:port" for direct, "derp-<region>" for DERP. */
  path: string;
  /** The disco state ("unknown", "probing", "direct", "degraded", "relay-only"), or "derp-only". */
  state: string;
  /** Last measured direct latency, ms. */
  latencyMs: number | null;
}

/** The result of a user-requested disco ping. */
export interface PingResult {
  /** "ip:port" or "derp-<region>" the pong came over. */
  via: string;
  /** Round trip, ms. */
  latencyMs: number;
}

/** The tailnet Bind: routes WireGuard packets by peer node key over UDP or DERP. */
export class Magicsock implements Bind {
  readonly #opts: MagicsockOptions;
  readonly #derp: DerpLinks;
  readonly #udp: MagicUdp | null;
  readonly #discoPriv: Uint8Array | null;
  readonly #discoPub: Uint8Array | null;
  readonly #nodePub: Uint8Array;
  readonly #now: () => number;
  readonly #byHex = new Map<string, DiscoPeer>();
  readonly #byDisco = new Map<string, DiscoPeer>();
  // Device endpoints are stable arrays per peer; identity lookups skip the hex key.
  #byEndpoint = new WeakMap<Uint8Array, DiscoPeer>();
  readonly #sockaddrs = new Map<string, Uint8Array>();
  readonly #userPings = new Map<string, (r: PingResult) => void>();
  #receiver: PacketReceiver | null = null;
  /** The armed disco timer and when it fires ({@link MagicsockOptions.now} ms). */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #localEndpoints: AddrPort[] = [];
  #sendStamp = 0;
  // UDP output batch, reused.
  readonly #uBufs: Uint8Array[] = [];
  readonly #uSizes: number[] = [];
  readonly #uAddrs: Uint8Array[] = [];
  /** Packets that could not be sent (no path yet), for status. */
  dropped = 0;

  /** Creates the socket layer; attach a receiver and set a DERP map to start. */
  constructor(opts: MagicsockOptions) {
    this.#opts = opts;
    this.#udp = opts.udp ?? null;
    this.#discoPriv = opts.discoPrivate ?? null;
    this.#discoPub = this.#discoPriv ? publicKeyFrom(this.#discoPriv) : null;
    this.#nodePub = publicKeyFrom(opts.privateKey);
    this.#now = opts.now ?? (() => performance.now());
    this.#derp = new DerpLinks({
      privateKey: opts.privateKey,
      plainHttp: opts.plainHttp,
      log: opts.log,
      onPacket: (region, src, data) => this.#receiveDerp(region, src, data),
      resolveHost: opts.resolveHost,
    });
  }

  /**
   * Where received WireGuard packets go (the device). DERP's arrive outside the data-plane
   * loop, so `derpReceiver` may wrap `receiver` to wake it (the device may have set a timer).
   */
  attach(receiver: PacketReceiver, derpReceiver: PacketReceiver = receiver): void {
    this.#receiver = derpReceiver;
    this.#udp?.attach(receiver);
  }

  /** The DERP links, for home selection and status. */
  get derp(): DerpLinks {
    return this.#derp;
  }

  /** Our disco public key, null without UDP. */
  get discoPublic(): Uint8Array | null {
    return this.#discoPub;
  }

  /** Adopts the netmap's DERP map. */
  setDerpMap(map: DERPMap): void {
    this.#derp.setMap(map);
  }

  /** Our current endpoints (sent to peers in CallMeMaybe). */
  setLocalEndpoints(endpoints: string[]): void {
    this.#localEndpoints = endpoints.flatMap((e) => {
      try {
        return [parseAddrPort(e)];
      } catch {
        return [];
      }
    });
  }

  /** Replaces the peer set, keeping path state of peers whose disco key stays the same. */
  setPeers(peers: MagicPeer[]): void {
    const now = this.#now();
    const keep = new Set<string>();
    for (const peer of peers) {
      const hex = toHex(peer.nodeKey);
      keep.add(hex);
      let st = this.#byHex.get(hex);
      const disco = this.#udp && peer.discoKey ? peer.discoKey : null;
      if (st && !sameKey(st.discoKey, disco)) {
        this.#forget(st);
        st = undefined;
      }
      if (!st) {
        st = {
          peer,
          nodeKey: peer.nodeKey,
          discoKey: disco,
          path: disco ? new PeerPath({ tunables: this.#opts.tunables }) : null,
          learnedRegion: 0,
          stamp: -1,
          sendUdp: null,
          sendDerp: true,
          published: null,
        };
        this.#byHex.set(hex, st);
        if (disco) this.#byDisco.set(toHex(disco), st);
      }
      st.peer = peer;
      if (st.path) {
        const eps = (peer.endpoints ?? []).flatMap((e) => {
          try {
            return [parseAddrPort(e)];
          } catch {
            return [];
          }
        });
        this.#perform(st, st.path.setEndpoints(now, eps));
      } else this.#publish(st, now);
    }
    for (const [hex, st] of [...this.#byHex]) {
      if (!keep.has(hex)) {
        this.#forget(st);
        this.#byHex.delete(hex);
      }
    }
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
    const now = this.#now();
    const stamp = ++this.#sendStamp;
    let u = 0;
    for (let i = 0; i < count; i++) {
      const st = this.#lookup(endpoints[i]);
      if (!st) {
        this.dropped++;
        continue;
      }
      // The path is decided once per batch and peer, not per packet: a batch is one instant.
      if (st.stamp !== stamp) {
        st.stamp = stamp;
        st.sendUdp = null;
        st.sendDerp = true;
        if (st.path) {
          this.#perform(st, st.path.noteSend(now));
          const sp = st.path.sendPath(now);
          if (sp.udp) st.sendUdp = this.#sockaddr(sp.udp);
          st.sendDerp = sp.derp;
        }
      }
      if (st.sendUdp !== null) {
        this.#uBufs[u] = bufs[i];
        this.#uSizes[u] = sizes[i];
        this.#uAddrs[u] = st.sendUdp;
        u++;
      }
      if (st.sendDerp) {
        const region = st.peer.homeDerp || st.learnedRegion;
        const pkt = bufs[i].subarray(offset, offset + sizes[i]);
        if (region === 0 || !this.#derp.send(region, st.nodeKey, pkt)) this.dropped++;
      }
    }
    if (u > 0) this.#udp!.send(this.#uBufs, this.#uSizes, this.#uAddrs, u, offset);
  }

  /**
   * A data plane elsewhere sent WireGuard packets to `nodeKey` (see
   * {@linkcode MagicsockOptions.onSendPath}): keeps the session active and runs discovery
   * as {@linkcode send} would.
   */
  noteSend(nodeKey: Uint8Array): void {
    const st = this.#byHex.get(toHex(nodeKey));
    if (st?.path) this.#perform(st, st.path.noteSend(this.#now()));
  }

  /** Sends a WireGuard datagram to `nodeKey` over its DERP region (a plane elsewhere's share). */
  sendDerp(nodeKey: Uint8Array, pkt: Uint8Array): void {
    const st = this.#byHex.get(toHex(nodeKey));
    const region = st ? st.peer.homeDerp || st.learnedRegion : 0;
    if (region === 0 || !this.#derp.send(region, st!.nodeKey, pkt)) this.dropped++;
  }

  /** How packets to `nodeKey` travel now. */
  pathOf(nodeKey: Uint8Array): PathReport {
    const st = this.#byHex.get(toHex(nodeKey));
    if (!st) return { kind: "none", path: "none", state: "unknown", latencyMs: null };
    const region = st.peer.homeDerp || st.learnedRegion;
    const derp = region ? `derp-${region}` : "none";
    if (!st.path) {
      return { kind: region ? "derp" : "none", path: derp, state: "derp-only", latencyMs: null };
    }
    const sp = st.path.sendPath(this.#now());
    const best = st.path.best;
    const direct = sp.udp !== null && !sp.derp;
    return {
      kind: direct ? "direct" : region ? "derp" : "none",
      path: direct && best ? formatAddrPort(best) : derp,
      state: st.path.state,
      latencyMs: st.path.bestLatency,
    };
  }

  /**
   * Sends a disco ping to every known address of the peer and over DERP, and
   * resolves with the first pong (like `tailscale ping`), or null on timeout.
   */
  ping(nodeKey: Uint8Array, timeoutMs = 5000): Promise<PingResult | null> {
    const st = this.#byHex.get(toHex(nodeKey));
    if (!st || !st.discoKey || !this.#discoPriv) return Promise.resolve(null);
    const txId = crypto.getRandomValues(new Uint8Array(12));
    const key = toHex(txId);
    const started = this.#now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#userPings.delete(key);
        resolve(null);
      }, timeoutMs);
      this.#userPings.set(key, (r) => {
        clearTimeout(timer);
        this.#userPings.delete(key);
        resolve({ ...r, latencyMs: this.#now() - started });
      });
      const pkt = this.#seal(st, { type: "ping", txId, nodeKey: this.#nodePub, padding: 0 });
      for (const c of st.path?.candidates() ?? []) this.#udp?.sendOne(pkt, this.#sockaddr(c.addr));
      const region = st.peer.homeDerp || st.learnedRegion;
      if (region) this.#derp.send(region, st.nodeKey, pkt);
    });
  }

  /**
   * Runs the disco timers that are due (heartbeats, probe timeouts, state changes). Magicsock
   * arms its own timer for the next one, as tailscaled's endpoints do, so an idle node does
   * not wake for nothing; calling this at any other time is harmless.
   */
  tick(): void {
    const now = this.#now();
    for (const st of this.#byHex.values()) {
      if (st.path) this.#perform(st, st.path.tick(now));
    }
  }

  /**
   * Our network changed (a link or address came or went): every direct path is in doubt, so
   * each peer goes back to DERP and probes its candidates afresh, as tailscaled resets its
   * endpoint states on a link change.
   */
  resetPaths(): void {
    const now = this.#now();
    for (const st of this.#byHex.values()) {
      if (st.path) this.#perform(st, st.path.reset(now));
    }
  }

  /** Housekeeping that can wait: closes DERP links idle for a minute. */
  sweep(): void {
    this.#derp.sweep();
  }

  /** Handles a disco message that arrived over UDP from `from` (a sockaddr). */
  receiveUdpDisco(buf: Uint8Array, from: Uint8Array): void {
    const opened = this.#open(buf);
    if (!opened) return;
    const { st, msg } = opened;
    const addr = addrPort(endpointIp(from), endpointPort(from));
    const via: DiscoVia = { kind: "udp", addr };
    if (msg.type === "call-me-maybe") return; // only honoured via DERP
    // The box proves the sender holds the peer's disco key: this address is theirs.
    this.#udp?.setPeerAddr(from.slice(), st.nodeKey);
    this.#handle(st, msg, via);
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = -Infinity; // nothing arms it again
    for (const resolve of this.#userPings.values()) resolve({ via: "none", latencyMs: NaN });
    this.#userPings.clear();
    await this.#derp.close();
  }

  #lookup(endpoint: Uint8Array): DiscoPeer | undefined {
    let st = this.#byEndpoint.get(endpoint);
    if (st === undefined) {
      st = this.#byHex.get(toHex(endpoint));
      if (st !== undefined) this.#byEndpoint.set(endpoint, st);
    }
    return st;
  }

  #forget(st: DiscoPeer): void {
    if (st.discoKey) this.#byDisco.delete(toHex(st.discoKey));
    this.#udp?.forgetPeer(st.nodeKey);
  }

  #sockaddr(a: AddrPort): Uint8Array {
    const k = formatAddrPort(a);
    let s = this.#sockaddrs.get(k);
    if (!s) {
      if (this.#sockaddrs.size > 4096) this.#sockaddrs.clear();
      s = endpointFromIp(a.ip, a.port);
      this.#sockaddrs.set(k, s);
    }
    return s;
  }

  #seal(st: DiscoPeer, msg: Parameters<typeof sealDisco>[3]): Uint8Array {
    return sealDisco(this.#discoPriv!, this.#discoPub!, st.discoKey!, msg);
  }

  #open(buf: Uint8Array) {
    if (!this.#discoPriv) return null;
    const opened = openDisco(buf, this.#discoPriv, (k) => this.#byDisco.has(toHex(k)));
    if (!opened) return null;
    const st = this.#byDisco.get(toHex(opened.sender));
    return st ? { st, msg: opened.msg } : null;
  }

  #handle(st: DiscoPeer, msg: NonNullable<ReturnType<typeof openDisco>>["msg"], via: DiscoVia) {
    const now = this.#now();
    if (msg.type === "ping") {
      this.#perform(st, st.path!.handlePing(now, msg.txId, via));
    } else if (msg.type === "pong") {
      const user = this.#userPings.get(toHex(msg.txId));
      if (user) {
        user({
          via: via.kind === "udp" ? formatAddrPort(via.addr) : `derp-${via.region}`,
          latencyMs: 0,
        });
        // A direct answer proves a path: let the path machine verify it now rather than later.
        if (via.kind === "udp" && st.path!.state !== "direct") {
          this.#perform(st, st.path!.probe(now));
        }
        return;
      }
      const actions = st.path!.handlePong(now, msg.txId, via);
      if (actions) this.#perform(st, actions);
    } else if (via.kind === "derp") {
      this.#perform(st, st.path!.handleCallMeMaybe(now, msg.endpoints));
    }
  }

  /** Tells {@linkcode MagicsockOptions.onSendPath} of a change in `st`'s send path. */
  #publish(st: DiscoPeer, now: number): void {
    const tell = this.#opts.onSendPath;
    if (!tell) return;
    const sp = st.path?.sendPath(now);
    const udp = sp?.udp ? this.#sockaddr(sp.udp) : null, derp = sp?.derp ?? true;
    const was = st.published;
    if (was !== null && was.udp === udp && was.derp === derp) return;
    st.published = { udp, derp };
    tell(st.nodeKey, udp, derp);
  }

  /** Arms the timer for `st`'s next deadline if it is sooner than the one armed. */
  #arm(st: DiscoPeer): void {
    if (this.#opts.timers === false) return;
    let at = st.path?.nextTimerAt() ?? null;
    // A plane told "UDP only" must hear when that trust runs out, even with nothing else due.
    if (st.published?.derp === false && st.path) {
      const trust = st.path.trustedUntil + 1;
      at = at === null ? trust : Math.min(at, trust);
    }
    if (at === null || at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.tick();
      // tick() re-armed each peer's deadline through #perform.
    }, Math.max(1, Math.ceil(at - this.#now())));
  }

  #perform(st: DiscoPeer, actions: readonly DiscoAction[]): void {
    this.#publish(st, this.#now());
    this.#arm(st);
    for (const a of actions) {
      switch (a.kind) {
        case "ping": {
          const pkt = this.#seal(st, {
            type: "ping",
            txId: a.txId,
            nodeKey: this.#nodePub,
            padding: 0,
          });
          this.#udp?.sendOne(pkt, this.#sockaddr(a.to));
          break;
        }
        case "call-me-maybe": {
          const region = st.peer.homeDerp || st.learnedRegion;
          if (region === 0 || this.#localEndpoints.length === 0) break;
          const pkt = this.#seal(st, { type: "call-me-maybe", endpoints: this.#localEndpoints });
          this.#derp.send(region, st.nodeKey, pkt);
          break;
        }
        case "pong": {
          const pkt = this.#seal(st, { type: "pong", txId: a.txId, src: a.src });
          if (a.via.kind === "udp") this.#udp?.sendOne(pkt, this.#sockaddr(a.via.addr));
          else this.#derp.send(a.via.region, st.nodeKey, pkt);
          break;
        }
        case "path":
          this.#opts.log(
            `peer ${toHex(st.nodeKey).slice(0, 8)}: ` +
              `${a.previousState} → ${a.state}` +
              (a.best ? ` via ${formatAddrPort(a.best)}` : "") +
              (a.latency !== null ? ` (${a.latency.toFixed(1)} ms)` : ""),
          );
          break;
      }
    }
  }

  #receiveDerp(region: number, src: Uint8Array, data: Uint8Array): void {
    const st = this.#byHex.get(toHex(src));
    if (st) st.learnedRegion = region;
    if (looksLikeDisco(data)) {
      const opened = this.#open(data);
      // Over DERP the sender's node key is authenticated by the relay: it must match the disco key's owner.
      if (!opened || !sameKey(opened.st.nodeKey, src) || !opened.st.path) return;
      this.#handle(opened.st, opened.msg, { kind: "derp", region });
      return;
    }
    this.#receiver?.receivePackets([data], [data.length], [st?.nodeKey ?? src], 1);
  }
}

function sameKey(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a === null || b === null ? a === b : bytesEqual(a, b);
}
