/**
 * A subnet router and exit node in userspace-networking mode (issue 11, item 6): the router
 * runs as root without CAP_NET_ADMIN — no TUN, no nftables, no IP forwarding — and advertises a
 * LAN namespace's 10.99.0.0/24 that only its host can reach, and an exit route. A kernel-TUN
 * client with --accept-routes downloads 4 MiB from an HTTP server in the LAN (SHA-256 checked),
 * is refused on a closed LAN port, pings the LAN host (answered after the router's own
 * ping) and gets a UDP datagram echoed from it; a second kernel-TUN client with --exit-node reaches an "internet" address behind the
 * LAN the same way. The router's `tun status` shows the routes served in userspace and the
 * routed flows.
 */
import assert from "node:assert/strict";
import { Netns, veth, waitFor } from "../src/testbed/netns.ts";
import { WITHOUT_NET_ADMIN } from "../src/testbed/privileges.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import type { NetstackStatus } from "../src/daemon/status.ts";
import {
  curlSha,
  startServer,
  startUdpEcho,
  USERSPACE,
  userspaceSkip,
} from "./_userspace_probes.ts";
import { ping } from "./_tailnet_probes.ts";

const skip = await userspaceSkip();

const LAN_ROUTER = "10.99.0.1";
const LAN_HOST = "10.99.0.2";
const LAN_ROUTER6 = "fd00:99::1";
const LAN_HOST6 = "fd00:99::2";
/** Behind the LAN host: only the router's host routes to it (through the LAN). */
const INTERNET = "198.51.100.7";
const BYTES = 4 << 20;
const UDP_ASK = new URL("./testdata/udp_ask.ts", import.meta.url).pathname;

/** Approves `routes` of the node `hostname` on the test control server. */
async function approve(t: Tailnet, hostname: string, routes: string[]): Promise<void> {
  const nodes = await t.admin("GET", "/admin/nodes") as { id: number; hostname: string }[];
  const id = nodes.find((n) => n.hostname === hostname)!.id;
  const r = await t.admin("POST", `/admin/routes/${id}`, { approve: routes }) as {
    approved_routes?: string[];
  };
  assert.deepEqual(r.approved_routes, routes);
}

testOrSkip(import.meta, skip, {
  name:
    "a userspace node without CAP_NET_ADMIN is a subnet router and an exit node for kernel-TUN clients: 4 MiB checksummed, a closed port refused, ping answered",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create({ keepAliveSeconds: 5 });
    const stops: (() => Promise<void>)[] = [];
    try {
      const router = await t.addHost("router");
      const lan = await Netns.create("wt-ulan");
      t.hosts.set("lan", lan);
      const sfx = lan.name.slice(-4);
      await veth(
        { ns: router, ifname: `ur-${sfx}`, addrs: [`${LAN_ROUTER}/24`, `${LAN_ROUTER6}/64`] },
        { ns: lan, ifname: `ul-${sfx}`, addrs: [`${LAN_HOST}/24`, `${LAN_HOST6}/64`] },
      );
      await lan.exec(["ip", "addr", "add", `${INTERNET}/32`, "dev", "lo"]);
      await router.exec(["ip", "route", "add", `${INTERNET}/32`, "via", LAN_HOST]);
      // Nothing forwards in the kernel: whatever reaches the LAN was dialled by the router's host.
      await router.exec(["sysctl", "-qw", "net.ipv4.ip_forward=0"]);
      const server = await startServer(
        lan,
        [`${LAN_HOST}:8080`, `[${LAN_HOST6}]:8080`, `${INTERNET}:8080`],
        BYTES,
      );
      stops.push(() => server.stop());
      const echo = await startUdpEcho(lan, `${LAN_HOST}:5300`);
      stops.push(() => echo.stop());

      await t.up("router", ["--advertise-routes", "10.99.0.0/24,fd00:99::/64"], {
        tun: USERSPACE,
        wrapper: [...WITHOUT_NET_ADMIN],
      });
      await approve(t, "router", ["10.99.0.0/24", "fd00:99::/64"]);
      const client = await t.addHost("client"), exitc = await t.addHost("exitc");
      for (const [ns, dst] of [[client, LAN_HOST], [exitc, INTERNET]] as const) {
        const direct = await ns.exec(["ping", "-c", "1", "-W", "1", dst], { check: false });
        assert.notEqual(direct.code, 0, `${dst} is reachable only through the router`);
      }
      await t.up("client", ["--accept-routes"]);
      await waitFor(
        "the client to route the LAN",
        async () => ((await t.status("client")).routes as string[]).includes("10.99.0.0/24"),
        20_000,
      );

      // Subnet router: HTTP, a refused port, ping (the router's host pings, then it answers).
      const down = await curlSha(client, [`http://${LAN_HOST}:8080/body`], 60);
      assert.equal(down.sha, server.sha, "4 MiB from the LAN through the userspace router");
      assert.equal(down.bytes, BYTES);
      const down6 = await curlSha(client, [`http://[${LAN_HOST6}]:8080/body`], 60);
      assert.equal(down6.sha, server.sha, "the same over IPv6");
      const refused = await client.exec(
        ["curl", "-sS", "--max-time", "10", `http://${LAN_HOST}:8081/`],
        { check: false },
      );
      // Exit 7 is "could not connect": a dropped SYN would have been 28 (timeout).
      assert.equal(refused.code, 7, `closed LAN port: ${refused.stderr}`);
      await ping(client, LAN_HOST);
      const udp = await client.exec(
        [Deno.execPath(), "run", "-A", UDP_ASK, LAN_HOST, "5300", "hi"],
        {
          check: false,
        },
      );
      assert.equal(udp.stdout.trim(), "echo:hi", `UDP through the router: ${udp.stderr}`);

      // Exit node, offered live (`tun set`, as `tailscale set`): an address no subnet covers.
      await t.warren("router", ["set", "--advertise-exit-node"]);
      await waitFor("control to see the exit routes", async () => {
        const nodes = await t.admin("GET", "/admin/nodes") as { id: number; hostname: string }[];
        const id = nodes.find((n) => n.hostname === "router")!.id;
        const r = await t.admin("GET", `/admin/routes/${id}`) as { available_routes: string[] };
        return r.available_routes.includes("0.0.0.0/0");
      }, 20_000);
      await approve(t, "router", ["0.0.0.0/0", "10.99.0.0/24", "::/0", "fd00:99::/64"]);
      await t.up("exitc", ["--exit-node", "router"]);
      await waitFor("the exit client to use the router", async () => {
        const st = await t.status("exitc");
        const exit = (st.tailnet as { exitNode?: { node: { name: string } | null } }).exitNode;
        return exit?.node?.name === "router.tailnet.test";
      }, 20_000);
      const viaExit = await curlSha(exitc, [`http://${INTERNET}:8080/body`], 60);
      assert.equal(viaExit.sha, server.sha, "4 MiB from the internet through the exit node");

      // The router's LAN address is one of its endpoints, but the client routes that LAN into the
      // tunnel: a direct path there would be the tunnel inside itself, which the router drops.
      const toRouter = (await t.status("client")).peers.find((p) =>
        p.name === "router.tailnet.test"
      );
      assert.doesNotMatch(String(toRouter?.endpoint), new RegExp(`^${LAN_ROUTER}:`));
      const st = await t.status("router");
      assert.equal(st.mode, USERSPACE);
      const ns = st.netstack as NetstackStatus;
      assert.ok(ns.routed, "the routed flows are in the status");
      assert.ok(ns.routed.opened >= 3, `routed flows opened: ${JSON.stringify(ns.routed)}`);
      assert.ok(ns.routed.failed >= 1, "the refused port counted as failed");
      assert.ok(ns.routed.pings >= 1, "the ping answered");
      assert.ok(ns.ip.routed > 0);
      const r = (st.tailnet as { subnetRouter?: { userspace?: boolean; nftables: boolean } })
        .subnetRouter;
      assert.deepEqual([r?.userspace, r?.nftables], [true, false]);
      const text = (await t.warren("router", ["status"])).stdout;
      assert.match(
        text,
        /routes advertised: 0\.0\.0\.0\/0, 10\.99\.0\.0\/24, ::\/0, fd00:99::\/64 \(served in userspace/,
      );
      assert.match(text, /^ {2}routed: \d+ tcp .*\d+ opened, [1-9]\d* failed/m);
      assert.match(text, /^ {2}flows: 0 proxy, 0 forward, \d+ routed$/m);
      assert.doesNotMatch(text, /warning: IP forwarding/, "userspace needs no forwarding");

      // The netmap's packet filter runs before the stack for routed addresses too: with only
      // the LAN host's port 8080 allowed, a SYN to 8081 is dropped (curl times out, 28) before
      // any host dial, where it was reset (7) after a refused one.
      await t.admin("POST", "/admin/policy", {
        filter: [{
          SrcIPs: ["*"],
          DstPorts: [{ IP: `${LAN_HOST}/32`, Ports: { First: 8080, Last: 8080 } }],
        }],
      });
      const curl8081 = async () =>
        (await client.exec(
          ["curl", "-sS", "-o", "/dev/null", "--max-time", "2", `http://${LAN_HOST}:8081/`],
          { check: false },
        )).code;
      await waitFor(
        "the filter to drop the closed LAN port",
        async () => await curl8081() === 28,
        20_000,
      );
      const routedOf = async () => ((await t.status("router")).netstack as NetstackStatus).routed!;
      const before = await routedOf();
      assert.equal(await curl8081(), 28);
      assert.equal((await routedOf()).opened, before.opened, "no host dial for a filtered SYN");
      const again = await curlSha(client, [`http://${LAN_HOST}:8080/body`], 60);
      assert.equal(again.sha, server.sha, "the allowed port still works");
    } catch (e) {
      // What the router's stack did with the packets, for the failure's reader.
      const ns = (await t.status("router").catch(() => null))?.netstack;
      console.error(`router netstack: ${JSON.stringify(ns)}`);
      await t.dumpLogs();
      throw e;
    } finally {
      for (const stop of stops) await stop();
      await t.close();
    }
  },
});
