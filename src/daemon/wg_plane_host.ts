/**
 * A plain WireGuard node's Worker plane across its sleeps, as `ts_plane_host.ts` is a tailnet
 * node's. An idle node has no use for the Worker's isolate (~8 MB here), so once its device is
 * at rest — no handshake or keepalive owed — and no byte but keepalives has moved for
 * the quiet time, the Worker hands up its sessions, endpoints and counters and ends. Meanwhile
 * this thread watches the TUN and the socket through the thread pool; the first WireGuard
 * datagram or TUN packet starts a Worker again with that state and the packets read, so the
 * peer goes on with the same session and no handshake is needed. Persistent keepalives, both
 * ways, are this thread's while the Worker sleeps (`sleep_keepalives.ts`), so a peer that holds
 * a NAT open does not keep the Worker up.
 *
 * The sessions' keys stay on this thread only while the plane sleeps: they are wiped once a
 * new Worker has its copy, at stop, and once none is usable any more (Reject-After-Time). The
 * cycle itself, which the tailnet host runs too, is `plane_sleep.ts`; this is what a plain node
 * adds: its Worker, the state it resumes from, the reads of its two fds.
 *
 * @module
 */
import { TunDevice } from "../../ffi/tun.ts";
import { endpointToString, UdpSocket } from "../../ffi/udp.ts";
import { toHex } from "../bytes/hex.ts";
import { formatWgKey, parseWgKey } from "../key/wg_key.ts";
import { mac1Key } from "../wireguard/macs.ts";
import { DEFAULT_TIMINGS } from "../wireguard/timings.ts";
import type { SleepingDevice } from "../wireguard/wake.ts";
import type { DeviceStatus } from "./device_status.ts";
import type { FromPlane, HeldPacket, WgPlaneState } from "./plane_messages.ts";
import type { PlaneRunner } from "./plane_mode.ts";
import { SleepCycle, type SleepCycleHost } from "./plane_sleep.ts";
import { PlaneThread } from "./plane_thread.ts";
import { SleepIo } from "./sleep_io.ts";
import { SleepKeepalives } from "./sleep_keepalives.ts";
import type { PlaneSpec } from "./wg_plane.ts";

/** The sleeping node's reads: this thread's views of the plane's fds, and a few buffers. */
interface WatchIo {
  tun: TunDevice;
  udp: UdpSocket;
  reads: SleepIo;
}

/** The Worker plane of a plain WireGuard node, awake or asleep. */
export class WgPlaneHost implements PlaneRunner {
  /** Always "worker". */
  readonly mode = "worker";
  readonly #spec: PlaneSpec;
  readonly #url: URL;
  readonly #log: (line: string) => void;
  readonly #released: (() => void) | undefined;
  #cycle!: SleepCycle<PlaneThread<DeviceStatus>, HeldPacket>;
  /** What the sleeping plane left besides its sessions. */
  #sleep: Omit<WgPlaneState, "sessions"> | null = null;
  #last: DeviceStatus | null = null;
  #io: WatchIo | null = null;
  #mac1Key: Uint8Array | null = null;
  readonly #keepalives: SleepKeepalives;

  private constructor(
    spec: PlaneSpec,
    url: URL,
    log: (line: string) => void,
    released?: () => void,
  ) {
    this.#spec = spec;
    this.#url = url;
    this.#log = log;
    this.#released = released;
    const intervals = new Map<string, number>();
    for (const p of spec.peers) {
      if (p.persistentKeepalive) intervals.set(toHex(p.publicKey), p.persistentKeepalive * 1000);
    }
    this.#keepalives = new SleepKeepalives({ ...DEFAULT_TIMINGS, ...spec.timings }, intervals);
  }

  /**
   * Starts the plane awake in a Worker running `url`; rejects with the Worker's reason if it
   * cannot start. `released` runs after each sleep (to give back what the Worker left resident).
   */
  static async start(
    spec: PlaneSpec,
    url: URL,
    log: (line: string) => void,
    released?: () => void,
  ): Promise<WgPlaneHost> {
    const host = new WgPlaneHost(spec, url, log, released);
    host.#cycle = await SleepCycle.start(host.#cycleHost());
    return host;
  }

  /** Settles when the plane stopped for good: by {@linkcode stop}, or a Worker that failed. */
  get done(): Promise<void> {
    return this.#cycle.done;
  }

  /** Whether the Worker is asleep (or falling asleep, or waking). */
  get asleep(): boolean {
    return this.#cycle.asleep;
  }

  /** Packets dropped for want of room while the plane slept or woke. */
  get heldDrops(): number {
    return this.#cycle.heldDrops;
  }

  /** The device's part of the node's status, read in the Worker when awake. */
  async status(): Promise<DeviceStatus> {
    const awake = this.#cycle.awake;
    if (awake) {
      try {
        return await awake.status();
      } catch {
        // It fell asleep meanwhile: its last status came with the state.
      }
    }
    if (!this.#last) throw new Error("Cannot read status: data plane stopped");
    const s = this.#sleep;
    if (!s) return this.#last;
    // Asleep, the drops, endpoints and byte counts are those the next Worker gets: the last
    // Worker's and what the watch counted since (keepalives, `sleep_keepalives.ts`).
    const carried = new Map(s.peers.map((c) => [formatWgKey(c.publicKey), c]));
    return {
      ...this.#last,
      peers: this.#last.peers.map((p) => {
        const c = carried.get(p.publicKey);
        if (!c) return p;
        const endpoint = c.endpoint ? endpointToString(c.endpoint) : null;
        return { ...p, endpoint, rxBytes: c.rxBytes, txBytes: c.txBytes };
      }),
      drops: { ...s.drops },
    };
  }

  /** Stops the plane for good (the Worker, or the watch). Idempotent. */
  stop(): Promise<void> {
    return this.#cycle.stop();
  }

  #cycleHost(): SleepCycleHost<PlaneThread<DeviceStatus>, HeldPacket> {
    return {
      start: (sessions, held) => {
        const s = this.#sleep;
        const resume = s && sessions ? { ...s, sessions } : null;
        const spec: PlaneSpec = { ...this.#spec, resume, held };
        return PlaneThread.start<DeviceStatus>(this.#url, { spec }, this.#log, (m) => {
          const a = m as FromPlane<DeviceStatus>;
          if (a.type === "asleep") this.#fellAsleep(a.state, a.status);
        });
      },
      // The Worker took the held packets at its start; the watch had ended by then, so none came
      // after them.
      adopt: () => this.#sleep = null,
      watchFds: () => {
        const io = this.#watchIo();
        return [io.tun.fd, io.udp.fd];
      },
      read: (hold) => {
        const io = this.#watchIo();
        const sessions = this.#cycle.sessions, carried = this.#sleep?.peers ?? [];
        io.reads.readWireGuard(
          io.udp,
          this.#sleepingDevice(),
          (pkt, from) => {
            if (!this.#keepalives.take(pkt, from, sessions, carried)) hold({ pkt, from });
          },
          // Counted as the device would have, into the counters the next Worker goes on from
          // (and the status reads meanwhile).
          (why) => {
            if (this.#sleep) this.#sleep.drops[why]++;
          },
        );
        io.reads.readTun(io.tun, (pkt) => hold({ pkt }));
      },
      due: () => this.#keepalives.due,
      tick: () =>
        this.#keepalives.tick(this.#cycle.sessions, (msg, endpoint) => {
          this.#watchIo().udp.sendBatch([msg], [msg.length], [endpoint], 1);
        }),
      log: this.#log,
      released: this.#released,
    };
  }

  /** What the watch needs to tell the device's datagrams from noise (`wake.ts`). */
  #sleepingDevice(): SleepingDevice {
    const localIndices = new Set<number>();
    for (const p of this.#cycle.sessions?.peers ?? []) {
      for (const kp of p.keypairs) localIndices.add(kp.localIndex);
    }
    this.#mac1Key ??= mac1Key(parseWgKey(this.#last!.publicKey));
    return { mac1Key: this.#mac1Key, localIndices };
  }

  #watchIo(): WatchIo {
    return this.#io ??= {
      tun: TunDevice.adopt(this.#spec.tun),
      udp: UdpSocket.adopt(this.#spec.udp),
      reads: new SleepIo(this.#spec.mtu),
    };
  }

  #fellAsleep(state: WgPlaneState, status: DeviceStatus): void {
    const { sessions, ...rest } = state;
    if (!this.#cycle.fallingAsleep(sessions)) return;
    this.#sleep = rest;
    this.#last = status;
    this.#keepalives.start(rest.peers);
  }
}
