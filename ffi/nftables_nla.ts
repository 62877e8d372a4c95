/**
 * Netlink attributes as nf_tables nests them: a type, and either a payload or a list of
 * attributes inside (flagged NLA_F_NESTED), each padded to 4 bytes. Pure functions over
 * `Uint8Array`, shared by {@link ./nftables_codec.ts} and {@link ./nftables_expr.ts}.
 *
 * @module
 */

import { align4 } from "./netlink_codec.ts";

/** sizeof(struct nlattr): u16 len (header included, padding excluded), u16 type. */
export const NLA_HDRLEN = 4;
/** Attribute type flag: the payload is a list of attributes. */
export const NLA_F_NESTED = 0x8000;
/** Attribute type flag: the payload is in network byte order (nf_tables does not set it). */
export const NLA_F_NET_BYTEORDER = 0x4000;

/**
 * One attribute: `[type, payload]`, or `[type, [...attributes]]` for a nested one, which the
 * encoder flags NLA_F_NESTED (an empty list is an empty nest, as `masq` without options has).
 */
export type Nla = readonly [type: number, value: Uint8Array | readonly Nla[]];

/** One decoded attribute; a nested one's `value` can be passed to {@link decodeNlas} again. */
export interface DecodedNla {
  /** The type without the NLA_F_NESTED and NLA_F_NET_BYTEORDER flags. */
  type: number;
  /** Whether NLA_F_NESTED was set. */
  nested: boolean;
  /** The payload, without padding. */
  value: Uint8Array;
}

function size(list: readonly Nla[]): number {
  let n = 0;
  for (const [, v] of list) {
    n += align4(NLA_HDRLEN + (v instanceof Uint8Array ? v.length : size(v)));
  }
  return n;
}

function write(list: readonly Nla[], out: Uint8Array, dv: DataView, off: number): number {
  for (const [type, v] of list) {
    const start = off;
    off += NLA_HDRLEN;
    if (v instanceof Uint8Array) {
      out.set(v, off);
      off += v.length;
    } else {
      off = write(v, out, dv, off);
    }
    const len = off - start;
    if (len > 0xffff) throw new RangeError(`Cannot encode netlink attribute ${type}: ${len} bytes`);
    dv.setUint16(start, len, true);
    dv.setUint16(start + 2, v instanceof Uint8Array ? type : type | NLA_F_NESTED, true);
    off = start + align4(len);
  }
  return off;
}

/**
 * Encodes attributes back to back, each padded to 4 bytes with zeros.
 *
 * @example
 * ```ts
 * import { encodeNlas, nlaU32 } from "./nftables_nla.ts";
 * encodeNlas([[4, [[1, nlaU32(2)]]]]).length; // 12: a nest holding one u32
 * ```
 */
export function encodeNlas(list: readonly Nla[]): Uint8Array {
  const out = new Uint8Array(size(list));
  write(list, out, new DataView(out.buffer), 0);
  return out;
}

/**
 * The attributes in `buf`, in order (repeats kept). Throws a RangeError on a length that points
 * outside `buf`, which only a kernel bug or a short read would produce.
 */
export function decodeNlas(buf: Uint8Array): DecodedNla[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: DecodedNla[] = [];
  let off = 0;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = dv.getUint16(off, true);
    if (len < NLA_HDRLEN || off + len > buf.length) {
      throw new RangeError(
        `Cannot decode netlink attribute at byte ${off}: length ${len} outside 4-${
          buf.length - off
        }`,
      );
    }
    const type = dv.getUint16(off + 2, true);
    out.push({
      type: type & ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER),
      nested: (type & NLA_F_NESTED) !== 0,
      value: buf.subarray(off + NLA_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** A NUL-terminated UTF-8 string payload. */
export function nlaString(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** A u32 payload in network byte order, as every nf_tables integer attribute is. */
export function nlaU32(v: number): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new RangeError(`Invalid u32 attribute ${v}: must be 0-4294967295`);
  }
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, false);
  return b;
}
