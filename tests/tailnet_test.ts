/**
 * A whole tailnet on one machine: the test coordination server and
 * `warren tun derp` in a hub namespace, warren nodes in their own
 * namespaces joining with a pre-auth key. Drives what issue 4 asks for:
 * registration, MagicDNS, pings and 20 MB each way over DERP, a third node
 * coming and going, a control server restart, continuous WireGuard rekeys,
 * and a bad auth key.
 */
import assert from "node:assert/strict";
import { namespaceSupport, type Netns, warrenArgv } from "../src/testbed/netns.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { transfer } from "../src/testbed/transfer.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const skip = await namespaceSupport();

const DNS = new URL("./testdata/dns_query.ts", import.meta.url).pathname;
const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ping(ns: Netns, dst: string, count = 3): Promise<void> {
  const r = await ns.exec(["ping", "-c", `${count}`, "-i", "0.2", "-W", "3", dst], {
    check: false,
  });
  assert.equal(r.code, 0, `ping ${dst} from ${ns.name}: ${r.stdout}${r.stderr}`);
}

/** Moves `bytes` from `from` to `host` in `to` and checks both ends saw the same bytes. */
async function checkedTransfer(from: Netns, to: Netns, host: string, port: number, bytes: number) {
  const { sent, received } = await transfer(from, to, host, port, bytes);
  assert.equal(received, sent, `${bytes} bytes to ${host} arrived intact`);
  assert.match(sent, new RegExp(`^${bytes} [0-9a-f]{64}$`));
}

type Status = Awaited<ReturnType<Tailnet["status"]>>;
const addrOf = (st: Status, v: 4 | 6) =>
  (st.addresses as string[]).find((a) => (v === 4) !== a.includes(":"))!.split("/")[0];
const peerNames = (st: Status) => st.peers.map((p) => p.name as string).sort();

async function waitPeers(t: Tailnet, host: string, names: string[]): Promise<Status> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const st = await t.status(host);
    if (JSON.stringify(peerNames(st)) === JSON.stringify(names)) return st;
    if (Date.now() > deadline) throw new Error(`${host} sees ${peerNames(st)}, wanted ${names}`);
    await sleep(200);
  }
}

testOrSkip(import.meta, skip, {
  name:
    "warren nodes join a tailnet and carry traffic over DERP through map changes, a control restart and rekeys",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create({ keepAliveSeconds: 5 });
    try {
      await t.blockUdpBetweenNats(true); // DERP only: the hosts could otherwise go direct
      // Sessions live 8 s (rejected after 12 s), so the run crosses several rekeys.
      const rekey = ["--debug-rekey-after", "8"];
      await t.up("alpha", rekey);
      // beta's data plane runs on the main thread, alpha's in its Worker: both talk to each other.
      await t.up("beta", rekey, { wrapper: ["env", "WARREN_DATAPLANE=pool"] });
      const a = t.hosts.get("alpha")!, b = t.hosts.get("beta")!;
      const stA = await waitPeers(t, "alpha", ["beta.tailnet.test"]);
      const stB = await waitPeers(t, "beta", ["alpha.tailnet.test"]);
      assert.equal(stA.dataPlane, "worker");
      assert.equal(stB.dataPlane, "pool");
      assert.match((await t.warren("alpha", ["status"])).stdout, /data plane: own thread/);
      assert.match((await t.warren("beta", ["status"])).stdout, /data plane: main thread/);
      const tn = stA.tailnet as { homeDerp: number; self: { name: string } };
      assert.equal(tn.self.name, "alpha.tailnet.test");
      assert.equal(tn.homeDerp, 900);
      assert.deepEqual(
        (stA.routes as string[]).sort(),
        [
          "100.100.100.100/32",
          "fd7a:115c:a1e0::53/128",
          `${addrOf(stB, 4)}/32`,
          `${addrOf(stB, 6)}/128`,
        ]
          .sort(),
      );

      // MagicDNS at quad-100, over IPv4 and IPv6.
      const dnsA = await a.exec([
        Deno.execPath(),
        "run",
        "-A",
        DNS,
        "100.100.100.100",
        "beta.tailnet.test",
      ]);
      assert.equal(dnsA.stdout.trim(), `A ${addrOf(stB, 4)}`);
      const dnsAAAA = await b.exec([
        Deno.execPath(),
        "run",
        "-A",
        DNS,
        "fd7a:115c:a1e0::53",
        "alpha.tailnet.test",
        "AAAA",
      ]);
      assert.equal(dnsAAAA.stdout.trim(), `AAAA ${addrOf(stA, 6)}`);
      const nx = await a.exec([
        Deno.execPath(),
        "run",
        "-A",
        DNS,
        "100.100.100.100",
        "nobody.tailnet.test",
      ]);
      assert.equal(nx.stdout.trim(), "RCODE 3");

      // Pings both ways, IPv4 and IPv6, then 20 MB each way.
      await ping(a, addrOf(stB, 4));
      await ping(a, addrOf(stB, 6));
      await ping(b, addrOf(stA, 4));
      await checkedTransfer(a, b, addrOf(stB, 4), 5301, 20 * MB);
      await checkedTransfer(b, a, addrOf(stA, 6), 5302, 20 * MB);
      const after = await t.status("alpha");
      const beta = after.peers[0];
      assert.equal(beta.path, "derp-900");
      assert.ok((beta.txBytes as number) > 20 * MB && (beta.rxBytes as number) > 20 * MB);
      const filter = (after.tailnet as { filter: { accepted: number } }).filter;
      assert.ok(filter.accepted > 0, "inbound packets went through the filter");

      // Control pings the node (Headscale's debug ping, HA probes): HEAD, c2n /echo, disco.
      const alphaId = (await t.admin("GET", "/admin/nodes") as { id: number; givenName: string }[])
        .find((n) => n.givenName === "alpha")!.id;
      const head = await t.admin("POST", `/admin/ping/${alphaId}`, {}) as { method?: string };
      assert.equal(head.method, "HEAD", JSON.stringify(head));
      const echo = await t.admin("POST", `/admin/ping/${alphaId}`, {
        types: "c2n",
        payload: "POST /echo HTTP/1.1\r\nContent-Length: 4\r\n\r\nwarn",
      }) as { body?: string; overNoise?: boolean };
      assert.equal(echo.body, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nwarn");
      assert.equal(echo.overNoise, true);
      const disco = await t.admin("POST", `/admin/ping/${alphaId}`, {
        types: "disco",
        ip: addrOf(stB, 4),
        noise: true,
      }) as { body?: string };
      const pr = JSON.parse(disco.body ?? "{}");
      assert.equal(pr.Type, "disco", JSON.stringify(disco));
      assert.equal(pr.NodeName, "beta");
      assert.equal(pr.DERPRegionID, 900);
      assert.ok(pr.LatencySeconds > 0, JSON.stringify(pr));

      // A steady ping across several rekeys loses (almost) nothing.
      const hs0 = beta.latestHandshake as number;
      const r = await a.exec(["ping", "-c", "60", "-i", "0.25", "-W", "2", addrOf(stB, 4)], {
        check: false,
      });
      const received = Number(/(\d+) received/.exec(r.stdout)?.[1] ?? 0);
      assert.ok(received >= 58, `ping across rekeys: ${received}/60 received`);
      const hs1 = (await t.status("alpha")).peers[0].latestHandshake as number;
      assert.ok(hs1 >= hs0 + 8, `a rekey happened (${hs0} → ${hs1})`);

      // A third node joins and is removed on the server; the others follow without restarting.
      await t.up("gamma");
      const stAlpha3 = await waitPeers(t, "alpha", ["beta.tailnet.test", "gamma.tailnet.test"]);
      const gammaIp = (stAlpha3.peers.find((p) =>
        p.name === "gamma.tailnet.test"
      )!.addresses as string[])[0]
        .split("/")[0];
      await ping(a, gammaIp);
      const nodes = await t.admin("GET", "/admin/nodes") as { id: number; givenName: string }[];
      const gamma = nodes.find((n) => n.givenName === "gamma")!;
      await t.admin("DELETE", `/admin/nodes/${gamma.id}`);
      const st3 = await waitPeers(t, "alpha", ["beta.tailnet.test"]);
      assert.ok(!(st3.routes as string[]).includes(`${gammaIp}/32`), "gamma's route is gone");
      await t.stop("node-gamma");

      // Control goes away: traffic keeps flowing on the last netmap; it comes back: nodes reconnect.
      await t.stop("control");
      await ping(a, addrOf(stB, 4));
      await ping(b, addrOf(stA, 6));
      await t.startControl(5);
      const deadline = Date.now() + 30_000;
      for (;;) {
        const states = [(await t.status("alpha")).state, (await t.status("beta")).state];
        const online = (await t.admin("GET", "/admin/nodes") as { online?: boolean }[])
          .filter((n) => n.online).length;
        if (states.every((s) => s === "Running") && online >= 2) break;
        if (Date.now() > deadline) {
          throw new Error(`nodes did not reconnect: ${states}, ${online} online`);
        }
        await sleep(300);
      }
      await ping(a, addrOf(stB, 4));

      // SIGTERM removes the interface and every route.
      for (const host of ["alpha", "beta"]) {
        await t.stop(`node-${host}`);
        const ns = t.hosts.get(host)!;
        assert.doesNotMatch((await ns.exec(["ip", "-o", "link"])).stdout, /warren0/);
        const routes = (await ns.exec(["ip", "route"])).stdout +
          (await ns.exec(["ip", "-6", "route"])).stdout;
        assert.doesNotMatch(routes, /warren0|100\.64\.|fd7a:115c/);
      }
    } catch (e) {
      await t.dumpLogs(3000);
      throw e;
    } finally {
      await t.close();
    }
  },
});

testOrSkip(import.meta, skip, {
  name: "warren tun up with a bad auth key prints one line, exits 1 and leaves nothing behind",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create();
    try {
      const ns = await t.addHost("bad");
      const r = await ns.exec([
        ...warrenArgv(),
        "tun",
        "up",
        "--auth-key",
        "tskey-auth-wrong",
        "--control-url",
        t.controlUrl,
        "--state-dir",
        "mem:",
        "--derp-http",
      ], { check: false });
      assert.equal(r.code, 1);
      const lines = r.stderr.trim().split("\n").filter((l) => l.includes("warren tun up:"));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /invalid pre auth key/);
      assert.doesNotMatch((await ns.exec(["ip", "-o", "link"])).stdout, /warren0/);
      assert.doesNotMatch((await ns.exec(["ip", "route"])).stdout, /warren0/);
    } finally {
      await t.close();
    }
  },
});
