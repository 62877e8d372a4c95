/**
 * The seeded bytes tcp_kernel_server.ts answers with, which the kernel-TCP
 * tests and their client make too, to check what arrived.
 *
 * @module
 */
import { mulberry32 } from "../../testing/prng.ts";

/**
 * The first `n` bytes of the reply pattern.
 *
 * @example
 * ```ts
 * import { replyPattern } from "./reply_pattern.ts";
 * replyPattern(4).length; // 4
 * ```
 */
export function replyPattern(n: number): Uint8Array<ArrayBuffer> {
  const r = mulberry32(0xbeef);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}
