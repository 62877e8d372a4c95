/**
 * Test helper for tests/library_test.ts: a Deno program that joins the
 * tailnet in process with the library (`Tailnet.up` from the root mod.ts)
 * and reports, one JSON object per stdout line: a bad key's error, its
 * addresses once up, a fetch of the peer's `/body` by MagicDNS short name
 * and an upload to its `/sha` by FQDN, a raw `connect` by IP, and its
 * status. Meanwhile it serves `GET /body` (`WARREN_BODY_BYTES` seeded bytes)
 * and `POST /sha` on tailnet port 80; SIGTERM closes the node.
 *
 * Usage: library_node.ts CONTROL_URL AUTH_KEY PEER PEER_PORT
 *
 * @module
 */
import { toHex } from "../../src/bytes/hex.ts";
import { mulberry32 } from "../../src/testing/prng.ts";
import { Tailnet } from "../../mod.ts";

const [controlUrl, authKey, peer, peerPort] = Deno.args;
const out = (o: unknown) => console.log(JSON.stringify(o));
const n = Number(Deno.env.get("WARREN_BODY_BYTES") ?? String(2 << 20));
const bytes = (seed: number) => {
  const b = new Uint8Array(n);
  const r = mulberry32(seed);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
};
const sha = async (b: Uint8Array) =>
  toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>)));

try {
  await Tailnet.up({ controlUrl, authKey: "tskey-wrong", hostname: "bad", loginTimeoutMs: 5000 });
  out({ badKey: null });
} catch (e) {
  out({ badKey: (e as Error).message });
}

const node = await Tailnet.up({
  controlUrl,
  authKey,
  hostname: "lib",
  derpHttp: true,
  log: (line) => console.error(line),
});
Deno.addSignalListener("SIGTERM", async () => {
  await node.close();
  out({ closed: true });
  Deno.exit(0);
});
const body = bytes(30);
node.serve({ port: 80 }, async (req) => {
  const path = new URL(req.url).pathname;
  if (req.method === "GET" && path === "/body") return new Response(body);
  if (req.method === "POST" && path === "/sha") {
    const got = new Uint8Array(await req.arrayBuffer());
    return new Response(`${got.length} ${await sha(got)}\n`);
  }
  return new Response(`hello from ${req.headers.get("host")}\n`);
});
out({ up: node.addresses, bodySha: await sha(body) });

const t0 = performance.now();
const got = await node.fetch(`http://${peer}:${peerPort}/body`);
const fetched = new Uint8Array(await got.arrayBuffer());
const ms = performance.now() - t0;
out({ fetched: await sha(fetched), status: got.status, bytes: fetched.length });
console.error(`fetched ${fetched.length} bytes in ${ms.toFixed(0)} ms`);

const up = bytes(31);
const posted = await node.fetch(`http://${peer}.tailnet.test:${peerPort}/sha`, {
  method: "POST",
  body: up,
});
out({ posted: (await posted.text()).trim(), upSha: await sha(up) });

const ip = node.lookup(peer);
await using conn = await node.connect({ hostname: ip, port: Number(peerPort) });
const w = conn.writable.getWriter();
await w.write(
  new TextEncoder().encode("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
);
await w.close();
const raw = await new Response(conn.readable).text();
out({ raw: raw.split("\r\n")[0], remote: conn.remoteAddr, local: conn.localAddr });

out({ status: node.status() });
