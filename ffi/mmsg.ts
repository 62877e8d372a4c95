/**
 * The `struct mmsghdr[]` that `recvmmsg`/`sendmmsg` take, laid out once in JavaScript memory
 * with one `iovec` per message, and each slot's pointers cached so a batch over the same
 * buffers writes nothing: the UDP socket's (`udp.ts`) and the GRO receive side's
 * (`udp_gro.ts`) common ground.
 *
 * @module
 */
import { addressBig, addressOf, putAddress } from "./libc.ts";

// struct mmsghdr on LP64, viewed as u32 words: msg_hdr { name ptr [0,1], namelen [2],
// iov ptr [4,5], iovlen [6,7], control [8,9], controllen [10,11], flags [12] }, msg_len [14].
/** u32 words per `struct mmsghdr`. */
export const MMSG_WORDS = 16;
/** Bytes per `struct mmsghdr`. */
export const MMSG_BYTES = 64;
/** Word of `msg_name` (a pointer). */
export const W_NAME = 0;
/** Word of `msg_namelen`. */
export const W_NAMELEN = 2;
/** Word of `msg_iov` (a pointer). */
export const W_IOV = 4;
/** Word of `msg_iovlen`. */
export const W_IOVLEN = 6;
/** Word of `msg_len`, what the kernel moved. */
export const W_LEN = 14;
/** u32 words per `struct iovec`: base [0,1], len [2,3]. */
export const IOV_WORDS = 4;
/** Word of `msg_control` (a pointer). */
export const W_CONTROL = 8;
/** Word of `msg_controllen`. */
export const W_CONTROLLEN = 10;

/** The address of message `k` of `v` as a BigInt: no conversion for the usual `k` of 0. */
export function msgAt(v: MsgVec, k: number): bigint {
  return k === 0 ? v.hdrBig : BigInt(v.hdrAddr + k * MMSG_BYTES);
}

/** The preallocated `mmsghdr[]` + `iovec[]` for one direction, with per-slot pointer caches. */
export class MsgVec {
  /** The `mmsghdr[]`, `max` of them. */
  readonly hdr: Uint8Array;
  /** The same, as u32 words (the `W_*` offsets). */
  readonly hdr32: Uint32Array;
  /** Address of `hdr`. */
  readonly hdrAddr: number;
  /** `hdrAddr` as a BigInt, for the FFI calls (see `addressBig` in libc.ts). */
  readonly hdrBig: bigint;
  /** The `iovec[]`, one per message, as u32 words. */
  readonly iov32: Uint32Array;
  /** Address of the `iovec[]`. */
  readonly iovAddr: number;
  /** Per slot: the buffer its iovec points into, for the cache in {@linkcode setBuf}. */
  readonly slotBuf: (Uint8Array | undefined)[];
  /** Per slot: the offset in that buffer. */
  readonly slotOff: number[];
  /** Per slot: that buffer's length when it was set. */
  readonly slotLen: number[];
  /** Per slot: the endpoint its msg_name points at. */
  readonly slotName: (Uint8Array | undefined)[];

  /** Room for `max` messages, each with one iovec. */
  constructor(readonly max: number) {
    this.hdr = new Uint8Array(max * MMSG_BYTES);
    this.hdr32 = new Uint32Array(this.hdr.buffer);
    this.hdrAddr = addressOf(this.hdr);
    this.hdrBig = addressBig(this.hdr);
    const iov = new Uint8Array(max * IOV_WORDS * 4);
    this.iov32 = new Uint32Array(iov.buffer);
    const iovAddr = this.iovAddr = addressOf(iov);
    for (let i = 0; i < max; i++) {
      putAddress(this.hdr32, i * MMSG_WORDS + W_IOV, iovAddr + i * IOV_WORDS * 4);
      this.hdr32[i * MMSG_WORDS + W_IOVLEN] = 1;
    }
    this.slotBuf = new Array(max).fill(undefined);
    this.slotOff = new Array(max).fill(-1);
    this.slotLen = new Array(max).fill(-1);
    this.slotName = new Array(max).fill(undefined);
  }

  /** Points slot `k`'s iovec at `buf[offset]` (length set by the caller). */
  setBuf(k: number, buf: Uint8Array, offset: number): void {
    if (
      this.slotBuf[k] === buf && this.slotOff[k] === offset && this.slotLen[k] === buf.byteLength
    ) {
      return;
    }
    if (buf.byteLength <= offset) {
      throw new RangeError(`UDP buffer ${k} has no room after offset ${offset}`);
    }
    putAddress(this.iov32, k * IOV_WORDS, addressOf(buf) + offset);
    this.slotBuf[k] = buf;
    this.slotOff[k] = offset;
    this.slotLen[k] = buf.byteLength;
  }

  /** Points slot `k`'s msg_name at `name`. */
  setName(k: number, name: Uint8Array, minLen: number): void {
    if (this.slotName[k] === name && name.byteLength >= minLen) return;
    if (name.byteLength < minLen) {
      throw new RangeError(
        `UDP endpoint ${k} must be at least ${minLen} bytes, got ${name.length}`,
      );
    }
    putAddress(this.hdr32, k * MMSG_WORDS + W_NAME, addressOf(name));
    this.slotName[k] = name;
  }
}
