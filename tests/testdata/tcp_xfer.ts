/**
 * A checksummed TCP transfer for tunnel tests.
 *
 *   deno run -A tcp_xfer.ts serve HOST PORT        accept one connection, read to EOF,
 *                                                  print "<bytes> <sha256>"
 *   deno run -A tcp_xfer.ts send HOST PORT BYTES [RATE]
 *                                                  send BYTES pseudo-random bytes (at most
 *                                                  RATE bytes/s if given), print "<bytes> <sha256>"
 *
 * @module
 */
import { createHash } from "node:crypto";

const [mode, host, portText, bytesText, rateText] = Deno.args;
const port = Number(portText);
const hash = createHash("sha256");
let total = 0;
if (mode === "serve") {
  const listener = Deno.listen({ hostname: host, port });
  console.log("listening");
  const conn = await listener.accept();
  listener.close();
  for await (const chunk of conn.readable) {
    hash.update(chunk);
    total += chunk.length;
  }
} else if (mode === "send") {
  const want = Number(bytesText);
  const rate = rateText ? Number(rateText) : Infinity;
  const started = performance.now();
  const conn = await Deno.connect({ hostname: host, port });
  // xorshift32 stream: cheap, deterministic, not compressible.
  const chunk = new Uint8Array(64 * 1024);
  const words = new Uint32Array(chunk.buffer);
  let x = 0x9e3779b9;
  const writer = conn.writable.getWriter();
  while (total < want) {
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x >>> 0;
    }
    const part = chunk.subarray(0, Math.min(chunk.length, want - total));
    hash.update(part);
    await writer.write(part.slice());
    total += part.length;
    const ahead = total / rate * 1000 - (performance.now() - started);
    if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
  }
  await writer.close();
} else {
  console.error("usage: tcp_xfer.ts serve HOST PORT | send HOST PORT BYTES");
  Deno.exit(2);
}
console.log(`${total} ${hash.digest("hex")}`);
