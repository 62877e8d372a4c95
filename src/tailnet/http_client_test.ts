import assert from "node:assert/strict";
import { fromDenoConn } from "../proxy/deno_conn.ts";
import { pattern, sha256 } from "../netstack/tcp_conn_testing.ts";
import { type HttpDial, httpFetch } from "./http_client.ts";

/** Dials loopback, remembering each host it was asked for. */
function loopbackDial(asked: string[] = []): HttpDial {
  return async (hostname, port) => {
    asked.push(`${hostname}:${port}`);
    return fromDenoConn(await Deno.connect({ hostname: "127.0.0.1", port }));
  };
}

Deno.test("httpFetch against Deno.serve: sized, chunked and empty responses; sized and streamed uploads", async () => {
  const big = new Uint8Array(pattern(1 << 20, 5));
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const u = new URL(req.url);
      if (u.pathname === "/stream") {
        return new Response(
          ReadableStream.from([big.subarray(0, 10), big.subarray(10)]),
        );
      }
      if (u.pathname === "/none") return new Response(null, { status: 204 });
      const body = new Uint8Array(await req.arrayBuffer());
      return new Response(
        `${req.method} ${u.pathname} ${req.headers.get("host")} ${req.headers.get("x-a")} ${
          req.headers.get("transfer-encoding") ?? "sized"
        } ${body.length} ${await sha256(body)}`,
      );
    },
  );
  const port = server.addr.port;
  const asked: string[] = [];
  const dial = loopbackDial(asked);
  const get = await httpFetch(dial, `http://peer:${port}/x`, { headers: { "x-a": "1" } });
  assert.equal(get.status, 200);
  assert.equal(await get.text(), `GET /x peer:${port} 1 sized 0 ${await sha256(new Uint8Array())}`);
  assert.deepEqual(asked, [`peer:${port}`]);
  const stream = await httpFetch(dial, `http://peer:${port}/stream`);
  assert.equal(await sha256(new Uint8Array(await stream.arrayBuffer())), await sha256(big));
  const none = await httpFetch(dial, `http://peer:${port}/none`);
  assert.equal(none.status, 204);
  assert.equal(none.body, null);
  const sized = await httpFetch(dial, `http://peer:${port}/up`, { method: "POST", body: big });
  assert.equal(
    await sized.text(),
    `POST /up peer:${port} null sized ${big.length} ${await sha256(big)}`,
  );
  const streamed = await httpFetch(dial, `http://peer:${port}/up`, {
    method: "PUT",
    body: ReadableStream.from([big.subarray(0, 5), big.subarray(5)]),
  });
  assert.equal(
    await streamed.text(),
    `PUT /up peer:${port} null chunked ${big.length} ${await sha256(big)}`,
  );
  const head = await httpFetch(dial, `http://[fd7a::1]:${port}/x`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
  assert.equal(asked.at(-1), `fd7a::1:${port}`, "brackets are the URL's, not the host's");
  await assert.rejects(httpFetch(dial, "https://peer/"), TypeError);
});

Deno.test("httpFetch: a body to end of stream, 100 Continue skipped, abort closes the connection", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    for await (const c of listener) {
      const buf = new Uint8Array(4096);
      const n = await c.read(buf);
      const req = new TextDecoder().decode(buf.subarray(0, n ?? 0));
      if (req.includes("/eof")) {
        await c.write(
          new TextEncoder().encode(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nto the end",
          ),
        );
        c.close();
      } else {
        // Never answers: the client must give up on abort.
        await c.read(buf).catch(() => null);
        c.close();
      }
    }
  })();
  try {
    const dial = loopbackDial();
    const port = listener.addr.port;
    const r = await httpFetch(dial, `http://127.0.0.1:${port}/eof`);
    assert.equal(await r.text(), "to the end");
    const ac = new AbortController();
    const pending = httpFetch(dial, `http://127.0.0.1:${port}/hang`, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error("given up")), 50);
    await assert.rejects(pending, /given up/);
  } finally {
    listener.close();
    await served.catch(() => {});
  }
});
