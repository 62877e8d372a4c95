/**
 * A published LocalAPI client (npm `tslocal`, a port of tailscale's Go
 * `client/local`) against the handler served on a unix socket, as tailscaled
 * serves its LocalAPI. tslocal 1.1.0 has no ping method, so ping goes through
 * node:http over the same socket, the way tslocal's own transport sends.
 */
import assert from "node:assert/strict";
import * as http from "node:http";
import { Client, PeerNotFoundError } from "tslocal";
import { localApiHandler } from "./handler.ts";
import { FakeNode, fixtureJson, TS_A_KEY } from "./testdata.ts";

async function serve(node: FakeNode) {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/tailscaled.sock`;
  const server = Deno.serve({ path, onListen() {} }, localApiHandler(node));
  return {
    path,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function post(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath,
        path,
        method: "POST",
        headers: { Host: "local-tailscaled.sock", "Tailscale-Cap": "133" },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => body += c);
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

Deno.test("tslocal's Client reads status, status without peers and whois from the socket", async () => {
  await using srv = await serve(new FakeNode());
  const client = new Client({ socketPath: srv.path, useSocketOnly: true });
  try {
    const st = await client.status();
    assert.equal(st.BackendState, "Running");
    assert.deepEqual(st.TailscaleIPs, ["100.64.0.2", "fd7a:115c:a1e0::2"]);
    assert.equal(st.Self?.HostName, "ts-b");
    assert.equal(st.CurrentTailnet?.MagicDNSSuffix, "tslab.test");
    const peer = st.Peer?.[TS_A_KEY];
    assert.equal(peer?.HostName, "ts-a");
    assert.equal(peer?.ExitNodeOption, true);
    assert.equal(peer?.RxBytes, 348n); // tslocal reads int64 as bigint

    const lite = await client.statusWithoutPeers();
    assert.equal(lite.Self?.DNSName, "ts-b.tslab.test.");
    assert.ok(!lite.Peer || Object.keys(lite.Peer).length === 0);

    const who = await client.whoIs("100.64.0.1");
    assert.equal(who.Node?.Name, "ts-a.tslab.test.");
    assert.equal(who.UserProfile?.LoginName, "lab");
    const byKey = await client.whoIsNodeKey(TS_A_KEY);
    assert.equal(byKey.Node?.StableID, "1");
    await assert.rejects(() => client.whoIs("100.64.0.77"), PeerNotFoundError);
  } finally {
    client.destroy();
  }
});

Deno.test("a disco ping over the socket answers ping-disco.json", async () => {
  const node = new FakeNode();
  await using srv = await serve(node);
  const res = await post(srv.path, "/localapi/v0/ping?ip=100.64.0.1&size=0&type=disco");
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), fixtureJson("ping-disco.json"));
  assert.deepEqual(node.calls, [{ fn: "discoPing", args: [TS_A_KEY, 0] }]);
});
