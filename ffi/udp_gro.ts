/**
 * The receive side of UDP GRO for `udp.ts`: message room, control buffers and the split of
 * coalesced messages back into datagrams, with the room past the first few messages given back
 * to the kernel between bursts.
 *
 * @module
 */
import { addressOf, libc, putAddress, SOL_UDP } from "./libc.ts";
import { ENDPOINT_SIZE } from "./endpoint.ts";
import { IOV_WORDS, MMSG_WORDS, MsgVec, W_CONTROL } from "./mmsg.ts";

/** setsockopt/cmsg type for UDP GRO on receive: an `int` segment size (linux/udp.h). */
export const UDP_GRO = 104;
/** Room for one message with GRO: a coalesced one is at most the largest UDP payload. */
export const GRO_MESSAGE_BYTES = 65536;
/**
 * Messages a GRO `recvmmsg` asks for while the kernel coalesces none (a sender without GSO, no
 * GRO on the way): as many as a plain receive takes. Each needs room for a whole coalesced
 * message all the same, but a lone datagram touches only the first page of its 64 KiB.
 */
export const GRO_MAX_MESSAGES = 64;
/**
 * Messages asked for right after a read that held coalesced ones: up to 8 × 64 datagrams in
 * hand, and the pages touched in steady state stay at 8 × 64 KiB.
 */
export const GRO_COALESCED_MESSAGES = 8;
/** Control room per GRO message: CMSG_SPACE(sizeof(int)) is 24; some to spare. */
export const GRO_CONTROL = 32;
/** The page size madvise and mincore work in (x86-64 and arm64 Linux as built here). */
export const PAGE = 4096;
const MADV_DONTNEED = 4;

/**
 * The receive side of UDP GRO: `recvmmsg` messages with 64 KiB of room each, their UDP_GRO
 * cmsgs, and where the split of the messages in hand has got to.
 */
export class GroReceiver {
  /** The messages' headers. */
  readonly msg: MsgVec;
  /** The messages' room, `GRO_MESSAGE_BYTES` each, in one buffer. */
  readonly bytes: Uint8Array;
  /** The messages' cmsg room, `GRO_CONTROL` bytes each. */
  readonly control: DataView;
  /** Each message's sender, as the kernel wrote it. */
  readonly names: Uint8Array[] = [];
  /** Per message in hand: its length and its segment size (the length if not coalesced). */
  readonly len: Int32Array;
  /** Per message in hand: its segment size. */
  readonly seg: Int32Array;
  /** Messages the next read asks for (fewer while the kernel coalesces). */
  want: number;
  /**
   * Whether a message past the first `GRO_COALESCED_MESSAGES` was coalesced (wrote past its
   * first page): the next read, which asks for only those first ones, gives that room back.
   */
  spilled = false;
  /** Messages in hand, the one being split, and the byte in it where the next datagram starts. */
  count = 0;
  /** The message being split. */
  cur = 0;
  /** Where in it the next datagram starts. */
  pos = 0;
  // Per message: views of its segments for the segment size they were made for, so the steady
  // state (one size, as a GSO sender or the kernel's GRO makes) copies without allocating.
  readonly #views: Uint8Array[][] = [];
  readonly #viewSeg: Int32Array;

  /** Room for `max` messages. */
  constructor(max: number) {
    this.want = max;
    this.msg = new MsgVec(max);
    // Pages count only once the kernel writes to them.
    this.bytes = new Uint8Array(max * GRO_MESSAGE_BYTES);
    const control = new Uint8Array(max * GRO_CONTROL);
    this.control = new DataView(control.buffer);
    const controlAddr = addressOf(control);
    const names = new Uint8Array(max * ENDPOINT_SIZE);
    for (let k = 0; k < max; k++) {
      const at = k * GRO_MESSAGE_BYTES;
      this.msg.setBuf(k, this.bytes.subarray(at, at + GRO_MESSAGE_BYTES), 0);
      this.msg.iov32[k * IOV_WORDS + 2] = GRO_MESSAGE_BYTES;
      const name = names.subarray(k * ENDPOINT_SIZE, (k + 1) * ENDPOINT_SIZE);
      this.msg.setName(k, name, ENDPOINT_SIZE);
      this.names.push(name);
      putAddress(this.msg.hdr32, k * MMSG_WORDS + W_CONTROL, controlAddr + k * GRO_CONTROL);
      this.#views.push([]);
    }
    this.len = new Int32Array(max);
    this.seg = new Int32Array(max);
    this.#viewSeg = new Int32Array(max);
  }

  /** Message `k`'s UDP_GRO segment size from its `controllen` bytes of cmsgs; 0 if none. */
  segmentSize(k: number, controllen: number): number {
    const dv = this.control, base = k * GRO_CONTROL;
    // struct cmsghdr on LP64: len u64 [0], level i32 [8], type i32 [12], data [16].
    for (let at = 0; at + 16 <= controllen;) {
      const len = dv.getUint32(base + at, true);
      if (len < 16) break;
      if (
        dv.getInt32(base + at + 8, true) === SOL_UDP &&
        dv.getInt32(base + at + 12, true) === UDP_GRO && len >= 18
      ) {
        return dv.getUint16(base + at + 16, true);
      }
      at += (len + 7) & ~7;
    }
    return 0;
  }

  /**
   * The whole pages of messages `from` to `to` (exclusive) as an address range: the room may
   * start and end inside a page that the allocator shares with something else.
   */
  #pages(from: number, to: number): [number, number] {
    const base = addressOf(this.bytes);
    const start = Math.ceil((base + from * GRO_MESSAGE_BYTES) / PAGE) * PAGE;
    const end = Math.floor((base + to * GRO_MESSAGE_BYTES) / PAGE) * PAGE;
    return [start, Math.max(0, end - start)];
  }

  /**
   * Drops the pages of every message past the first `GRO_COALESCED_MESSAGES`: the kernel gives
   * them back zeroed if a later read writes there again. Only between reads, with nothing in hand.
   */
  release(): void {
    this.spilled = false;
    const [start, len] = this.#pages(GRO_COALESCED_MESSAGES, this.msg.max);
    if (len > 0) libc().madvise(start, len, MADV_DONTNEED);
  }

  /** Bytes of the receive room now resident (whole pages; for status and tests). */
  residentBytes(): number {
    const [start, len] = this.#pages(0, this.msg.max);
    const vec = new Uint8Array(len / PAGE);
    if (len === 0 || libc().mincore(start, len, vec) !== 0) return 0;
    let n = 0;
    for (const b of vec) n += b & 1;
    return n * PAGE;
  }

  /** A view of segment `s` of message `k` (`seg[k]` bytes). */
  segment(k: number, s: number): Uint8Array {
    const seg = this.seg[k];
    const views = this.#views[k];
    if (this.#viewSeg[k] !== seg) {
      views.length = 0;
      this.#viewSeg[k] = seg;
    }
    let v = views[s];
    if (v === undefined) {
      const at = k * GRO_MESSAGE_BYTES + s * seg;
      v = views[s] = this.bytes.subarray(at, at + seg);
    }
    return v;
  }
}
