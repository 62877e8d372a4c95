/**
 * Test helpers for the relays of a userspace node (forwards, routed flows):
 * a host service that answers what it read, and a client exchange with
 * half-close.
 *
 * @module
 */
import { pattern, sha256 } from "../netstack/tcp_conn_testing.ts";
import type { TcpStream } from "../netstack/tcp_stream.ts";
import { fromDenoConn } from "../proxy/deno_conn.ts";

/** What the service sends after the digest. */
export const REPLY: Uint8Array = pattern(1 << 20, 7);

/**
 * A host service on 127.0.0.1: reads until the client's FIN, then answers the
 * SHA-256 of what it read and 1 MiB of pattern, then closes.
 */
export function startService(): { port: number; done: Promise<void>; close(): void } {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serve = async (raw: Deno.Conn) => {
    // Deno's own streams close the socket at the client's FIN; these keep the write side.
    const c = fromDenoConn(raw);
    const got = new Uint8Array(await new Response(c.readable).arrayBuffer());
    const w = c.writable.getWriter();
    await w.write(new TextEncoder().encode(`${await sha256(got)}\n`));
    await w.write(REPLY);
    await w.close();
    c.close();
  };
  const done = (async () => {
    for await (const c of ln) void serve(c).catch(() => {});
  })();
  return { port: (ln.addr as Deno.NetAddr).port, done, close: () => ln.close() };
}

/** Writes `data`, half-closes, and reads everything back. */
export async function exchange(s: TcpStream, data: Uint8Array): Promise<Uint8Array> {
  const w = s.writable.getWriter();
  const reading = new Response(s.readable).arrayBuffer();
  for (let o = 0; o < data.length; o += 64 * 1024) await w.write(data.subarray(o, o + 64 * 1024));
  await w.close(); // half-close: the service answers only after our FIN
  return new Uint8Array(await reading);
}
