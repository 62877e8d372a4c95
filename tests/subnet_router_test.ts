/**
 * A warren subnet router (issue 11, item 1): a router node whose namespace also has a LAN
 * (10.99.0.0/24, a "LAN host" namespace behind a veth) advertises it; a client node with
 * --accept-routes reaches the LAN host only once control approves the route, and the LAN host
 * sees the router's LAN address (SNAT) or, with --snat-subnet-routes=false, the client's
 * tailnet address; 20 MiB from a LAN web server arrive SHA-256 intact either way. A SIGKILLed router leaves its nftables table, the next start replaces it,
 * and a stop removes it.
 */
import assert from "node:assert/strict";
import { namespaceSupport, Netns, veth, waitFor } from "../src/testbed/netns.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import { type BodyServer, curlSha, startBodyServer } from "../src/testbed/body_server.ts";

const skip = await namespaceSupport();

const LAN_ROUTER = "10.99.0.1";
const LAN_HOST = "10.99.0.2";
const PEER_PORT = 7070;

/** A TCP server on the LAN host that answers every connection with the peer's address. */
function servePeerAddress(lan: Netns): Deno.ChildProcess {
  const code = `const l = Deno.listen({ hostname: "${LAN_HOST}", port: ${PEER_PORT} });
console.log("listening");
for await (const c of l) {
  await c.write(new TextEncoder().encode(c.remoteAddr.hostname + "\\n")).catch(() => {});
  c.close();
}`;
  return lan.spawn([Deno.execPath(), "eval", code]);
}

/** The address the LAN host saw for a TCP connection from `ns`. */
async function seenFrom(ns: Netns): Promise<string> {
  const r = await ns.exec([
    "timeout",
    "5",
    "bash",
    "-c",
    `exec 3<>/dev/tcp/${LAN_HOST}/${PEER_PORT}; cat <&3`,
  ], { check: false });
  assert.equal(r.code, 0, `connect to ${LAN_HOST}:${PEER_PORT}: ${r.stderr}`);
  return r.stdout.trim();
}

async function pings(ns: Netns, dst: string, count = 1): Promise<boolean> {
  const r = await ns.exec(["ping", "-c", `${count}`, "-W", "2", dst], { check: false });
  return r.code === 0;
}

/** 20 MiB from the LAN host's body server through the router, SHA-256 checked. */
async function download(ns: Netns, body: BodyServer, how: string): Promise<void> {
  const got = await curlSha(ns, [`http://${LAN_HOST}:8000/body`]);
  assert.equal(got.bytes, 20 << 20, how);
  assert.equal(got.sha, body.sha, `the 20 MiB came through the router intact ${how}`);
}

async function nftTables(ns: Netns): Promise<string> {
  return (await ns.exec(["nft", "list", "tables"])).stdout;
}

type Status = Awaited<ReturnType<Tailnet["status"]>>;
interface RouterStatus {
  advertised: string[];
  approved: string[];
  snat: boolean;
  nftables: boolean;
  forwardingWarning: string | null;
}
const routerOf = (st: Status) =>
  (st.tailnet as { subnetRouter?: RouterStatus }).subnetRouter ?? null;

testOrSkip(import.meta, skip, {
  name:
    "a warren subnet router forwards its approved LAN to a warren client, with SNAT and without, and leaves no nftables table behind",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create({ keepAliveSeconds: 5 });
    let server: Deno.ChildProcess | null = null;
    let body: BodyServer | null = null;
    const stateDir = await Deno.makeTempDir({ prefix: "warren-router-state-" });
    try {
      const router = await t.addHost("router");
      const lan = await Netns.create("wt-lan");
      t.hosts.set("lan", lan);
      const sfx = lan.name.slice(-4);
      await veth(
        { ns: router, ifname: `wr-${sfx}`, addrs: [`${LAN_ROUTER}/24`] },
        { ns: lan, ifname: `wl-${sfx}`, addrs: [`${LAN_HOST}/24`] },
      );
      server = servePeerAddress(lan);
      body = await startBodyServer(lan, [`${LAN_HOST}:8000`]);
      const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
      assert.match((await reader.read()).value ?? "", /listening/);

      // Forwarding off at first: the router says so, naming the sysctl, in its status too.
      await router.exec(["sysctl", "-qw", "net.ipv4.ip_forward=0"]);
      const advertise = ["--advertise-routes", "10.99.0.0/24", "--state-dir", stateDir];
      await t.up("router", advertise);
      let st = await t.status("router");
      assert.deepEqual(routerOf(st)?.advertised, ["10.99.0.0/24"]);
      assert.equal(routerOf(st)?.snat, true);
      assert.equal(routerOf(st)?.nftables, true);
      assert.match(routerOf(st)?.forwardingWarning ?? "", /net\.ipv4\.ip_forward=1/);
      const text = (await t.warren("router", ["status"])).stdout;
      assert.match(text, /routes advertised: 10\.99\.0\.0\/24 \(SNAT\)/);
      assert.match(text, /warning: IP forwarding is disabled.*net\.ipv4\.ip_forward=1/);
      assert.match(await nftTables(router), /table inet warren/);
      await router.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      assert.equal(routerOf(await t.status("router"))?.forwardingWarning, null);

      await t.up("client", ["--accept-routes"]);
      const client = t.hosts.get("client")!;
      await waitFor(
        "the client to see the router",
        async () => (await t.status("client")).peers.some((p) => p.name === "router.tailnet.test"),
        20_000,
      );

      // Announced, not approved: the client has no route to the LAN.
      const nodes = await t.admin("GET", "/admin/nodes") as { id: number; hostname: string }[];
      const routerId = nodes.find((n) => n.hostname === "router")!.id;
      const announced = await t.admin("GET", `/admin/routes/${routerId}`) as Record<
        string,
        string[]
      >;
      assert.deepEqual(announced.available_routes, ["10.99.0.0/24"]);
      assert.deepEqual(announced.approved_routes, []);
      assert.equal(await pings(client, LAN_HOST), false, "the LAN is reachable before approval");

      const refused = await t.admin("POST", `/admin/routes/${routerId}`, {
        approve: ["10.99.0.1/24"],
      }) as { error?: string };
      assert.match(refused.error ?? "", /"10\.99\.0\.1\/24" is not a canonical CIDR prefix/);
      const approved = await t.admin("POST", `/admin/routes/${routerId}`, {
        approve: ["10.99.0.0/24"],
      }) as Record<string, string[]>;
      assert.deepEqual(approved.primary_routes, ["10.99.0.0/24"]);
      await waitFor(
        "the client to route the LAN",
        async () => ((await t.status("client")).routes as string[]).includes("10.99.0.0/24"),
        20_000,
      );
      await waitFor("a ping to the LAN host", () => pings(client, LAN_HOST), 15_000);
      assert.equal(await seenFrom(client), LAN_ROUTER, "SNAT: the LAN sees the router");
      await download(client, body!, "with SNAT");

      // A crash leaves the table; the next start (now without SNAT) replaces it.
      await t.stop("node-router", "SIGKILL");
      assert.match(await nftTables(router), /table inet warren-warren0/);
      await t.up("router", [...advertise, "--snat-subnet-routes=false"]);
      st = await t.status("router");
      assert.equal(routerOf(st)?.snat, false);
      // The router's full map after a restart has its self node with the approved route.
      await waitFor(
        "the router to see its route approved",
        async () => routerOf(await t.status("router"))?.approved.includes("10.99.0.0/24") ?? false,
        20_000,
      );
      const table = (await router.exec(["nft", "list", "table", "inet", "warren-warren0"])).stdout;
      assert.doesNotMatch(table, /masquerade/);
      assert.match(
        (await t.warren("router", ["status"])).stdout,
        /routes approved: 10\.99\.0\.0\/24/,
      );

      // Without SNAT the LAN host needs a route back to the tailnet through the router.
      await lan.exec(["ip", "route", "add", "100.64.0.0/10", "via", LAN_ROUTER]);
      const clientIp = ((await t.status("client")).addresses as string[])
        .find((a) => !a.includes(":"))!.split("/")[0];
      // The client's session with the killed router is dead; WireGuard notices only after
      // 15 s without a reply (keepalive + rekey timeouts) and then shakes hands anew.
      await waitFor("a ping to the LAN host without SNAT", () => pings(client, LAN_HOST), 45_000);
      assert.equal(await seenFrom(client), clientIp, "no SNAT: the LAN sees the client");
      await download(client, body!, "without SNAT");

      await t.stop("node-router");
      assert.doesNotMatch(await nftTables(router), /inet warren/);

      // Killed while a router, started again advertising nothing: the stale table goes.
      await t.up("router", advertise);
      await t.stop("node-router", "SIGKILL");
      assert.match(await nftTables(router), /table inet warren-warren0/);
      await t.up("router", []); // a fresh state: no routes stored from before
      assert.doesNotMatch(await nftTables(router), /inet warren/, "the stale table was removed");
      await t.stop("node-router");
    } catch (e) {
      await t.dumpLogs();
      throw e;
    } finally {
      try {
        server?.kill("SIGKILL");
        await server?.status;
        await body?.stop();
      } catch {
        // already gone
      }
      await t.close();
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    }
  },
});
