/**
 * Test helper: an HTTP server on each `HOST:PORT` argument. `GET /body`
 * answers `WARREN_BODY_BYTES` (default 20 MiB) seeded pseudo-random bytes;
 * `POST /sha` answers the SHA-256 (hex) of the request body. Prints
 * "listening <sha256 of the body>" once every listener is open.
 *
 * @module
 */
import { toHex } from "../../src/bytes/hex.ts";
import { mulberry32 } from "../../src/testing/prng.ts";

const n = Number(Deno.env.get("WARREN_BODY_BYTES") ?? String(20 << 20));
const body = new Uint8Array(n);
const r = mulberry32(20);
for (let i = 0; i < n; i++) body[i] = (r() * 256) | 0;
const CHUNK = 1024 * 1024;
const sha = (b: Uint8Array) => crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>);

async function handle(req: Request): Promise<Response> {
  const path = new URL(req.url).pathname;
  if (req.method === "GET" && path === "/body") {
    // In views of the one body, not the body itself: a whole Uint8Array is copied into a
    // fresh buffer per response before its first byte goes out. For 128 MiB on loopback that
    // was 57-146 ms before the first byte and ~110 ms of CPU a download, against under 1 ms
    // and ~60 ms streamed (2026-12-04): a benchmark would count it against the tunnel.
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (at >= body.length) return c.close();
        c.enqueue(body.subarray(at, at += CHUNK));
      },
    });
    return new Response(stream, { headers: { "content-length": String(body.length) } });
  }
  if (req.method === "POST" && path === "/sha") {
    const got = new Uint8Array(await req.arrayBuffer());
    return new Response(`${got.length} ${toHex(new Uint8Array(await sha(got)))}\n`);
  }
  return new Response("not found\n", { status: 404 });
}

for (const arg of Deno.args) {
  const i = arg.lastIndexOf(":");
  const hostname = arg.slice(0, i).replace(/^\[|\]$/g, "");
  await new Promise<void>((ready) =>
    Deno.serve({ hostname, port: Number(arg.slice(i + 1)), onListen: () => ready() }, handle)
  );
}
console.log(`listening ${toHex(new Uint8Array(await sha(body)))}`);
