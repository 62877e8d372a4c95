/**
 * A layer-3 TUN interface: create it, give it addresses and an MTU, bring it up, and move
 * packets in batches with non-blocking `read`/`write` on preallocated buffers.
 *
 * @module
 */

import {
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

const TUN_PATH = "/dev/net/tun";
const HINT_NO_TUN =
  "no /dev/net/tun (load the tun module or pass --device /dev/net/tun into the container)";

/**
 * A TUN interface opened with `IFF_TUN | IFF_NO_PI` on a non-blocking fd. Closing it removes the
 * interface along with its addresses and routes.
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
export class TunDevice {
  /** The kernel's name for the interface (a `%d` pattern resolved). */
  readonly name: string;
  /** The non-blocking file descriptor of the TUN queue. */
  readonly fd: number;
  /** The interface index. */
  readonly index: number;
  #closed = false;
  #v4Count = 0;
  // Address cache per batch slot, so the hot path asks Deno for a pointer only when a slot's
  // buffer changes.
  #slotBuf: (Uint8Array | undefined)[] = [];
  #slotAddr: number[] = [];

  private constructor(name: string, fd: number, index: number) {
    this.name = name;
    this.fd = fd;
    this.index = index;
  }

  /**
   * Creates (or attaches to) the TUN interface `name`, which may contain `%d` for the kernel to
   * pick a number. The fd is non-blocking and close-on-exec.
   */
  static open(name: string): TunDevice {
    checkIfName(name);
    const what = `Cannot create TUN interface "${name}"`;
    const c = libc();
    const fd = c.open(cString(TUN_PATH), O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
    if (fd < 0) {
      const e = errno();
      throw new SysError(what, `open(${TUN_PATH})`, e, e === ENOENT ? HINT_NO_TUN : undefined);
    }
    try {
      const req = ifreq(name);
      new DataView(req.buffer).setUint16(16, IFF_TUN | IFF_NO_PI, true);
      if (c.ioctl(fd, TUNSETIFF, req) < 0) fail(what, "ioctl(TUNSETIFF)");
      const actual = readCString(req, 0, 16);
      const index = ifNameToIndex(actual);
      if (index === 0) fail(what, `if_nametoindex(${actual})`);
      return new TunDevice(actual, fd, index);
    } catch (e) {
      closeQuietly(fd);
      throw e;
    }
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
    const c = libc();
    const fd = this.fd;
    let i = 0;
    while (i < bufs.length) {
      const buf = bufs[i];
      const room = buf.byteLength - offset;
      if (room <= 0) {
        throw new RangeError(`TUN read buffer ${i} has no room after offset ${offset}`);
      }
      const n = c.read(fd, this.#addr(i, buf) + offset, room);
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
      const n = c.write(fd, this.#addr(i, buf) + offset, size);
      if (n < 0) {
        const e = errno();
        if (e === EAGAIN) break;
        if (e === EINTR) continue;
      }
      i++;
    }
    return i;
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

  #ioctl(family: number, request: number, req: Uint8Array, what: string, name: string): void {
    const fd = openSocket(family, SOCK_DGRAM, what);
    try {
      if (libc().ioctl(fd, request, req) < 0) fail(what, `ioctl(${name})`);
    } finally {
      closeQuietly(fd);
    }
  }
}
