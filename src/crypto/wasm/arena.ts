/**
 * Packet buffers that live inside the ChaCha20-Poly1305 wasm memory, so the
 * data plane's TUN and UDP buffers can be sealed and opened in place with no
 * copy (see `WasmChaChaPoly.sealInPlace`).
 *
 * Capacity: the arena is the wasm memory above the key slots and scratch
 * areas, about 31.6 MiB ({@link packetArenaCapacity} gives the exact figure),
 * e.g. room for some 15,000 buffers of 2 KiB. Sizes are rounded up to 64
 * bytes; freed buffers are zeroed and reused for the same rounded size.
 * Allocate once at start-up and reuse: this is not a general-purpose heap.
 *
 * @module
 */
import { cryptoWasm } from "./instance.ts";

const ALIGN = 64;

let next = -1; // bump pointer; -1 until the instance exists
const free = new Map<number, number[]>(); // rounded size -> free addresses
const live = new Map<number, number>(); // address -> rounded size
let inUse = 0;

/**
 * Returns a zeroed `len`-byte view into the wasm memory, 64-byte aligned.
 * Throws RangeError when `len` is not a positive safe integer or the arena
 * has no room left.
 *
 * @example
 * ```ts
 * const buf = allocPacketBuffer(2048);
 * console.assert(buf.length === 2048 && isWasmBuffer(buf));
 * freePacketBuffer(buf);
 * ```
 */
export function allocPacketBuffer(len: number): Uint8Array {
  if (!Number.isSafeInteger(len) || len <= 0) {
    throw new RangeError(`Cannot allocate packet buffer of ${len} bytes: need a positive integer`);
  }
  const w = cryptoWasm();
  if (next < 0) next = w.arenaStart;
  const size = Math.ceil(len / ALIGN) * ALIGN;
  let addr = free.get(size)?.pop();
  if (addr === undefined) {
    if (size > w.arenaEnd - next) {
      throw new RangeError(
        `Cannot allocate packet buffer of ${len} bytes: wasm packet arena is full ` +
          `(${inUse} of ${w.arenaEnd - w.arenaStart} bytes in use)`,
      );
    }
    addr = next;
    next += size;
  }
  live.set(addr, size);
  inUse += size;
  return new Uint8Array(w.buffer, addr, len);
}

/**
 * Returns `count` buffers of `len` bytes each, for a batch of packets.
 *
 * @example
 * ```ts
 * const bufs = allocPacketBuffers(4, 1600);
 * console.assert(bufs.length === 4 && bufs[3].length === 1600);
 * bufs.forEach(freePacketBuffer);
 * ```
 */
export function allocPacketBuffers(count: number, len: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  try {
    for (let i = 0; i < count; i++) out.push(allocPacketBuffer(len));
  } catch (err) {
    out.forEach(freePacketBuffer);
    throw err;
  }
  return out;
}

/**
 * Zeroes and releases a buffer from {@link allocPacketBuffer} (the same view
 * or any view starting at the same byte). Throws TypeError for other buffers
 * or a second release.
 *
 * @example
 * ```ts
 * freePacketBuffer(allocPacketBuffer(100));
 * ```
 */
export function freePacketBuffer(buf: Uint8Array): void {
  const size = isWasmBuffer(buf) ? live.get(buf.byteOffset) : undefined;
  if (size === undefined) {
    throw new TypeError(
      `Cannot free packet buffer at offset ${buf.byteOffset}: not a live wasm packet buffer`,
    );
  }
  cryptoWasm().bytes.fill(0, buf.byteOffset, buf.byteOffset + size);
  live.delete(buf.byteOffset);
  inUse -= size;
  let list = free.get(size);
  if (list === undefined) free.set(size, list = []);
  list.push(buf.byteOffset);
}

/**
 * Tells whether `buf` views the wasm memory, i.e. can be sealed and opened
 * in place without a copy.
 *
 * @example
 * ```ts
 * console.assert(!isWasmBuffer(new Uint8Array(8)));
 * ```
 */
export function isWasmBuffer(buf: Uint8Array): boolean {
  return buf.buffer === cryptoWasm().buffer;
}

/**
 * Total bytes the packet arena can hand out.
 *
 * @example
 * ```ts
 * console.assert(packetArenaCapacity() > 30 * 1024 * 1024);
 * ```
 */
export function packetArenaCapacity(): number {
  const w = cryptoWasm();
  return w.arenaEnd - w.arenaStart;
}

/**
 * Bytes currently handed out (sizes rounded up to 64).
 *
 * @example
 * ```ts
 * const before = packetArenaInUse();
 * const b = allocPacketBuffer(1);
 * console.assert(packetArenaInUse() === before + 64);
 * freePacketBuffer(b);
 * ```
 */
export function packetArenaInUse(): number {
  return inUse;
}
