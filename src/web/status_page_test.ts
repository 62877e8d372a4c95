import assert from "node:assert/strict";
import type { NodeStatus } from "../daemon/status.ts";
import { fakeNode, fakePeer } from "./_fake_status.ts";
import { serveStatusPage, type StatusPageOptions } from "./status_page.ts";

/** Reads SSE frames ("event"/"data" or a ": comment") off a response body. */
function frames(body: ReadableStream<Uint8Array>) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  return {
    async next(): Promise<{ event?: string; data?: string; comment?: string }> {
      for (;;) {
        const end = buf.indexOf("\n\n");
        if (end >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          if (frame.startsWith("retry:")) continue;
          if (frame.startsWith(":")) return { comment: frame.slice(1).trim() };
          const out: { event?: string; data?: string } = {};
          for (const line of frame.split("\n")) {
            const [k, v] = [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)];
            if (k === "event") out.event = v;
            if (k === "data") out.data = out.data === undefined ? v : `${out.data}\n${v}`;
          }
          return out;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("Event stream ended");
        buf += value;
      }
    },
    cancel: () => reader.cancel(),
  };
}

/** The response head to a GET with this Host header (none when null): fetch() will not send a forged one. */
async function rawGet(port: number, path: string, host: string | null): Promise<string> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = host === null
    ? `GET ${path} HTTP/1.0\r\n\r\n`
    : `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
  await conn.write(new TextEncoder().encode(head));
  const buf = new Uint8Array(4096);
  const n = await conn.read(buf);
  return new TextDecoder().decode(buf.subarray(0, n ?? 0));
}

function serve(
  statuses: () => Promise<Record<string, NodeStatus>>,
  more: Partial<StatusPageOptions> = {},
) {
  return serveStatusPage({ port: 0, intervalMs: 20, ...more, statuses });
}

Deno.test("GET /status.json answers { networks } with one status per network", async () => {
  const corp = fakeNode([fakePeer()]);
  const lab = fakeNode([], { interface: "ts-lab", state: "NeedsLogin" });
  await using page = serve(() => Promise.resolve({ corp, lab }));
  const res = await fetch(`${page.url}status.json`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { networks: { corp, lab } });
});

Deno.test("GET / is the whole page, rendered on the server, under a strict CSP", async () => {
  await using page = serve(() =>
    Promise.resolve({
      corp: fakeNode([fakePeer(), fakePeer({ publicKey: "nodekey:2", name: "<img src=x>" })]),
    })
  );
  const res = await fetch(page.url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(res.headers.get("content-security-policy")!, /default-src 'none'/);
  const html = await res.text();
  const main = html.slice(html.indexOf('<main id="networks">'), html.indexOf("</main>"));
  assert.equal(main.match(/<tr class="peer /g)?.length, 2);
  assert.match(html, /&lt;img src=x&gt;/);
  assert.doesNotMatch(html, /<img/);
});

Deno.test("GET /events pushes the status at once and again when it changes", async () => {
  let rx = 100;
  await using page = serve(() =>
    Promise.resolve({ corp: fakeNode([fakePeer({ rxBytes: rx, latestHandshake: 1 })]) })
  );
  const res = await fetch(`${page.url}events`);
  assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const ev = frames(res.body!);
  const first = await ev.next();
  assert.equal(first.event, undefined);
  assert.equal(JSON.parse(first.data!).networks.corp.peers[0].rxBytes, 100);
  rx = 4096;
  const second = await ev.next();
  assert.equal(JSON.parse(second.data!).networks.corp.peers[0].rxBytes, 4096);
  await ev.cancel();
});

Deno.test("GET /events keeps an idle stream alive with a comment", async () => {
  await using page = serve(() => Promise.resolve({}), { keepAliveMs: 30 });
  const ev = frames((await fetch(`${page.url}events`)).body!);
  assert.deepEqual(await ev.next(), { data: '{"networks":{}}' });
  assert.deepEqual(await ev.next(), { comment: "keep-alive" });
  await ev.cancel();
});

Deno.test("a status that cannot be read is reported on the page, in JSON and as an event", async () => {
  let fail = true;
  await using page = serve(() =>
    fail ? Promise.reject(new Error("no node <here>")) : Promise.resolve({})
  );
  const res = await fetch(page.url);
  assert.equal(res.status, 503);
  assert.match(await res.text(), /Cannot read status: no node &lt;here&gt;/);
  const json = await fetch(`${page.url}status.json`);
  assert.equal(json.status, 503);
  assert.deepEqual(await json.json(), { error: "Cannot read status: no node <here>" });
  const ev = frames((await fetch(`${page.url}events`)).body!);
  assert.deepEqual(await ev.next(), {
    event: "unavailable",
    data: '{"error":"Cannot read status: no node <here>"}',
  });
  fail = false;
  assert.deepEqual(await ev.next(), { data: '{"networks":{}}' });
  await ev.cancel();
});

Deno.test("a request whose Host header names another site is refused (DNS rebinding)", async () => {
  await using page = serve(() => Promise.resolve({}));
  const port = page.addr.port;
  for (const path of ["/", "/status.json", "/events"]) {
    assert.match(await rawGet(port, path, `attacker.example:${port}`), /^HTTP\/1\.1 403 /, path);
  }
  assert.match(await rawGet(port, "/status.json", `localhost:${port}`), /^HTTP\/1\.1 200 /);
  assert.match(await rawGet(port, "/status.json", null), /^HTTP\/1\.0 403 |^HTTP\/1\.1 403 /);
});

Deno.test("more event streams than maxClients get 503", async () => {
  await using page = serve(() => Promise.resolve({}), { maxClients: 1 });
  const first = await fetch(`${page.url}events`);
  const second = await fetch(`${page.url}events`);
  assert.equal(second.status, 503);
  await second.body?.cancel();
  await first.body?.cancel();
});

Deno.test("an event stream whose reader stops reading is dropped", async () => {
  // Big, ever-changing statuses fill the socket buffers quickly.
  const peers = Array.from({ length: 2000 }, (_, i) => fakePeer({ publicKey: `nodekey:${i}` }));
  let n = 0;
  await using page = serve(
    () => Promise.resolve({ corp: fakeNode(peers, { pid: n++ }) }),
    { intervalMs: 1, queueLimit: 4 },
  );
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: page.addr.port });
  await conn.write(
    new TextEncoder().encode(
      `GET /events HTTP/1.1\r\nHost: 127.0.0.1:${page.addr.port}\r\n\r\n`,
    ),
  );
  // Never read: the server must notice and let go. The deadline only stops a hang.
  const deadline = Date.now() + 30_000;
  while (page.droppedClients() === 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(page.droppedClients(), 1, "the stuck client was never dropped");
  assert.equal(page.clients(), 0);
});

Deno.test("shutdown() ends open event streams and the server finishes", async () => {
  const ac = new AbortController();
  const page = serve(() => Promise.resolve({}), { signal: ac.signal });
  const ev = frames((await fetch(`${page.url}events`)).body!);
  await ev.next();
  ac.abort();
  await page.finished;
  await assert.rejects(ev.next());
});

Deno.test("other methods get 405 and other paths 404", async () => {
  await using page = serve(() => Promise.resolve({}));
  const post = await fetch(page.url, { method: "POST", body: "x" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  await post.body?.cancel();
  const missing = await fetch(`${page.url}nope`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});
