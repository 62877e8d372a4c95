/**
 * The netstack as the data plane's packet device, in place of a TUN: packets
 * the data plane writes (decrypted, filtered) go straight into the stack's
 * input; packets the stack emits wait in a bounded ring until the data plane
 * reads them, and an eventfd wakes the data plane's poll when the ring goes
 * from empty to not, since no kernel fd stands behind them.
 *
 * @module
 */

import type { Waker } from "../../ffi/eventfd.ts";
import { EventFd } from "../../ffi/eventfd.ts";
import { BatchViews } from "../net/batch_views.ts";
import { GroCoalescer, type GroPlan } from "../net/gro.ts";
import { MAX_SUPER_PACKET } from "../net/vnet_hdr.ts";
import type { PacketDevice } from "../net/packet_device.ts";

/** Default ring size: tailscaled's netstack queues as many packets towards WireGuard. */
export const DEFAULT_NETSTACK_QUEUE = 512;

/** How to build a {@linkcode NetstackDevice}. */
export interface NetstackDeviceOptions {
  /** Largest packet the stack may emit (the tailnet MTU); larger ones are refused. */
  mtu: number;
  /** Emitted packets held for the data plane at most; default {@linkcode DEFAULT_NETSTACK_QUEUE}. */
  capacity?: number;
  /** The wake signal the data plane polls; default a new {@linkcode EventFd}. */
  waker?: Waker;
  /** Told of a throw from the input (a handler's bug); the batch carries on. */
  onInputError?: (e: unknown) => void;
  /**
   * Merge a written batch's in-order segments of a TCP flow into one packet before the input
   * (GRO, as a NIC does for the kernel), so the stack takes one segment where the peer sent
   * many. A merged packet's TCP checksum is left partial: only for an input that does not
   * verify transport checksums. Default false.
   */
  coalesce?: boolean;
}

/** What a {@linkcode NetstackDevice} did, by outcome. */
export interface NetstackDeviceCounters {
  /** Packets the data plane wrote into the stack. */
  written: number;
  /** Packets written while no input was set (dropped). */
  noInput: number;
  /** Packets whose input threw (see `onInputError`). */
  inputErrors: number;
  /** Written packets merged into the packet before them (see `coalesce`). */
  coalesced: number;
  /** Packets the stack emitted that were queued. */
  queued: number;
  /** Emitted packets refused because the ring was full. */
  queueFull: number;
  /** Emitted packets refused because they were empty or exceeded the MTU. */
  tooBig: number;
  /** Queued packets handed to the data plane. */
  read: number;
  /** Queued packets dropped because the data plane's buffer had no room for them. */
  noRoom: number;
}

/**
 * A {@linkcode PacketDevice} whose other side is the userspace stack.
 *
 * The ring's slots are allocated on first use and reused, so a steady flow
 * allocates nothing: `send` copies into a slot (the caller may reuse its
 * buffer at once) and `readBatch` copies out into the data plane's buffers.
 * `writeBatch` hands the stack a view of the data plane's buffer, valid only
 * during the call (the stack copies what it keeps).
 *
 * @example
 * ```ts ignore
 * const dev = new NetstackDevice({ mtu: 1280 });
 * const ip = new IpInput({ clock: systemClock, out: dev.send, addresses: [] });
 * dev.setInput((p) => ip.input(p));
 * new DataPlane(wireguard, dev, [udp], poller);
 * ```
 */
export class NetstackDevice implements PacketDevice {
  /** The fd that polls readable while packets are queued. */
  readonly fd: number;
  /** Largest packet accepted from the stack. */
  readonly mtu: number;
  /** Ring size. */
  readonly capacity: number;
  /** Counters by outcome. */
  readonly counters: NetstackDeviceCounters = {
    written: 0,
    noInput: 0,
    inputErrors: 0,
    coalesced: 0,
    queued: 0,
    queueFull: 0,
    tooBig: 0,
    read: 0,
    noRoom: 0,
  };
  readonly #waker: Waker;
  readonly #onInputError: ((e: unknown) => void) | undefined;
  readonly #slots: Uint8Array[] = [];
  readonly #lens: Int32Array;
  /** Each batch place's whole packet, and a merged packet's later parts (headers skipped). */
  readonly #views = new BatchViews();
  readonly #tails = new BatchViews();
  readonly #gro: GroCoalescer | null;
  /** Where a merged packet is put together for the input. */
  #merged: Uint8Array | null = null;
  #head = 0;
  #count = 0;
  #signalled = false;
  /** A send was refused since the last drain callback: the sender waits for room. */
  #refused = false;
  #input: ((packet: Uint8Array) => void) | null = null;
  #onDrain: (() => void) | null = null;
  #closed = false;

  /** Creates the ring and (unless given one) its eventfd. */
  constructor(opts: NetstackDeviceOptions) {
    const capacity = opts.capacity ?? DEFAULT_NETSTACK_QUEUE;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Invalid netstack queue size ${capacity}: want a whole number ≥ 1`);
    }
    if (!Number.isInteger(opts.mtu) || opts.mtu < 68 || opts.mtu > 65535) {
      throw new RangeError(`Invalid netstack MTU ${opts.mtu}: must be 68-65535`);
    }
    this.mtu = opts.mtu;
    this.capacity = capacity;
    this.#lens = new Int32Array(capacity);
    this.#onInputError = opts.onInputError;
    this.#gro = opts.coalesce ? new GroCoalescer({ verifyChecksums: false }) : null;
    this.#waker = opts.waker ?? new EventFd();
    this.fd = this.#waker.fd;
  }

  /** Sets where the data plane's packets go: the stack's input (`IpInput.input`). */
  setInput(input: ((packet: Uint8Array) => void) | null): void {
    this.#input = input;
  }

  /**
   * Called after a read frees half the ring, once per refused `send`: a
   * sender that found the ring full may go on.
   */
  setDrainHandler(onDrain: (() => void) | null): void {
    this.#onDrain = onDrain;
  }

  /**
   * Queues a packet the stack emits (a {@linkcode PacketOut}, bound so it can be
   * passed as is). Copies it; returns false, counted, when it is refused: the
   * ring is full, the packet exceeds the MTU, or the device is closed.
   */
  readonly send = (packet: Uint8Array): boolean => {
    const len = packet.length;
    if (this.#closed) return false;
    if (len === 0 || len > this.mtu) {
      this.counters.tooBig++;
      return false;
    }
    if (this.#count === this.capacity) {
      this.counters.queueFull++;
      this.#refused = true;
      return false;
    }
    const i = (this.#head + this.#count) % this.capacity;
    const slot = this.#slots[i] ??= new Uint8Array(this.mtu);
    slot.set(packet);
    this.#lens[i] = len;
    this.#count++;
    this.counters.queued++;
    if (!this.#signalled) {
      this.#signalled = true;
      this.#waker.signal();
    }
    return true;
  };

  /** Packets waiting for the data plane. */
  get queued(): number {
    return this.#count;
  }

  /** Free places in the ring. */
  get room(): number {
    return this.capacity - this.#count;
  }

  /** Whether a read would return packets. */
  get pending(): boolean {
    return this.#count > 0;
  }

  /**
   * Moves queued packets, oldest first, into `bufs[i]` at `offset`; lowers the
   * wake signal once the ring is empty. Never blocks.
   */
  readBatch(bufs: Uint8Array[], sizes: number[], offset: number): number {
    let n = 0;
    const cap = this.capacity;
    while (n < bufs.length && this.#count > 0) {
      const h = this.#head;
      const len = this.#lens[h];
      this.#head = (h + 1) % cap;
      this.#count--;
      const buf = bufs[n];
      if (offset + len > buf.byteLength) {
        this.counters.noRoom++;
        continue;
      }
      buf.set(this.#slots[h].subarray(0, len), offset);
      sizes[n++] = len;
    }
    this.counters.read += n;
    if (this.#count === 0 && this.#signalled) {
      this.#signalled = false;
      this.#waker.clear();
    }
    if (this.#refused && this.#count <= cap >> 1) {
      this.#refused = false;
      this.#onDrain?.();
    }
    return n;
  }

  /**
   * Hands each packet to the stack's input, synchronously; what the stack
   * answers at once is queued for the next read. Returns `count`: the stack
   * takes everything (and drops and counts what it must).
   */
  writeBatch(bufs: Uint8Array[], sizes: number[], offset: number, count: number): number {
    const input = this.#input;
    this.counters.written += count;
    if (input === null || this.#closed) {
      this.counters.noInput += count;
      return count;
    }
    if (this.#gro !== null && count > 1) {
      this.#writeCoalesced(input, this.#gro.plan(bufs, sizes, offset, count), bufs, sizes, offset);
      return count;
    }
    for (let i = 0; i < count; i++) {
      this.#input1(input, this.#views.get(i, bufs[i], offset, sizes[i]));
    }
    return count;
  }

  #input1(input: (packet: Uint8Array) => void, packet: Uint8Array): void {
    try {
      input(packet);
    } catch (e) {
      this.counters.inputErrors++;
      this.#onInputError?.(e);
    }
  }

  /** Each write of `plan` to the input: a lone packet as it is, a merged one joined first. */
  #writeCoalesced(
    input: (packet: Uint8Array) => void,
    plan: GroPlan,
    bufs: Uint8Array[],
    sizes: number[],
    offset: number,
  ): void {
    for (let k = 0; k < plan.count; k++) {
      let i = plan.head[k];
      if (plan.next[i] < 0) {
        this.#input1(input, this.#views.get(i, bufs[i], offset, sizes[i]));
        continue;
      }
      // The stack copies what it keeps, so one buffer serves every merged packet.
      const out = this.#merged ??= new Uint8Array(MAX_SUPER_PACKET);
      out.set(this.#views.get(i, bufs[i], offset, sizes[i]));
      let at = sizes[i];
      const skip = plan.hdrLen[k];
      for (i = plan.next[i]; i >= 0; i = plan.next[i]) {
        out.set(this.#tails.get(i, bufs[i], offset + skip, sizes[i] - skip), at);
        at += sizes[i] - skip;
        this.counters.coalesced++;
      }
      this.#input1(input, out.subarray(0, at));
    }
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Drops what is queued, refuses further packets and closes the wake fd. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#count = 0;
    this.#input = null;
    this.#waker.close();
  }
}
