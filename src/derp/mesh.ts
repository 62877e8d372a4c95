/**
 * Regional mesh: this server dials each `--mesh-with` peer with the mesh key,
 * watches its clients, and forwards packets for them.
 *
 * @module
 */

import { bytesEqual } from "../bytes/equal.ts";
import type { DerpMessage } from "./client.ts";
import { DerpLink } from "./link.ts";
import { keyFromId, keyId } from "./key_id.ts";
import type { DerpServer } from "./server.ts";
import type { PacketForwarder } from "./server_registry.ts";
import { shortKey } from "../key/node_key.ts";

/** Options of {@link MeshPeer}. */
export interface MeshPeerOptions {
  /** The local server. */
  server: DerpServer;
  /** The local server's private key (mesh links use the server identity). */
  privateKey: Uint8Array;
  /** The mesh pre-shared key. */
  meshKey: Uint8Array;
  /** Peer URL (`http://host:port/derp` or `https://…`). */
  url: string;
  /** `sha256-raw:` pin or cert name for TLS peers. */
  certName?: string;
  /** Skip TLS verification (tests only). */
  insecureForTests?: boolean;
  /** Log one line per event. */
  logf?: (line: string) => void;
}

/**
 * Turns a `--mesh-with` entry into a URL: a full http(s) URL is kept; `host[:port]`
 * becomes `scheme://host:port/derp` with the given default scheme and port.
 */
export function meshUrl(
  entry: string,
  defaultScheme: "http" | "https",
  defaultPort: number,
): string {
  const e = entry.trim();
  if (/^https?:\/\//.test(e)) return new URL(e).pathname === "/" ? new URL("/derp", e).href : e;
  const hasPort = /\]:\d+$/.test(e) || (/^[^:\[\]]+:\d+$/.test(e));
  const host = e.includes(":") && !e.startsWith("[") && !hasPort ? `[${e}]` : e;
  return `${defaultScheme}://${hasPort ? host : `${host}:${defaultPort}`}/derp`;
}

/** One mesh link to another DERP server of the region. */
export class MeshPeer implements PacketForwarder {
  /** The peer URL. */
  readonly name: string;
  readonly #server: DerpServer;
  readonly #link: DerpLink;
  readonly #keys = new Set<string>();
  readonly #logf: (line: string) => void;

  /** Creates and starts the link. */
  constructor(opts: MeshPeerOptions) {
    this.name = opts.url;
    this.#server = opts.server;
    this.#logf = opts.logf ?? (() => {});
    this.#link = new DerpLink({
      url: opts.url,
      privateKey: opts.privateKey,
      meshKey: opts.meshKey,
      certName: opts.certName,
      insecureForTests: opts.insecureForTests,
      watchConns: true,
      logf: this.#logf,
      onConnect: (c) => {
        if (bytesEqual(c.serverPublic, this.#server.publicKey)) {
          this.#logf(`derp mesh ${this.name}: that is this server; not meshing with itself`);
          void this.#link.close();
          return;
        }
        this.#logf(`derp mesh ${this.name}: connected to ${shortKey(c.serverPublic)}`);
      },
      onMessage: (m) => this.#onMessage(m),
      onDisconnect: () => this.#dropAll(),
    });
    this.#link.start();
  }

  /** Whether the mesh link is up. */
  get connected(): boolean {
    return this.#link.connected;
  }

  /** Remote keys currently routed through this peer. */
  get remoteKeys(): number {
    return this.#keys.size;
  }

  forwardPacket(src: Uint8Array, dst: Uint8Array, packet: Uint8Array): boolean {
    return this.#link.forward(src, dst, packet);
  }

  #onMessage(m: DerpMessage): void {
    if (m.type === "peerPresent") {
      const id = keyId(m.key);
      if (!this.#keys.has(id)) {
        this.#keys.add(id);
        this.#server.addPacketForwarder(m.key, this);
      }
    } else if (m.type === "peerGone") {
      const id = keyId(m.key);
      if (this.#keys.delete(id)) this.#server.removePacketForwarder(m.key, this);
    }
  }

  #dropAll(): void {
    for (const id of this.#keys) this.#server.removePacketForwarder(keyFromId(id), this);
    this.#keys.clear();
  }

  /** Closes the link and withdraws its routes. */
  async close(): Promise<void> {
    await this.#link.close();
    this.#dropAll();
  }
}
