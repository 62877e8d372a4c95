/**
 * warren's HTTP/2 client (src/control/h2) against Go's HTTP/2 server — the server code Headscale's
 * control server runs (x/net/http2, here as bundled in net/http; tests/testdata/go_h2_server,
 * built with the Debian Go toolchain) — over TLS with ALPN h2: a JSON POST with a body larger
 * than the server's initial window, repeated headers, Go's Huffman-coded response headers, and a
 * 3 MB streamed response through 64 KiB receive windows.
 */
import assert from "node:assert/strict";
import { H2Connection } from "../src/control/h2/connection.ts";
import { tcpTransport } from "../src/control/h2/_test_util.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import { buildGo, goSkip } from "./_go.ts";

const SERVER_SRC = new URL("./testdata/go_h2_server/", import.meta.url).pathname;

/** Reads the server's first stdout line. */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`go_h2_server exited: ${JSON.stringify(text)}`);
    text += value;
  }
  reader.releaseLock();
  return text.slice(0, text.indexOf("\n"));
}

testOrSkip(import.meta, goSkip(), {
  name: "the HTTP/2 client talks to Go's HTTP/2 server (Headscale's): POSTs and a 3 MB stream",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "warren-go-h2-" });
    let child: Deno.ChildProcess | null = null;
    try {
      const bin = await buildGo(SERVER_SRC, dir, "go_h2_server");
      child = new Deno.Command(bin, { stdout: "piped", stderr: "null" }).spawn();
      const { port, ca } = JSON.parse(await firstLine(child.stdout));
      const tls = await Deno.connectTls({
        hostname: "127.0.0.1",
        port,
        caCerts: [ca],
        alpnProtocols: ["h2"],
      });
      assert.equal((await tls.handshake()).alpnProtocol, "h2");
      const h2 = new H2Connection(tcpTransport(tls), {
        authority: "control.test",
        streamWindow: 65535,
        connectionWindow: 65535,
      });
      try {
        const body = new TextEncoder().encode(JSON.stringify({ pad: "x".repeat(100_000) }));
        const reg = await h2.request({
          method: "POST",
          path: "/machine/register",
          headers: { "content-type": "application/json", "ts-lb": ["nodekey:aa", "nodekey:bb"] },
          body,
        });
        assert.equal(reg.status, 200);
        assert.equal(reg.headers.find(([n]) => n === "content-type")?.[1], "application/json");
        assert.ok(reg.headers.some(([n]) => n === "date"));
        const got = JSON.parse(new TextDecoder().decode(await reg.readAll(1 << 16)));
        assert.deepEqual(got, {
          proto: "HTTP/2.0",
          n: body.length,
          lb: ["nodekey:aa", "nodekey:bb"],
          host: "control.test",
        });
        const map = await h2.request({
          method: "POST",
          path: "/machine/map",
          body: new Uint8Array(2),
        });
        let n = 0;
        for await (const c of map) {
          assert.ok(c.every((b) => b === 0x6d));
          n += c.length;
        }
        assert.equal(n, 3_000_000);
        assert.equal(h2.alive, true);
      } finally {
        h2.close();
      }
    } finally {
      if (child !== null) {
        child.kill();
        await child.status;
        await child.stdout.cancel().catch(() => {});
      }
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
