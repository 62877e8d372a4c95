/**
 * The tunnel: bytes both ways between a client and an upstream, with
 * half-close carried through (a FIN on one side becomes a FIN on the other)
 * and both ends torn down once both directions are done or either fails.
 *
 * @module
 */

import type { ByteSink, ByteSource, ProxyConn } from "./types.ts";

/** Bytes already read off a side before the tunnel started, to forward first. */
export interface RelayPrefix {
  /** Bytes from the client still owed to the upstream. */
  toUpstream?: Uint8Array;
  /** Bytes from the upstream still owed to the client. */
  toClient?: Uint8Array;
}

/**
 * Pipes `client` ⇄ `upstream` until both directions end, then closes both.
 * Never rejects: a reset on either side just ends the tunnel.
 *
 * @example
 * ```ts ignore
 * import { relay } from "./relay.ts";
 * await relay(clientConn, upstreamConn);
 * ```
 */
export async function relay(
  client: ProxyConn,
  upstream: ProxyConn,
  prefix: RelayPrefix = {},
): Promise<void> {
  let failed!: () => void;
  const failure = new Promise<void>((resolve) => failed = resolve);
  const pump = async (src: ProxyConn, dst: ProxyConn, first?: Uint8Array) => {
    try {
      if (first !== undefined && first.length > 0) {
        const w = dst.writable.getWriter();
        await w.write(first);
        w.releaseLock();
      }
      if (src.source !== undefined && dst.sink !== undefined) {
        await pipeDirect(src.source, dst.sink);
      } else await src.readable.pipeTo(dst.writable);
    } catch {
      failed();
    }
  };
  await Promise.race([
    Promise.all([
      pump(client, upstream, prefix.toUpstream),
      pump(upstream, client, prefix.toClient),
    ]),
    failure,
  ]);
  client.close();
  upstream.close();
}

/**
 * `src` to `dst` until `src` ends, then half-closes `dst`: each view `src`
 * lends goes to `dst` as it is, so no byte is copied in between and no
 * chunk allocated (the bulk path of a download through the proxy).
 */
async function pipeDirect(src: ByteSource, dst: ByteSink): Promise<void> {
  for (let b = await src.peek(); b !== null; b = await src.peek()) {
    src.consume(await dst.write(b));
  }
  await dst.closeWrite();
}
