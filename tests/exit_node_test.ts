/**
 * Using a warren exit node from a warren node with a kernel TUN (issue 11, items 3 and 7): the
 * exit node has an "internet" namespace behind it (198.51.100.7, which only its side routes);
 * the client, started with `--exit-node exit`, reaches that address (ping and a checksummed TCP
 * transfer) through tailscaled's table 52 and rules, while its control connection and DERP (TLS) —
 * reachable only through its main routing table, and carrying the tunnel itself (the nodes
 * have no direct path) — keep working: a node that joins later still reaches it. A second peer
 * offering exit but not selected cannot inject packets with another source; the client's LAN goes
 * through the exit node unless --exit-node-allow-lan-access keeps it direct. SIGTERM leaves no
 * rule, route or table 52 entry; a SIGKILL leaves the rules, and the next start clears them.
 */
import assert from "node:assert/strict";
import { namespaceSupport, Netns, veth, waitFor } from "../src/testbed/netns.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import { transfer } from "../src/testbed/transfer.ts";
import { ipv4Of, lookup, ping, waitPeers } from "./_tailnet_probes.ts";

const skip = await namespaceSupport();

const INTERNET = "198.51.100.7";
const XFER_PORT = 7071;
const XFER_BYTES = 4_000_000;
/** A source address the spoofing peer claims. */
const SPOOFED = "192.0.2.9";

type Status = Awaited<ReturnType<Tailnet["status"]>>;
interface ExitStatus {
  requested: string;
  node: { name: string } | null;
  problem: string | null;
  routing: boolean;
  lanDirect: string[];
}
const exitOf = (st: Status) => (st.tailnet as { exitNode?: ExitStatus }).exitNode ?? null;

/** `ip rule` and table 52 of a namespace, both families. */
async function policy(ns: Netns): Promise<string> {
  const out: string[] = [];
  for (
    const args of [["-4", "rule"], ["-6", "rule"], ["route", "show", "table", "52"], [
      "-6",
      "route",
      "show",
      "table",
      "52",
    ]]
  ) {
    out.push((await ns.exec(["ip", ...args])).stdout);
  }
  return out.join("");
}

/** Approves a node's exit routes on the test control server. */
async function approveExit(t: Tailnet, hostname: string): Promise<void> {
  const nodes = await t.admin("GET", "/admin/nodes") as { id: number; hostname: string }[];
  const id = nodes.find((n) => n.hostname === hostname)!.id;
  const r = await t.admin("POST", `/admin/routes/${id}`, { approve: ["0.0.0.0/0", "::/0"] }) as {
    approved_routes?: string[];
  };
  assert.deepEqual(r.approved_routes, ["0.0.0.0/0", "::/0"]);
}

/**
 * One checksummed transfer of `bytes` from `from` to `host` (default the internet host) served in
 * `to`; `during` runs a second after the transfer started, and must come before it ends.
 */
async function checkedTransfer(
  from: Netns,
  to: Netns,
  opts: { host?: string; bytes?: number; rate?: number; during?: () => Promise<void> } = {},
): Promise<void> {
  const bytes = opts.bytes ?? XFER_BYTES;
  const during = opts.during;
  const r = await transfer(from, to, opts.host ?? INTERNET, XFER_PORT, bytes, {
    rate: opts.rate,
    maxSeconds: 60,
    during: during && (async (senderDone) => {
      await new Promise((r) => setTimeout(r, 1000));
      await during();
      assert.equal(senderDone(), false, "the change came while the transfer ran");
    }),
  });
  assert.equal(r.received, r.sent, "bytes and SHA-256 on both ends");
  assert.match(r.sent, new RegExp(`^${bytes} [0-9a-f]{64}`));
}

testOrSkip(import.meta, skip, {
  name:
    "a warren node uses a warren exit node through table 52 while control and DERP stay direct, and leaves no rule behind",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create({ keepAliveSeconds: 5, derpTls: true });
    try {
      // The exit node's side of the world: a namespace only it routes to.
      const exit = await t.addHost("exit");
      const inet = await Netns.create("wt-inet");
      t.hosts.set("inet", inet);
      const sfx = inet.name.slice(-4);
      await veth(
        { ns: exit, ifname: `we-${sfx}`, addrs: ["203.0.113.1/24"] },
        { ns: inet, ifname: `wi-${sfx}`, addrs: ["203.0.113.2/24"] },
      );
      await inet.exec(["ip", "addr", "add", `${INTERNET}/32`, "dev", "lo"]);
      await inet.exec(["ip", "route", "add", "default", "via", "203.0.113.1"]);
      await exit.exec(["ip", "route", "add", `${INTERNET}/32`, "via", "203.0.113.2"]);
      await exit.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      await t.up("exit", ["--advertise-exit-node"]);
      await approveExit(t, "exit");

      // Offering and using at once is refused with tailscale's message, exit 2.
      const both = await t.warren(
        "exit",
        ["up", "--advertise-exit-node", "--exit-node", "x"],
        false,
      );
      assert.equal(both.code, 2);
      assert.match(
        both.stderr,
        /Cannot advertise an exit node and use an exit node at the same time\./,
      );

      const client = await t.addHost("client");
      // The hub routes between hosts; the exit node must not reach the client's LAN (below).
      const lan = (await client.exec(["ip", "-4", "-o", "addr"])).stdout
        .match(/inet (10\.80\.\d+)\.2\//)![1];
      await exit.exec(["ip", "route", "add", "blackhole", `${lan}.0/24`]);
      const direct = await client.exec(["ping", "-c", "1", "-W", "1", INTERNET], { check: false });
      assert.notEqual(direct.code, 0, "the internet host is reachable only through the exit node");
      await t.up("client", ["--exit-node", "exit"]);
      await waitFor(
        "the client to use the exit node",
        async () => exitOf(await t.status("client"))?.node?.name === "exit.tailnet.test",
        20_000,
      );
      const rules = await policy(client);
      assert.match(rules, /5210:\s+from all fwmark 0x80000\/0xff0000 lookup main/);
      assert.match(rules, /5250:\s+from all fwmark 0x80000\/0xff0000 unreachable/);
      assert.match(rules, /5270:\s+from all lookup 52/);
      assert.match(rules, /default dev warren0/);
      const text = (await t.warren("client", ["status", "--routes"])).stdout;
      assert.match(text, /exit node: exit\.tailnet\.test \(100\./);
      assert.match(text, /exit nodes offered: exit\.tailnet\.test/);
      assert.match(text, /0\.0\.0\.0\/0 dev warren0 table 52/);
      assert.match(text, /5270: from all lookup 52 \(IPv6\)/);
      // MagicDNS, answered in process, keeps working.
      assert.match(await lookup(client, "exit.tailnet.test"), /^A 100\./);
      const st = await t.status("client");
      assert.deepEqual(
        st.peers.map((p) => [p.name, p.exitNode, p.exitNodeOption]),
        [["exit.tailnet.test", true, true]],
      );
      assert.ok(
        (st.peers[0].allowedIps as string[]).includes("0.0.0.0/0"),
        "the exit node's /0 is in WireGuard's allowed IPs",
      );

      await waitFor("a ping to the internet host", async () => {
        const r = await client.exec(["ping", "-c", "1", "-W", "2", INTERNET], { check: false });
        return r.code === 0;
      }, 20_000);
      await ping(client, INTERNET);
      await checkedTransfer(client, inet);
      // The client's own LAN (its link to the hub) goes through the exit node too, which
      // cannot reach it: without --exit-node-allow-lan-access nothing leaks around the tunnel.
      const lanGateway = `${lan}.1`;
      const viaExit = await client.exec(["ping", "-c", "1", "-W", "1", lanGateway], {
        check: false,
      });
      assert.notEqual(viaExit.code, 0, "the LAN was reached around the exit node");

      // Control still reaches the client: a node that joins now (offering exit too, approved)
      // shows up, and the client still pings it by its tailnet address over DERP.
      await t.up("spoofer", ["--advertise-exit-node"]);
      await approveExit(t, "spoofer");
      const seen = await waitPeers(t, "client", ["exit.tailnet.test", "spoofer.tailnet.test"]);
      await waitFor(
        "the client to see the spoofer offer exit",
        async () => (await t.status("client")).peers.every((p) => p.exitNodeOption),
        20_000,
      );
      await ping(client, ipv4Of(seen, "spoofer.tailnet.test"));
      assert.equal(exitOf(await t.status("client"))?.node?.name, "exit.tailnet.test");

      // The spoofer offers /0 but is not the exit node in use: packets it sends with another
      // source are dropped by the client's cryptokey routing, not delivered.
      const spoofer = t.hosts.get("spoofer")!;
      await spoofer.exec(["ip", "addr", "add", `${SPOOFED}/32`, "dev", "lo"]);
      const clientIp = ipv4Of(await t.status("exit"), "client.tailnet.test");
      const dropsBefore = ((await t.status("client")).drops as Record<string, number>)
        .sourceNotAllowed;
      const spoofed = await spoofer.exec(
        ["ping", "-c", "3", "-i", "0.2", "-W", "1", "-I", SPOOFED, clientIp],
        { check: false },
      );
      assert.notEqual(spoofed.code, 0, "a spoofed ping was answered");
      await waitFor("the client to count the spoofed packets", async () => {
        const d = ((await t.status("client")).drops as Record<string, number>).sourceNotAllowed;
        return d >= dropsBefore + 3;
      }, 5_000);

      // `tun set` switches the exit node live while a transfer to a tailnet peer runs: the
      // spoofer (no route to the internet host) takes the /0s, then none, then exit again.
      const exitTailnetIp = ipv4Of(await t.status("client"), "exit.tailnet.test");
      const exitNs = t.hosts.get("exit")!;
      const switchTo = async (to: string, name: string | null) => {
        const r = await t.warren("client", ["set", "--exit-node", to], false);
        assert.equal(r.code, 0, r.stderr);
        await waitFor(`the client to use ${name ?? "no"} exit node`, async () => {
          const e = exitOf(await t.status("client"));
          return (e?.node?.name ?? null) === name;
        }, 10_000);
      };
      await checkedTransfer(client, exitNs, {
        host: exitTailnetIp,
        bytes: 8_000_000,
        rate: 1_000_000,
        during: async () => {
          await switchTo("spoofer", "spoofer.tailnet.test");
          const st = await t.status("client");
          const spooferPeer = st.peers.find((p) => p.name === "spoofer.tailnet.test")!;
          assert.ok((spooferPeer.allowedIps as string[]).includes("0.0.0.0/0"));
          const r = await client.exec(["ping", "-c", "1", "-W", "1", INTERNET], { check: false });
          assert.notEqual(r.code, 0, "the spoofer has no way to the internet host");
          await switchTo("", null);
          assert.doesNotMatch(await policy(client), /5270:/, "no exit node: no rules");
          await switchTo("exit", "exit.tailnet.test");
        },
      });
      await waitFor("a ping through the exit node after tun set", async () => {
        const r = await client.exec(["ping", "-c", "1", "-W", "2", INTERNET], { check: false });
        return r.code === 0;
      }, 20_000);
      const conflict = await t.warren("client", ["set", "--advertise-exit-node"], false);
      assert.equal(conflict.code, 1, conflict.stderr);
      assert.match(conflict.stderr, /Cannot advertise an exit node and use an exit node/);

      // SIGTERM: no rule, no table 52 route left.
      await t.stop("node-client");
      const after = await policy(client);
      assert.doesNotMatch(after, /52|0x80000/, after);

      // SIGKILL leaves the rules; the next start clears them and installs one set.
      const exitIp = ipv4Of(seen, "exit.tailnet.test");
      await t.up("client", ["--exit-node", exitIp, "--exit-node-allow-lan-access"]);
      await waitFor(
        "the client to keep its LAN direct",
        async () => (exitOf(await t.status("client"))?.lanDirect ?? []).length > 0,
        20_000,
      );
      assert.match(await policy(client), /throw 10\.80\.\d+\.0\/24/);
      await ping(client, lanGateway); // kept direct
      await waitFor("a ping through the exit node with the LAN direct", async () => {
        const r = await client.exec(["ping", "-c", "1", "-W", "2", INTERNET], { check: false });
        return r.code === 0;
      }, 30_000);
      await t.stop("node-client", "SIGKILL");
      assert.match(await policy(client), /5270:\s+from all lookup 52/);
      assert.match(await policy(client), /throw 10\.80\./, "a SIGKILL leaves the throw routes");
      await t.up("client", ["--exit-node", "exit"]);
      await waitFor(
        "the restarted client to use the exit node",
        async () => exitOf(await t.status("client"))?.routing === true,
        20_000,
      );
      const restarted = await policy(client);
      assert.equal(restarted.match(/5270:/g)?.length, 2, restarted);
      await waitFor("a ping through the exit node after the restart", async () => {
        const r = await client.exec(["ping", "-c", "1", "-W", "2", INTERNET], { check: false });
        return r.code === 0;
      }, 30_000);
      await t.stop("node-client");
      assert.doesNotMatch(await policy(client), /52|0x80000/);
    } catch (e) {
      await t.dumpLogs();
      throw e;
    } finally {
      await t.close();
    }
  },
});
