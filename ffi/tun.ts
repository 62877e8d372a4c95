/**
 * A layer-3 TUN interface: create it, give it addresses and an MTU, bring it up, and move
 * packets in batches with non-blocking `read`/`write` on preallocated buffers.
 *
 * @module
 */

import {
  addressBig,
  addressOf,
  AF_INET,
  AF_INET6,
  checkIfName,
  checkPrefix,
  closeQuietly,
  cString,
  EAGAIN,
  EINTR,
  ENOENT,
  errno,
  fail,
  formatPrefix,
  IFF_NO_PI,
  IFF_TUN,
  IFF_UP,
  ifNameToIndex,
  ifreq,
  type IpPrefix,
  libc,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
  openSocket,
  putAddress,
  readCString,
  SIOCGIFFLAGS,
  SIOCSIFADDR,
  SIOCSIFFLAGS,
  SIOCSIFMTU,
  SIOCSIFNETMASK,
  SOCK_DGRAM,
  SysError,
  TUNSETIFF,
} from "./libc.ts";
import { GroCoalescer, GsoSplitter, MAX_SUPER_PACKET, VNET_HDR_LEN } from "../src/net/offload.ts";
import type { PacketDevice } from "../src/net/packet_device.ts";

const TUN_PATH = "/dev/net/tun";
/** TUNSETIFF flag: every read and write carries a `struct virtio_net_hdr` first. */
const IFF_VNET_HDR = 0x4000;
/** ioctl: which offloads the reader handles, `_IOW('T', 208, unsigned int)`. */
const TUNSETOFFLOAD = 0x400454d0;
/** TUNSETOFFLOAD bits: partial checksums, TCP segmentation for IPv4 and IPv6, and with ECN. */
const TUN_F_CSUM = 0x01;
const TUN_F_TSO4 = 0x02;
const TUN_F_TSO6 = 0x04;
const TUN_F_TSO_ECN = 0x08;
const TCP_OFFLOADS = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

/** How to open a TUN interface. */
export interface TunOpenOptions {
  /**
   * Ask the kernel for TCP offloads (`IFF_VNET_HDR` + `TUNSETOFFLOAD`): reads may return 64 KiB
   * TCP super packets and partial checksums, which `readBatch` splits and finishes, and
   * `writeBatch` coalesces in-order TCP segments into super packets. Falls back to plain mode
   * when the kernel refuses; `offload` on the device says which one is in use. Default: the
   * `WARREN_TUN_OFFLOAD` environment variable (`0` turns it off), else on.
   */
  offload?: boolean;
}

/**
 * What another thread of this process needs to use an open TUN queue: the fd and the facts
 * {@linkcode TunDevice.open} found. Plain data, so it crosses `postMessage`.
 */
export interface TunHandle {
  /** The interface name. */
  name: string;
  /** The queue's non-blocking fd. */
  fd: number;
  /** The interface index. */
  index: number;
  /** Whether reads and writes carry a virtio_net_hdr. */
  offload: boolean;
}

/** The default for {@linkcode TunOpenOptions.offload}. */
function offloadDefault(): boolean {
  try {
    return Deno.env.get("WARREN_TUN_OFFLOAD") !== "0";
  } catch {
    return true; // no env permission
  }
}
const HINT_NO_TUN =
  "no /dev/net/tun (load the tun module or pass --device /dev/net/tun into the container)";

/**
 * A TUN interface opened with `IFF_TUN | IFF_NO_PI` on a non-blocking fd, with TCP offloads when
 * asked for and available (the batch interface is the same either way: plain IP packets of at
 * most the MTU). Closing it removes the interface along with its addresses and routes.
 *
 * @example
 * ```ts ignore
 * const tun = TunDevice.open("warren%d");
 * tun.setMtu(1280);
 * tun.addAddress({ ip: new Uint8Array([100, 64, 0, 1]), bits: 32 });
 * tun.up();
 * const n = tun.readBatch(bufs, sizes, 16);
 * ```
 */
export class TunDevice implements PacketDevice {
  /** The kernel's name for the interface (a `%d` pattern resolved). */
  readonly name: string;
  /** The non-blocking file descriptor of the TUN queue. */
  readonly fd: number;
  /** The interface index. */
  readonly index: number;
  /** Whether TCP offloads are on (reads and writes carry a virtio_net_hdr). */
  readonly offload: boolean;
  /** Offload-mode reads the kernel sent that could not be split, so were dropped. */
  malformedReads = 0;
  /** Offload-mode reads that were TCP super packets (split into segments here). */
  superReads = 0;
  /** Offload-mode writes that carried several coalesced TCP segments. */
  superWrites = 0;
  #closed = false;
  // Offload mode: one read of up to 64 KiB, split over as many readBatch calls as it takes.
  #readBuf: Uint8Array | null = null;
  #readAddr = 0n;
  #splitter = new GsoSplitter();
  #gro = new GroCoalescer();
  #iov = new Uint8Array(0);
  #iov32 = new Uint32Array(0);
  #iovAddr = 0n;
  #vnet: Uint8Array | null = null;
  #vnetAddr = 0;
  #v4Count = 0;
  // Address cache per batch slot, so the hot path asks Deno for a pointer only when a slot's
  // buffer changes.
  #slotBuf: (Uint8Array | undefined)[] = [];
  #slotAddr: number[] = [];
  // The same for write batches, which come in other buffers than reads.
  #wSlotBuf: (Uint8Array | undefined)[] = [];
  #wSlotAddr: number[] = [];

  private constructor(name: string, fd: number, index: number, offload: boolean) {
    this.name = name;
    this.fd = fd;
    this.index = index;
    this.offload = offload;
    if (offload) {
      this.#readBuf = new Uint8Array(VNET_HDR_LEN + MAX_SUPER_PACKET);
      this.#readAddr = addressBig(this.#readBuf);
    }
  }

  /**
   * Creates (or attaches to) the TUN interface `name`, which may contain `%d` for the kernel to
   * pick a number. The fd is non-blocking and close-on-exec.
   */
  static open(name: string, opts: TunOpenOptions = {}): TunDevice {
    checkIfName(name);
    if (opts.offload ?? offloadDefault()) {
      try {
        return TunDevice.#open(name, true);
      } catch (e) {
        // EINVAL and friends from a kernel without the offloads: plain mode below. Errors that
        // plain mode would hit too (no permission, name busy) are rethrown from there.
        if (!(e instanceof SysError)) throw e;
      }
    }
    return TunDevice.#open(name, false);
  }

  static #open(name: string, offload: boolean): TunDevice {
    const what = `Cannot create TUN interface "${name}"`;
    const c = libc();
    const fd = c.open(cString(TUN_PATH), O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
    if (fd < 0) {
      const e = errno();
      throw new SysError(what, `open(${TUN_PATH})`, e, e === ENOENT ? HINT_NO_TUN : undefined);
    }
    try {
      const req = ifreq(name);
      const flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
      new DataView(req.buffer).setUint16(16, flags, true);
      if (c.ioctl(fd, TUNSETIFF, req) < 0) fail(what, "ioctl(TUNSETIFF)");
      if (offload && c.ioctlInt(fd, TUNSETOFFLOAD, TCP_OFFLOADS) < 0) {
        fail(what, "ioctl(TUNSETOFFLOAD)");
      }
      const actual = readCString(req, 0, 16);
      const index = ifNameToIndex(actual);
      if (index === 0) fail(what, `if_nametoindex(${actual})`);
      return new TunDevice(actual, fd, index, offload);
    } catch (e) {
      closeQuietly(fd);
      throw e;
    }
  }

  /**
   * A device on a queue another TunDevice opened (in another Worker, say): fds are the
   * process's, so it reads and writes the same queue. Closing it closes the fd; leave that to
   * the opener.
   */
  static adopt(h: TunHandle): TunDevice {
    return new TunDevice(h.name, h.fd, h.index, h.offload);
  }

  /** The fd and facts {@linkcode TunDevice.adopt} needs. */
  get handle(): TunHandle {
    return { name: this.name, fd: this.fd, index: this.index, offload: this.offload };
  }

  /** Sets the interface MTU. */
  setMtu(mtu: number): void {
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
      throw new RangeError(`Invalid MTU ${mtu} for ${this.name}: must be 68-65535`);
    }
    const req = ifreq(this.name);
    new DataView(req.buffer).setInt32(16, mtu, true);
    this.#ioctl(AF_INET, SIOCSIFMTU, req, `Cannot set MTU ${mtu} on ${this.name}`, "SIOCSIFMTU");
  }

  /**
   * Adds an address with its prefix length. IPv6 addresses are added alongside any others;
   * the first IPv4 address is set on the interface and later ones as aliases
   * (`name:1`, `name:2`, …), since the ioctl interface replaces rather than adds.
   */
  addAddress(cidr: IpPrefix): void {
    checkPrefix(cidr, `Invalid address for ${this.name}`);
    const what = `Cannot add address ${formatPrefix(cidr)} to ${this.name}`;
    if (cidr.ip.length === 4) {
      const label = this.#v4Count === 0 ? this.name : `${this.name}:${this.#v4Count}`;
      const req = ifreq(label);
      req[16] = AF_INET;
      req.set(cidr.ip, 20);
      this.#ioctl(AF_INET, SIOCSIFADDR, req, what, "SIOCSIFADDR");
      const mask = req.fill(0, 16);
      mask[16] = AF_INET;
      const m = cidr.bits === 0 ? 0 : (0xffffffff << (32 - cidr.bits)) >>> 0;
      new DataView(mask.buffer).setUint32(20, m, false);
      this.#ioctl(AF_INET, SIOCSIFNETMASK, mask, what, "SIOCSIFNETMASK");
      this.#v4Count++;
    } else {
      // struct in6_ifreq { in6_addr ifr6_addr; u32 ifr6_prefixlen; int ifr6_ifindex; }
      const req = new Uint8Array(24);
      req.set(cidr.ip, 0);
      const dv = new DataView(req.buffer);
      dv.setUint32(16, cidr.bits, true);
      dv.setInt32(20, this.index, true);
      this.#ioctl(AF_INET6, SIOCSIFADDR, req, what, "SIOCSIFADDR");
    }
  }

  /** Brings the interface up. */
  up(): void {
    const what = `Cannot bring up ${this.name}`;
    const req = ifreq(this.name);
    const fd = openSocket(AF_INET, SOCK_DGRAM, what);
    try {
      if (libc().ioctl(fd, SIOCGIFFLAGS, req) < 0) fail(what, "ioctl(SIOCGIFFLAGS)");
      const dv = new DataView(req.buffer);
      dv.setUint16(16, dv.getUint16(16, true) | IFF_UP, true);
      if (libc().ioctl(fd, SIOCSIFFLAGS, req) < 0) fail(what, "ioctl(SIOCSIFFLAGS)");
    } finally {
      closeQuietly(fd);
    }
  }

  /**
   * Reads packets into `bufs[i]` starting at `offset` (room for a header the caller prepends)
   * until the queue is empty or `bufs` is exhausted. Sets `sizes[i]` to each packet's length and
   * returns the count. Never blocks.
   */
  readBatch(bufs: Uint8Array[], sizes: number[], offset: number): number {
    if (this.#closed) throw new Error(`Cannot read from ${this.name}: device is closed`);
    if (this.offload) return this.#readOffload(bufs, sizes, offset);
    const c = libc();
    const fd = this.fd;
    let i = 0;
    while (i < bufs.length) {
      const buf = bufs[i];
      const room = buf.byteLength - offset;
      if (room <= 0) {
        throw new RangeError(`TUN read buffer ${i} has no room after offset ${offset}`);
      }
      const n = c.read(fd, BigInt(this.#addr(i, buf) + offset), BigInt(room));
      if (n < 0) {
        const e = errno();
        if (e === EAGAIN) break;
        if (e === EINTR) continue;
        fail(`Cannot read from ${this.name}`, "read");
      }
      sizes[i] = n;
      i++;
    }
    return i;
  }

  /**
   * Writes `bufs[i].subarray(offset, offset + sizes[i])` for `i < count`. Stops at EAGAIN and
   * returns how many were consumed; a packet the kernel rejects (such as a malformed one) is
   * skipped and counted as consumed.
   */
  writeBatch(bufs: Uint8Array[], sizes: number[], offset: number, count: number): number {
    if (this.#closed) throw new Error(`Cannot write to ${this.name}: device is closed`);
    if (this.offload) return this.#writeOffload(bufs, sizes, offset, count);
    const c = libc();
    const fd = this.fd;
    let i = 0;
    while (i < count) {
      const buf = bufs[i];
      const size = sizes[i];
      if (offset + size > buf.byteLength || size < 0) {
        throw new RangeError(
          `TUN write ${i}: size ${size} at offset ${offset} exceeds buffer of ${buf.byteLength}`,
        );
      }
      const n = c.write(fd, BigInt(this.#waddr(i, buf) + offset), BigInt(size));
      if (n < 0) {
        const e = errno();
        if (e === EAGAIN) break;
        if (e === EINTR) continue;
      }
      i++;
    }
    return i;
  }

  /**
   * Whether part of an offload-mode read is still waiting for buffers: the next `readBatch`
   * returns packets even if the fd does not poll readable.
   */
  get pending(): boolean {
    return this.#splitter.pending > 0;
  }

  #readOffload(bufs: Uint8Array[], sizes: number[], offset: number): number {
    const c = libc();
    const fd = this.fd;
    const split = this.#splitter;
    const buf = this.#readBuf!;
    let i = 0;
    while (i < bufs.length) {
      if (split.pending > 0) {
        i += split.emit(bufs, sizes, offset, i, bufs.length);
        continue;
      }
      const n = c.read(fd, this.#readAddr, BigInt(buf.byteLength));
      if (n < 0) {
        const e = errno();
        if (e === EAGAIN) break;
        if (e === EINTR) continue;
        fail(`Cannot read from ${this.name}`, "read");
      }
      const segments = split.load(buf, n);
      if (segments === 0) this.malformedReads++;
      else if (segments > 1) this.superReads++;
    }
    return i;
  }

  #writeOffload(bufs: Uint8Array[], sizes: number[], offset: number, count: number): number {
    for (let i = 0; i < count; i++) {
      const size = sizes[i];
      if (offset + size > bufs[i].byteLength || size < 0) {
        throw new RangeError(
          `TUN write ${i}: size ${size} at offset ${offset} exceeds buffer of ${
            bufs[i].byteLength
          }`,
        );
      }
    }
    const plan = this.#gro.plan(bufs, sizes, offset, count);
    if (this.#vnet !== plan.vnet) {
      this.#vnet = plan.vnet;
      this.#vnetAddr = addressOf(plan.vnet);
    }
    // One iovec for the header, one per packet at most.
    if (this.#iov.byteLength < 16 * (count + 1)) {
      this.#iov = new Uint8Array(16 * Math.max(count + 1, 65));
      this.#iov32 = new Uint32Array(this.#iov.buffer);
      this.#iovAddr = addressBig(this.#iov);
    }
    const c = libc();
    const fd = this.fd;
    const iov = this.#iov32;
    const { head, next, hdrLen } = plan;
    let done = 0;
    for (let k = 0; k < plan.count; k++) {
      putAddress(iov, 0, this.#vnetAddr + k * VNET_HDR_LEN);
      putAddress(iov, 2, VNET_HDR_LEN);
      let i = head[k];
      putAddress(iov, 4, this.#waddr(i, bufs[i]) + offset);
      putAddress(iov, 6, sizes[i]);
      let n = 2;
      const skip = hdrLen[k];
      for (i = next[i]; i >= 0; i = next[i], n++) {
        putAddress(iov, 4 * n, this.#waddr(i, bufs[i]) + offset + skip);
        putAddress(iov, 4 * n + 2, sizes[i] - skip);
      }
      let r = c.writev(fd, this.#iovAddr, n);
      while (r < 0 && errno() === EINTR) r = c.writev(fd, this.#iovAddr, n);
      // EAGAIN or a packet the kernel rejects: that write is lost, as in plain mode.
      if (n > 2) this.superWrites++;
      done += n - 1;
    }
    return done;
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the fd, which removes the interface. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.fd);
  }

  #addr(i: number, buf: Uint8Array): number {
    if (this.#slotBuf[i] !== buf) {
      this.#slotBuf[i] = buf;
      this.#slotAddr[i] = addressOf(buf);
    }
    return this.#slotAddr[i];
  }

  #waddr(i: number, buf: Uint8Array): number {
    if (this.#wSlotBuf[i] !== buf) {
      this.#wSlotBuf[i] = buf;
      this.#wSlotAddr[i] = addressOf(buf);
    }
    return this.#wSlotAddr[i];
  }

  #ioctl(family: number, request: number, req: Uint8Array, what: string, name: string): void {
    const fd = openSocket(family, SOCK_DGRAM, what);
    try {
      if (libc().ioctl(fd, request, req) < 0) fail(what, `ioctl(${name})`);
    } finally {
      closeQuietly(fd);
    }
  }
}
