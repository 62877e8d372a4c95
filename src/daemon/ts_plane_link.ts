/**
 * The node's side of a tailnet data plane that runs in a Worker (`ts_plane.ts`): what the
 * engine, magicsock and the node call — add a peer, a peer's send path, the filter, a packet
 * from DERP — becomes a ring record for the Worker, and what the Worker posts up — packets for
 * DERP, disco and STUN datagrams, quad-100 queries, activity — goes to the node's handlers.
 *
 * @module
 */
import { ByteRing } from "../net/byte_ring.ts";
import { RingQueue } from "../net/ring_queue.ts";
import type { PacketReceiver } from "../wireguard/device.ts";
import { PlaneThread } from "./plane_thread.ts";
import {
  commandRecords,
  type FromTsPlane,
  type PlaneCommand,
  RecordKind,
  type TsPlaneSpec,
  type TsPlaneStatus,
} from "./ts_plane_messages.ts";

/**
 * Bytes of the ring: ~380 DERP packets, or a packet filter's rules of up to this size (a
 * command is one record). Only what traffic has touched is resident.
 */
export const RING_BYTES = 512 * 1024;
/** The first byte of a WireGuard packet's record. */
const PACKET_RECORD = Uint8Array.of(RecordKind.PACKET);
/** The first byte of a TUN packet's record. */
const TUN_RECORD = Uint8Array.of(RecordKind.TUN);

/** What the Worker hands up. */
export interface TsPlaneHandlers {
  /** A WireGuard datagram for DERP. */
  derp(nodeKey: Uint8Array, pkt: Uint8Array): void;
  /** Packets went to `nodeKey`. */
  sent(nodeKey: Uint8Array): void;
  /** A disco message from the UDP socket. */
  disco(pkt: Uint8Array, from: Uint8Array): void;
  /** A STUN response from the UDP socket. */
  stun(pkt: Uint8Array, from: Uint8Array): void;
  /** A quad-100 DNS query from the TUN. */
  dns(pkt: Uint8Array): void;
  /** The plane is at rest and its loop ends: its last counters, the filter's flows, its sessions. */
  asleep?(m: Extract<FromTsPlane, { type: "asleep" }>): void;
}

/** The running Worker plane, as the node sees it. */
export class TsPlaneLink implements PacketReceiver {
  readonly #thread: PlaneThread<TsPlaneStatus>;
  readonly #ring: ByteRing;
  /** Commands must all arrive, in order, unlike packets: what the full ring refuses waits. */
  readonly #commands: RingQueue;
  #wakeQueued = false;
  /** DERP packets dropped because the Worker had not made room. */
  ringDrops = 0;

  private constructor(thread: PlaneThread<TsPlaneStatus>, ring: ByteRing) {
    this.#thread = thread;
    this.#ring = ring;
    this.#commands = new RingQueue(ring, () => this.#wakeSoon());
  }

  /**
   * Starts the Worker on `spec`; rejects with the Worker's reason if it cannot build. `buffer`
   * is the ring's memory ({@linkcode RING_BYTES} of {@linkcode ByteRing.allocate}), new if absent.
   */
  static async start(
    spec: TsPlaneSpec,
    log: (line: string) => void,
    handlers: TsPlaneHandlers,
    buffer: SharedArrayBuffer = ByteRing.allocate(RING_BYTES),
  ): Promise<TsPlaneLink> {
    const onMessage = (msg: { type: string }) => {
      const m = msg as FromTsPlane;
      switch (m.type) {
        case "derp":
          for (let i = 0; i < m.keys.length; i++) handlers.derp(m.keys[i], m.pkts[i]);
          break;
        case "sent":
          for (const k of m.keys) handlers.sent(k);
          break;
        case "disco":
          handlers.disco(m.pkt, m.from);
          break;
        case "stun":
          handlers.stun(m.pkt, m.from);
          break;
        case "dns":
          handlers.dns(m.pkt);
          break;
        case "asleep":
          handlers.asleep?.(m);
          break;
      }
    };
    const url = new URL("./ts_plane_worker.ts", import.meta.url);
    const thread = await PlaneThread.start<TsPlaneStatus>(
      url,
      { spec, ring: buffer },
      log,
      onMessage,
    );
    return new TsPlaneLink(thread, new ByteRing(buffer));
  }

  /** Settles when the Worker has stopped (by request or failure). */
  get done(): Promise<void> {
    return this.#thread.done;
  }

  /** WireGuard datagrams for the Worker's device, each with its peer's node key as endpoint. */
  receivePackets(bufs: Uint8Array[], sizes: number[], endpoints: Uint8Array[], count: number) {
    for (let i = 0; i < count; i++) {
      const key = endpoints[i];
      if (key.length !== 32) continue;
      this.#packet(PACKET_RECORD, key, bufs[i].subarray(0, sizes[i]));
    }
  }

  /** A packet read from the TUN while the plane slept, for the device as if the Worker read it. */
  sendTun(pkt: Uint8Array): void {
    this.#packet(TUN_RECORD, pkt);
  }

  #packet(...parts: Uint8Array[]): void {
    if (this.#ring.write(...parts)) this.#wakeSoon();
    else this.ringDrops++;
  }

  /** The device's counters, read in the Worker. */
  status(): Promise<TsPlaneStatus> {
    return this.#thread.status();
  }

  /** Stops the Worker's loop and closes its device (not the fds). Idempotent. */
  async stop(): Promise<void> {
    this.#commands.close();
    await this.#thread.stop();
  }

  /** Sends one command, in order after those before it. */
  command(c: PlaneCommand): void {
    // A quarter of the ring at most, so a long command's parts never fill it alone.
    for (const rec of commandRecords(c, this.#ring.maxRecord >> 2)) this.#commands.push(rec);
  }

  /** One wake-up for everything written in this turn. */
  #wakeSoon(): void {
    if (this.#wakeQueued) return;
    this.#wakeQueued = true;
    queueMicrotask(() => {
      this.#wakeQueued = false;
      this.#thread.wake();
    });
  }
}
