/**
 * tailscaled's LocalAPI on a running warren node's socket: the published
 * `tslocal` client reads status and whois, a disco ping over the socket is
 * answered by the peer, an endpoint warren lacks is a clear 501 — and
 * warren's own CLI keeps working on the same socket.
 */
import assert from "node:assert/strict";
import { Client } from "tslocal";
import { namespaceSupport } from "../src/testbed/netns.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import { ipv4Of, waitPeers } from "./_tailnet_probes.ts";
import { localApiRequest as request } from "./_localapi_request.ts";

const skip = await namespaceSupport();

testOrSkip(import.meta, skip, {
  name: "tslocal reads status and whois from a warren node's --socket; disco ping and a 501 there",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create();
    try {
      // tailscaled's --socket, where the stock CLI looks: here a path of the test's own.
      const socketPath = `${t.dir}/tailscale/tailscaled.sock`;
      await t.up("alpha", ["--socket", socketPath]);
      await t.up("beta");
      const st = await waitPeers(t, "alpha", ["beta.tailnet.test"]);
      const betaIp = ipv4Of(st, "beta.tailnet.test");
      assert.equal((await Deno.stat(socketPath)).mode! & 0o777, 0o600);

      const client = new Client({ socketPath, useSocketOnly: true });
      try {
        const status = await client.status();
        assert.equal(status.BackendState, "Running");
        assert.equal(status.Self?.DNSName, "alpha.tailnet.test.");
        const peers = Object.values(status.Peer ?? {});
        assert.deepEqual(peers.map((p) => p.DNSName), ["beta.tailnet.test."]);
        assert.ok(peers[0].TailscaleIPs?.includes(betaIp), JSON.stringify(peers[0].TailscaleIPs));
        assert.equal(status.CurrentTailnet?.MagicDNSSuffix, "tailnet.test");
        const who = await client.whoIs(betaIp);
        assert.equal(who.Node?.Name, "beta.tailnet.test.");
      } finally {
        client.destroy();
      }

      const ping = await request(socketPath, "POST", `/localapi/v0/ping?ip=${betaIp}&type=disco`);
      assert.equal(ping.status, 200, ping.body);
      const pong = JSON.parse(ping.body);
      assert.equal(pong.Err, "", ping.body);
      assert.equal(pong.NodeName, "beta");
      assert.ok(pong.LatencySeconds > 0, ping.body);

      const missing = await request(socketPath, "GET", "/localapi/v0/serve-config-watch");
      assert.ok(missing.status === 501 || missing.status === 404, `${missing.status}`);
      const todo = await request(socketPath, "GET", "/localapi/v0/metrics");
      assert.equal(todo.status, 501, todo.body);
      assert.match(todo.body, /warren does not implement the LocalAPI endpoint metrics/);

      // warren's own status, over /warren/v0 on its usual socket, is unchanged.
      assert.equal((await t.status("alpha")).state, "Running");
      await t.stop("node-alpha");
      await assert.rejects(() => Deno.stat(socketPath), Deno.errors.NotFound, "socket removed");
    } catch (e) {
      await t.dumpLogs(2000);
      throw e;
    } finally {
      await t.close();
    }
  },
});
