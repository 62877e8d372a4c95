/**
 * `warren tun up --tun userspace-networking` end to end: a tailnet with one
 * kernel-TUN node and two userspace nodes, one run as root without
 * CAP_NET_ADMIN (which cannot create a TUN) and one as nobody with
 * `--state-dir mem:`. The kernel node pings both over IPv4 and IPv6 —
 * answered by warren's own stack — first over DERP, then on a direct path;
 * `tun status` shows the mode; neither userspace namespace gets an interface
 * or a route; SIGTERM and `tun down` stop them cleanly.
 */
import assert from "node:assert/strict";
import { namespaceSupport, type Netns, run, warrenArgv } from "../src/testbed/netns.ts";
import {
  CAP_NET_ADMIN,
  hasCap,
  processCredentials,
  unprivileged,
  WITHOUT_NET_ADMIN,
} from "../src/testbed/privileges.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import { routes } from "./_tailnet_probes.ts";

const USERSPACE = "userspace-networking";
const skip = (await namespaceSupport()) ??
  ((await run(["sh", "-c", "command -v nft && command -v setpriv"], { check: false })).code !== 0
    ? "nft (nftables) or setpriv (util-linux) is not installed"
    : null);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Status = Awaited<ReturnType<Tailnet["status"]>>;
const addrOf = (st: Status, v: 4 | 6) =>
  (st.addresses as string[]).find((a) => (v === 4) !== a.includes(":"))!.split("/")[0];

async function ping(ns: Netns, dst: string): Promise<void> {
  const r = await ns.exec(["ping", "-c", "3", "-i", "0.2", "-W", "3", dst], { check: false });
  assert.equal(r.code, 0, `ping ${dst} from ${ns.name}: ${r.stdout}${r.stderr}`);
}

/** Polls until `host` sees `peer` on a path state in `states`; returns the peer's status. */
async function waitPath(t: Tailnet, host: string, peer: string, states: string[], ms: number) {
  const deadline = Date.now() + ms;
  let last = "";
  for (;;) {
    const p = (await t.status(host)).peers.find((x) => x.name === `${peer}.tailnet.test`);
    last = `${p?.pathState} ${p?.path}`;
    if (p && states.includes(p.pathState as string)) return p;
    if (Date.now() > deadline) throw new Error(`${host}→${peer} not ${states} (last: ${last})`);
    await sleep(200);
  }
}

/** What a userspace node's namespace must not have: a TUN, or a route to the tailnet. */
async function assertUntouched(ns: Netns): Promise<void> {
  const links = (await ns.exec(["ip", "-o", "link", "show"])).stdout;
  assert.doesNotMatch(links, /warren|tun/, `no interface appeared: ${links}`);
  const table = await routes(ns);
  assert.doesNotMatch(table, /100\.64\.|100\.100\.100\.100|fd7a:/, `no route appeared: ${table}`);
}

testOrSkip(import.meta, skip, {
  name:
    "userspace-networking nodes (root without CAP_NET_ADMIN, and nobody) answer pings over DERP and direct, with no TUN or route",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using user = await unprivileged();
    const t = await Tailnet.create({ keepAliveSeconds: 5 });
    try {
      for (const h of ["kern", "capless", "nobody"]) await t.addHostBehindNat(h);
      // DERP only at first: UDP between the NATs is cut until the direct half.
      await t.blockUdpBetweenNats(true);
      await t.up("kern");
      await t.up("capless", ["--accept-dns"], { tun: USERSPACE, wrapper: [...WITHOUT_NET_ADMIN] });
      // TS_USERSPACE=true, as Tailscale's container image sets it, instead of --tun.
      const wrapper = [...user.wrapper, "TS_USERSPACE=true"];
      await t.up("nobody", [], { tun: null, wrapper });
      const k = t.hosts.get("kern")!, c = t.hosts.get("capless")!, n = t.hosts.get("nobody")!;

      // The processes really lack what a TUN needs, and that lack really stops a TUN.
      const credC = await processCredentials(t.procs.get("node-capless")!.child.pid);
      assert.equal(credC.uid, 0);
      assert.equal(hasCap(credC.capEff, CAP_NET_ADMIN), false, "root without CAP_NET_ADMIN");
      const credN = await processCredentials(t.procs.get("node-nobody")!.child.pid);
      assert.deepEqual(credN, { uid: 65534, capEff: 0n });
      for (const prefix of [WITHOUT_NET_ADMIN, user.wrapper]) {
        const r = await c.exec([...prefix, "ip", "tuntap", "add", "dev", "probe0", "mode", "tun"], {
          check: false,
        });
        assert.notEqual(r.code, 0, `${prefix[1]} can create a TUN`);
        assert.match(r.stderr, /not permitted|permission denied/i);
      }

      // tun status finds both (nobody's socket is in its XDG_RUNTIME_DIR) and shows the mode.
      const stC = await t.status("capless"), stN = await t.status("nobody");
      for (const st of [stC, stN]) {
        assert.equal(st.mode, USERSPACE);
        assert.equal(st.interface, USERSPACE);
        assert.deepEqual(st.routes, []);
        assert.equal((st.addresses as string[]).length, 2);
      }
      const text = (await t.warren("nobody", ["status"])).stdout;
      assert.match(text, /^interface: userspace-networking \(Running, pid \d+\)$/m);
      assert.match(text, /^ {2}mode: userspace-networking$/m);
      const nsDirs = [...Deno.readDirSync(`${user.runtimeDir}/warren`)].map((e) => e.name);
      assert.equal(nsDirs.length, 1);
      assert.deepEqual(
        [...Deno.readDirSync(`${user.runtimeDir}/warren/${nsDirs[0]}`)].map((e) => e.name),
        [`${USERSPACE}.sock`],
        "nobody's LocalAPI lives under its XDG_RUNTIME_DIR",
      );
      assert.equal((await t.status("kern")).mode, "tun");
      await assertUntouched(c);
      await assertUntouched(n);

      // Over DERP: the kernel node pings both, IPv4 and IPv6; warren's stack answers.
      for (const [name, st] of [["capless", stC], ["nobody", stN]] as const) {
        await ping(k, addrOf(st, 4));
        await ping(k, addrOf(st, 6));
        const p = (await t.status("kern")).peers.find((x) => x.name === `${name}.tailnet.test`)!;
        assert.equal(p.path, "derp-900", `${name} over DERP`);
        const ip = (await t.status(name)).netstack as { ip: { echoReplied: number } };
        assert.ok(ip.ip.echoReplied >= 6, `${name}'s netstack answered ${ip.ip.echoReplied}`);
      }

      // Direct: UDP between the NATs flows again and the paths go direct.
      await t.blockUdpBetweenNats(false);
      for (const [name, st] of [["capless", stC], ["nobody", stN]] as const) {
        await ping(k, addrOf(st, 4)); // traffic makes disco look again
        const p = await waitPath(t, "kern", name, ["direct"], 40_000);
        assert.match(p.path as string, /^10\.80\.\d+\.2:\d+$/, `${name} direct`);
        await ping(k, addrOf(st, 4));
        await ping(k, addrOf(st, 6));
        const after = (await t.status("kern")).peers.find((x) => x.name === p.name)!;
        assert.match(after.path as string, /^10\.80\.\d+\.2:\d+$/, `${name} still direct`);
      }
      await assertUntouched(c);
      await assertUntouched(n);

      // SIGTERM stops the capless node cleanly; tun down (found the same way) stops nobody's.
      const childC = t.procs.get("node-capless")!.child;
      const logC = await t.stop("node-capless");
      assert.equal((await childC.status).code, 0, logC);
      assert.match(logC, /--accept-dns: userspace-networking leaves \/etc\/resolv\.conf alone/);
      assert.match(logC, /userspace-networking down/);
      assert.doesNotMatch(logC, /teardown:|internal error/);
      const childN = t.procs.get("node-nobody")!.child;
      const down = await t.warren("nobody", ["down"]);
      assert.match(down.stdout, /userspace-networking is down/);
      assert.equal((await childN.status).code, 0);
      const logN = await t.stop("node-nobody");
      assert.doesNotMatch(logN, /teardown:|internal error/);
      assert.deepEqual([...Deno.readDirSync(`${user.runtimeDir}/warren`)], [], "socket removed");
      const gone = await t.warren("nobody", ["status"], false);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /No warren node is running/);
    } catch (e) {
      await t.dumpLogs(3000);
      throw e;
    } finally {
      await t.close();
    }
  },
});

Deno.test("--tun userspace-networking with --wg-config is a usage error (exit 2)", async () => {
  const r = await run([...warrenArgv(), "tun", "up", "--wg-config", "x.conf", "--tun", USERSPACE], {
    check: false,
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /userspace-networking does not go with --wg-config/);
});
