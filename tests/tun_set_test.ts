/**
 * Live preference changes (issue 11 item 5, issue 14 items 2–3): two nodes, one TCP
 * connection between them kept open throughout. `warren tun set --advertise-routes` on
 * beta makes the route appear at control (approved there, alpha routes it);
 * `tun set --accept-routes=false` on alpha removes that route while the TCP connection keeps
 * answering; `tun set --hostname` on beta changes the MagicDNS name alpha resolves;
 * `tun set --shields-up` refuses alpha's new flows but not beta's own or the open one. Then
 * beta's LocalAPI socket is driven as the tailscale CLI drives it: `PATCH prefs`
 * `WantRunning: false` (`tailscale down`: the process stays, BackendState "Stopped", alpha
 * cannot reach it), `POST start` (`tailscale up`: running again with the stored prefs), and
 * `POST logout` (the key expires at control, NeedsLogin).
 */
import assert from "node:assert/strict";
import { namespaceSupport, type Netns, waitFor } from "../src/testbed/netns.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import { ipv4Of, lookup, ping, routes, waitPeers } from "./_tailnet_probes.ts";
import { localApiRequest } from "./_localapi_request.ts";

const skip = await namespaceSupport();
const PORT = 7071;
const LAN = "10.99.0.0/24";

/** An echo server on every address of `ns`. */
function echoServer(ns: Netns): Deno.ChildProcess {
  const code = `const l = Deno.listen({ port: ${PORT} });
console.log("listening");
for await (const c of l) c.readable.pipeTo(c.writable).catch(() => {});`;
  return ns.spawn([Deno.execPath(), "eval", code]);
}

/**
 * One TCP connection to `ip` that sends a line every 100 ms and prints the running count of
 * echoes; it exits (the count stops) the moment the connection fails.
 */
function echoClient(ns: Netns, ip: string): Deno.ChildProcess {
  const code = `const c = await Deno.connect({ hostname: "${ip}", port: ${PORT} });
const buf = new Uint8Array(16);
for (let n = 1; ; n++) {
  await c.write(new TextEncoder().encode("x"));
  const t = setTimeout(() => Deno.exit(3), 5000);
  if ((await c.read(buf)) === null) Deno.exit(2);
  clearTimeout(t);
  console.log(n);
  await new Promise((r) => setTimeout(r, 100));
}`;
  return ns.spawn([Deno.execPath(), "eval", code]);
}

/** Follows a client's count. */
function counter(child: Deno.ChildProcess): { readonly n: number } {
  const state = { n: 0 };
  (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const last = chunk.trim().split("\n").at(-1);
      if (last) state.n = Number(last);
    }
  })().catch(() => {});
  return state;
}

/** Waits until the echo count grew by a few past what it is now: the connection still works. */
async function stillEchoing(c: { readonly n: number }, what: string): Promise<void> {
  const from = c.n;
  await waitFor(`the TCP connection to keep echoing ${what}`, () => c.n >= from + 3, 10_000);
}

testOrSkip(import.meta, skip, {
  name:
    "tun set changes routes and the hostname live without dropping a TCP connection; the LocalAPI's PATCH prefs, start and logout stop, resume and log out a node",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create({ keepAliveSeconds: 5 });
    const kids: Deno.ChildProcess[] = [];
    const adminNode = async (id: number) =>
      ((await t.admin("GET", "/admin/nodes")) as {
        id: number;
        online: boolean;
        expired: boolean;
      }[])
        .find((n) => n.id === id)!;
    try {
      const socket = `${t.dir}/beta.sock`;
      await t.up("alpha", ["--accept-routes"]);
      await t.up("beta", ["--socket", socket]);
      const alpha = t.hosts.get("alpha")!, beta = t.hosts.get("beta")!;
      const betaIp = ipv4Of(
        await waitPeers(t, "alpha", ["beta.tailnet.test"]),
        "beta.tailnet.test",
      );

      const server = echoServer(beta);
      kids.push(server);
      const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
      assert.match((await reader.read()).value ?? "", /listening/);
      reader.releaseLock();
      const client = echoClient(alpha, betaIp);
      kids.push(client);
      const echoes = counter(client);
      await stillEchoing(echoes, "at first");

      // Bad flags are exit 2 naming the flag; a peer that offers no exit is refused as tailscale does.
      const bad = await t.warren("beta", ["set", "--advertise-routes", "10.99.0.1/24"], false);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /--advertise-routes: 10\.99\.0\.1\/24 has non-address bits set/);
      const badBool = await t.warren("beta", ["set", "--accept-routes=maybe"], false);
      assert.equal(badBool.code, 2);
      assert.match(badBool.stderr, /invalid boolean value "maybe" for --accept-routes/);
      const exit = await t.warren("beta", ["set", "--exit-node", "alpha"], false);
      assert.equal(exit.code, 1, exit.stderr);
      assert.match(exit.stderr, /node "alpha" is not advertising an exit node/);

      // Advertised live: the route appears at control; approved, alpha routes it.
      await t.warren("beta", ["set", "--advertise-routes", LAN]);
      const nodes = await t.admin("GET", "/admin/nodes") as { id: number; hostname: string }[];
      const betaId = nodes.find((n) => n.hostname === "beta")!.id;
      await waitFor("control to have beta's route", async () => {
        const r = await t.admin("GET", `/admin/routes/${betaId}`) as Record<string, string[]>;
        return r.available_routes?.includes(LAN) ?? false;
      }, 10_000);
      assert.match((await beta.exec(["nft", "list", "tables"])).stdout, /table inet warren/);
      await t.admin("POST", `/admin/routes/${betaId}`, { approve: [LAN] });
      await waitFor(
        "alpha to route the LAN",
        async () => (await routes(alpha)).includes(LAN),
        15_000,
      );
      let prefs = JSON.parse((await localApiRequest(socket, "GET", "/localapi/v0/prefs")).body);
      assert.deepEqual(prefs.AdvertiseRoutes, [LAN]);

      // accept-routes off: the route goes, the connection stays.
      await t.warren("alpha", ["set", "--accept-routes=false"]);
      await waitFor(
        "alpha to drop the LAN route",
        async () => !(await routes(alpha)).includes(LAN),
        10_000,
      );
      await stillEchoing(echoes, "after --accept-routes=false");

      // A new hostname: control renames the node, alpha resolves the new MagicDNS name.
      await t.warren("beta", ["set", "--hostname", "gamma"]);
      await waitFor(
        "alpha to resolve gamma.tailnet.test",
        async () => (await lookup(alpha, "gamma.tailnet.test")) === `A ${betaIp}`,
        15_000,
      );
      assert.equal(await lookup(alpha, "beta.tailnet.test"), "RCODE 3");
      await stillEchoing(echoes, "after the rename");

      // Shields up: alpha's new flows to beta are refused, beta's own and the open one still pass.
      await t.warren("beta", ["set", "--shields-up"]);
      const alphaIp = ipv4Of(await t.status("beta"), "alpha.tailnet.test");
      const refused = await alpha.exec(["ping", "-c", "2", "-W", "1", betaIp], { check: false });
      assert.notEqual(refused.code, 0, "beta answered a ping with shields up");
      await ping(beta, alphaIp);
      await stillEchoing(echoes, "with shields up");
      await t.warren("beta", ["set", "--shields-up=false"]);
      await ping(alpha, betaIp);
      assert.equal(await Promise.race([client.status.then(() => "exited"), "running"]), "running");
      client.kill("SIGKILL");

      // `tailscale down` over the socket: the process stays, the data plane stops.
      const down = await localApiRequest(socket, "PATCH", "/localapi/v0/prefs", {
        WantRunning: false,
        WantRunningSet: true,
      });
      assert.equal(down.status, 200, down.body);
      assert.equal(JSON.parse(down.body).WantRunning, false);
      const status = async () =>
        JSON.parse((await localApiRequest(socket, "GET", "/localapi/v0/status")).body);
      assert.equal((await status()).BackendState, "Stopped");
      assert.equal((await t.status("beta")).state, "Stopped");
      const r = await alpha.exec(["ping", "-c", "1", "-W", "2", betaIp], { check: false });
      assert.notEqual(r.code, 0, "a stopped node answered ping");
      // tailscaled pauses its control client: control sees the node go offline.
      await waitFor(
        "control to see beta offline",
        async () => !(await adminNode(betaId)).online,
        10_000,
      );

      // `tailscale up`: start resumes with the stored prefs (hostname, routes).
      const start = await localApiRequest(socket, "POST", "/localapi/v0/start", {});
      assert.equal(start.status, 204, start.body);
      await waitFor(
        "beta to run again",
        async () => (await status()).BackendState === "Running",
        15_000,
      );
      await waitFor("alpha to reach beta again", async () => {
        const p = await alpha.exec(["ping", "-c", "1", "-W", "1", betaIp], { check: false });
        return p.code === 0;
      }, 20_000);
      await ping(alpha, betaIp);
      prefs = JSON.parse((await localApiRequest(socket, "GET", "/localapi/v0/prefs")).body);
      assert.equal(prefs.Hostname, "gamma");
      assert.deepEqual(prefs.AdvertiseRoutes, [LAN]);
      assert.equal((await status()).Self.HostName, "gamma");

      // Routes off again: the nftables table goes with them.
      await t.warren("beta", ["set", "--advertise-routes="]);
      assert.doesNotMatch((await beta.exec(["nft", "list", "tables"])).stdout, /inet warren/);

      // logout: control expires the key; the node waits for a new login.
      const out = await localApiRequest(socket, "POST", "/localapi/v0/logout");
      assert.equal(out.status, 204, out.body);
      assert.equal((await status()).BackendState, "NeedsLogin");
      assert.equal((await adminNode(betaId)).expired, true);
    } catch (e) {
      await t.dumpLogs(4000);
      throw e;
    } finally {
      for (const k of kids) {
        try {
          k.kill("SIGKILL");
          await k.status;
        } catch {
          // already gone
        }
      }
      await t.close();
    }
  },
});
