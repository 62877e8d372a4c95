/**
 * Test helper run inside the kernel-TCP test's namespace: opens COUNT
 * connections at once with the kernel's TCP (`Deno.connect`) to HOST:PORT,
 * each a tiny HTTP/1.1 POST of UP bytes (distinct per connection) asking for
 * DOWN bytes of the reply pattern, and checks every answer: the upload's
 * SHA-256 in `X-Body-Sha256` and the body byte for byte. Prints one JSON
 * line: `{ ok, failures }`.
 *
 *   deno run -A tcp_kernel_clients.ts COUNT HOST PORT UP DOWN
 *
 * @module
 */
import { toHex } from "../../bytes/hex.ts";
import { bytesEqual } from "../../bytes/equal.ts";
import { replyPattern } from "./reply_pattern.ts";

const [count, host, port, upBytes, downBytes] = [
  Number(Deno.args[0]),
  Deno.args[1],
  Number(Deno.args[2]),
  Number(Deno.args[3]),
  Number(Deno.args[4]),
];
const pattern = replyPattern(downBytes + count);
const enc = new TextEncoder(), dec = new TextDecoder();

async function one(i: number): Promise<string | null> {
  // Each connection uploads its own slice of the pattern, so a mix-up between connections shows.
  const body = pattern.slice(i, i + Math.min(upBytes, pattern.length - i));
  const conn = await Deno.connect({ hostname: host, port });
  try {
    const head = `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n` +
      `X-Reply-Bytes: ${downBytes}\r\n\r\n`;
    const writing = (async () => {
      const w = conn.writable.getWriter();
      await w.write(enc.encode(head));
      await w.write(body);
      w.releaseLock();
    })();
    const got = new Uint8Array(await new Response(conn.readable).arrayBuffer());
    await writing;
    const text = dec.decode(got.subarray(0, Math.min(got.length, 1024)));
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) return `connection ${i}: no header in ${got.length} bytes`;
    const sha = /x-body-sha256: *([0-9a-f]{64})/i.exec(text.slice(0, end))?.[1];
    const want = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", body)));
    if (sha !== want) return `connection ${i}: upload SHA-256 ${sha}, want ${want}`;
    const reply = got.subarray(end + 4);
    if (!bytesEqual(reply, pattern.subarray(0, downBytes))) {
      return `connection ${i}: reply of ${reply.length} bytes differs`;
    }
    return null;
  } catch (e) {
    return `connection ${i}: ${e instanceof Error ? e.message : e}`;
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the streams already
    }
  }
}

const results = await Promise.all(Array.from({ length: count }, (_, i) => one(i)));
const failures = results.filter((r) => r !== null);
console.log(JSON.stringify({ ok: count - failures.length, failures: failures.slice(0, 10) }));
