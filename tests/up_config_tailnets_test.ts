/**
 * One `tun up --config` process running two tailnets (two coordination servers with their own
 * address ranges) and a wg-quick network to wireguard-go, each carrying traffic. Killing one
 * control server leaves the others alone (its network keeps its data plane, the other keeps
 * receiving netmap changes); `tun down --network` stops one; `tun set --network one --shields-up`
 * changes that network alone, live; SIGHUP with an edited file adds two
 * userspace networks and removes the downed one without touching the unchanged interfaces;
 * SIGTERM tears everything down.
 */
import assert from "node:assert/strict";
import { generatePrivateKey, publicKeyFrom } from "../src/crypto/x25519.ts";
import { formatWgKey } from "../src/key/wg_key.ts";
import { namespaceSupport, Netns, veth, waitFor, warrenArgv } from "../src/testbed/netns.ts";
import { AUTH_KEY, HUB_IP, Tailnet } from "../src/testbed/tailnet.ts";
import { WireguardGo, wireguardGoSupport } from "../src/testbed/wireguard_go.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import { lookup, ping, routes, waitPeers } from "./_tailnet_probes.ts";

const skip = (await namespaceSupport()) ?? (await wireguardGoSupport());
const warren = warrenArgv();
const SECOND_CONTROL = 8081;

type NetStatus = { state: string; interface: string; addresses: string[]; peers: unknown[] };

/** The multi-network node's `tun status --json`, by network name. */
async function networks(ns: Netns): Promise<Record<string, NetStatus>> {
  const r = await ns.exec([...warren, "tun", "status", "--json"], { check: false });
  if (r.code !== 0) return {};
  const st = JSON.parse(r.stdout);
  return st.networks ?? { [st.network]: st };
}

const v4 = (st: NetStatus) => st.addresses.find((a) => !a.includes(":"))!.split("/")[0];

async function ifindex(ns: Netns, name: string): Promise<string> {
  return (await ns.exec(["cat", `/sys/class/net/${name}/ifindex`])).stdout.trim();
}

function tailnet(controlUrl: string, tun: string, hostname: string) {
  return {
    tailnet: {
      authKey: AUTH_KEY,
      controlUrl,
      tun,
      hostname,
      stateDir: "mem:",
      port: 0,
      derpHttp: true,
    },
  };
}

testOrSkip(import.meta, skip, {
  name:
    "tun up --config: two tailnets and a WireGuard network in one process; a control server killed, tun down --network, tun set --network, SIGHUP, SIGTERM",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create({ keepAliveSeconds: 5 });
    let multiProc: Deno.ChildProcess | null = null;
    let multiLog: Promise<string> = Promise.resolve("");
    let wgp: Netns | null = null;
    let wgo: WireguardGo | null = null;
    try {
      // A second, independent tailnet on the same hub, numbered apart from the first.
      await t.startControl(5, {
        port: SECOND_CONTROL,
        args: [
          "--prefix-v4",
          "100.96.0.0/12",
          "--prefix-v6",
          "fd7a:115c:a1e0:2::/64",
          "--base-domain",
          "two.test",
        ],
      });
      const secondUrl = `http://${HUB_IP}:${SECOND_CONTROL}`;
      await t.up("p1");
      await t.up("p2", [], { controlUrl: secondUrl });
      const multi = await t.addHost("multi");

      // The office VPN: wireguard-go in a namespace of its own, linked to the multi host.
      wgp = await Netns.create("wt-wgp");
      await veth(
        { ns: multi, ifname: "vm-office", addrs: ["10.243.0.1/24"] },
        { ns: wgp, ifname: "vo-office", addrs: ["10.243.0.2/24"] },
      );
      const mine = generatePrivateKey(), theirs = generatePrivateKey();
      wgo = await WireguardGo.start(wgp, {
        name: "wgo-cfg",
        privateKey: formatWgKey(theirs),
        listenPort: 51961,
        addresses: ["10.84.0.2/24"],
        peers: [{
          publicKey: formatWgKey(publicKeyFrom(mine)),
          allowedIps: ["10.84.0.1/32"],
          endpoint: "10.243.0.1:51960",
        }],
      }, t.dir);
      const office = `${t.dir}/office.conf`;
      await Deno.writeTextFile(
        office,
        `[Interface]\nPrivateKey = ${formatWgKey(mine)}\nAddress = 10.84.0.1/24\n` +
          `ListenPort = 51960\n\n[Peer]\nPublicKey = ${formatWgKey(publicKeyFrom(theirs))}\n` +
          `AllowedIPs = 10.84.0.2/32\nEndpoint = 10.243.0.2:51961\n`,
      );
      const cfg = `${t.dir}/networks.json`;
      const first = {
        one: tailnet(t.controlUrl, "ts-one", "multi"),
        two: tailnet(secondUrl, "ts-two", "multi"),
        office: { wireguard: { configFile: office, tun: "wg-office" } },
      };
      await Deno.writeTextFile(cfg, JSON.stringify({ networks: first }));
      multiProc = multi.spawn([...warren, "tun", "up", "--config", cfg], { stdout: "null" });
      multiLog = new Response(multiProc.stderr).text();

      let st: Record<string, NetStatus> = {};
      await waitFor("all three networks Running", async () => {
        st = await networks(multi);
        return ["one", "two", "office"].every((n) => st[n]?.state === "Running");
      }, 40_000);
      assert.match(v4(st.one), /^100\.64\./);
      assert.match(v4(st.two), /^100\.96\./, "the second tailnet numbers from its own range");
      const p1 = t.hosts.get("p1")!, p2 = t.hosts.get("p2")!;
      await ping(p1, v4(st.one));
      await ping(p2, v4(st.two));
      await ping(multi, "10.84.0.2");
      // Each tailnet routes only its own peers, through its own interface.
      const table = await routes(multi);
      assert.match(table, /100\.64\.0\.1 dev ts-one/);
      assert.match(table, /100\.96\.0\.1 dev ts-two/);
      // One quad-100 for the host, routed to one of the TUNs: both tailnets' names resolve.
      assert.equal(await lookup(multi, "p1.tailnet.test"), "A 100.64.0.1");
      assert.equal(await lookup(multi, "p2.two.test"), "A 100.96.0.1");

      // The second control server dies: its network keeps its data plane; the first tailnet
      // still gets netmap changes (a new peer appears).
      await t.stop(`control-${SECOND_CONTROL}`, "SIGKILL");
      await t.up("p3");
      await waitFor("network one to see p3", async () => {
        const n = (await networks(multi)).one;
        return (n?.peers as { name: string }[] | undefined)?.some((p) =>
          p.name.startsWith("p3.")
        ) ?? false;
      }, 30_000);
      await waitPeers(t, "p3", ["multi.tailnet.test", "p1.tailnet.test"].sort());
      await ping(t.hosts.get("p3")!, v4(st.one));
      await ping(p2, v4(st.two));
      await ping(multi, "10.84.0.2");

      // One network down by name; the others go on.
      const down = await multi.exec([...warren, "tun", "down", "--network", "office"], {
        check: false,
      });
      assert.equal(down.code, 0, down.stderr);
      await waitFor("wg-office to go", async () => {
        return !(await multi.exec(["ip", "-o", "link"])).stdout.includes("wg-office");
      }, 10_000);
      await ping(p1, v4(st.one));

      // tun set --network reaches one network's socket: shields up on "one" refuses p1's pings,
      // "two" is untouched.
      const set = (arg: string) =>
        multi.exec([...warren, "tun", "set", "--network", "one", arg], { check: false });
      assert.equal((await set("--shields-up")).code, 0);
      const shielded = await p1.exec(["ping", "-c", "2", "-W", "1", v4(st.one)], { check: false });
      assert.notEqual(shielded.code, 0, "network one answered with shields up");
      await ping(p2, v4(st.two));
      assert.equal((await set("--shields-up=false")).code, 0);
      await ping(p1, v4(st.one));

      // SIGHUP: the file now drops office (already down: nothing to stop) and adds two userspace networks (each gets a
      // LocalAPI socket of its own); one and two are unchanged and must not be touched.
      const before = [await ifindex(multi, "ts-one"), await ifindex(multi, "ts-two")];
      await Deno.writeTextFile(
        cfg,
        JSON.stringify({
          networks: {
            one: first.one,
            two: first.two,
            three: tailnet(t.controlUrl, "userspace-networking", "multi3"),
            four: tailnet(t.controlUrl, "userspace-networking", "multi4"),
          },
        }),
      );
      multiProc.kill("SIGHUP");
      await waitFor("three and four Running", async () => {
        st = await networks(multi);
        return st.three?.state === "Running" && st.four?.state === "Running";
      }, 40_000);
      assert.deepEqual(Object.keys(st).sort(), ["four", "one", "three", "two"]);
      assert.deepEqual(
        [await ifindex(multi, "ts-one"), await ifindex(multi, "ts-two")],
        before,
        "unchanged networks keep their interfaces",
      );
      await ping(p1, v4(st.three));
      await ping(p1, v4(st.four));
      await ping(p1, v4(st.one));
      assert.doesNotMatch((await multi.exec(["ip", "-o", "link"])).stdout, /wg-office/);

      // SIGTERM: everything goes.
      multiProc.kill("SIGTERM");
      const status = await multiProc.status;
      multiProc = null;
      const log = await multiLog;
      assert.equal(status.code, 0, log);
      assert.match(log, /reloaded .*networks\.json: 2 unchanged, 2 started, 0 stopped, 0 failed/);
      assert.doesNotMatch(log, /internal error/);
      assert.doesNotMatch((await multi.exec(["ip", "-o", "link"])).stdout, /ts-one|ts-two/);
      assert.doesNotMatch(await routes(multi), /100\.64\.|100\.96\./);
      const gone = await multi.exec([...warren, "tun", "status"], { check: false });
      assert.equal(gone.code, 1, "no LocalAPI socket is left");
    } catch (e) {
      if (multiProc) {
        console.error(`--- multi log\n${(await killed(multiProc, multiLog)).slice(-4000)}`);
      }
      multiProc = null;
      await t.dumpLogs(2000);
      throw e;
    } finally {
      if (multiProc) await killed(multiProc, multiLog);
      await wgo?.stop();
      await wgp?.delete();
      await t.close();
    }
  },
});

async function killed(p: Deno.ChildProcess, log: Promise<string>): Promise<string> {
  try {
    p.kill("SIGTERM");
  } catch { /* gone */ }
  await p.status;
  return await log;
}
