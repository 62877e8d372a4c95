/**
 * Logging in and staying the same node: DERP over TLS with a self-signed
 * certificate pinned in the DERP map (`sha256-raw:`), interactive login
 * approved on the server, the same identity after a restart from the state
 * directory, and `--force-reauth` registering a fresh node key in place.
 */
import assert from "node:assert/strict";
import { namespaceSupport, type Netns } from "../src/testbed/netns.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const skip = await namespaceSupport();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ping(ns: Netns, dst: string): Promise<void> {
  const r = await ns.exec(["ping", "-c", "2", "-i", "0.2", "-W", "3", dst], { check: false });
  assert.equal(r.code, 0, `ping ${dst}: ${r.stdout}`);
}

async function waitRunning(
  t: Tailnet,
  host: string,
): Promise<Awaited<ReturnType<Tailnet["status"]>>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await t.warren(host, ["status", "--json"], false);
    if (r.code === 0) {
      const st = JSON.parse(r.stdout);
      if (st.state === "Running" && st.peers.length > 0) return st;
    }
    if (Date.now() > deadline) throw new Error(`${host} did not come up: ${r.stdout}${r.stderr}`);
    await sleep(200);
  }
}

/** Waits until `host` has a peer with node key `key` (it learned the key from a map update). */
async function waitPeerKey(t: Tailnet, host: string, key: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await t.status(host)).peers.some((p) => p.publicKey === key)) {
    if (Date.now() > deadline) throw new Error(`${host} never learned peer key ${key}`);
    await sleep(200);
  }
}

testOrSkip(import.meta, skip, {
  name:
    "Interactive login, pinned TLS DERP, identity kept across restarts, --force-reauth rotates the node key",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create({ derpTls: true, keepAliveSeconds: 5 });
    try {
      assert.match(t.derpPin!, /^sha256-raw:[0-9a-f]{64}$/);
      await t.blockUdpBetweenNats(true); // DERP only: the hosts could otherwise go direct
      await t.up("alpha");
      const a = t.hosts.get("alpha")!;
      const alphaIp = ((await t.status("alpha")).addresses as string[])[0].split("/")[0];

      // Interactive: no auth key; the node waits until the login is approved on the server.
      const stateDir = `${t.dir}/beta-state`;
      await t.addHost("beta");
      await t.up("beta", ["--state-dir", stateDir], { authKey: null, wait: false });
      let pending: string[] = [];
      for (let i = 0; i < 100 && pending.length === 0; i++) {
        pending = await t.admin("GET", "/admin/pending") as string[];
        if (pending.length === 0) await sleep(100);
      }
      assert.equal(pending.length, 1, "beta is waiting for interactive approval");
      const before = await t.warren("beta", ["status", "--json"], false);
      assert.notEqual(before.code === 0 && JSON.parse(before.stdout).state, "Running");
      await t.admin("POST", `/admin/approve/${pending[0]}`);
      const st1 = await waitRunning(t, "beta");
      await waitPeerKey(t, "alpha", st1.publicKey as string);
      const b = t.hosts.get("beta")!;
      await ping(b, alphaIp);
      const betaIp = (st1.addresses as string[])[0].split("/")[0];
      await ping(a, betaIp);
      assert.equal(st1.peers[0].path, "derp-900", "traffic went over the TLS DERP server");

      // Restart from the same state directory: same node key, same addresses, no login.
      await t.stop("node-beta");
      await t.up("beta", ["--state-dir", stateDir], { authKey: null });
      const st2 = await waitRunning(t, "beta");
      assert.equal(st2.publicKey, st1.publicKey);
      await waitPeerKey(t, "alpha", st2.publicKey as string);
      assert.deepEqual(st2.addresses, st1.addresses);
      await ping(b, alphaIp);

      // --force-reauth: a fresh node key, registered in place of the old one.
      await t.stop("node-beta");
      await t.up("beta", ["--state-dir", stateDir, "--force-reauth"]);
      const st3 = await waitRunning(t, "beta");
      assert.notEqual(st3.publicKey, st1.publicKey);
      await waitPeerKey(t, "alpha", st3.publicKey as string);
      assert.deepEqual(st3.addresses, st1.addresses);
      const nodes = await t.admin("GET", "/admin/nodes") as {
        givenName: string;
        nodeKey: string;
      }[];
      assert.equal(
        nodes.filter((n) => n.givenName.startsWith("beta")).length,
        1,
        "still one beta node",
      );
      await ping(b, alphaIp);
      // alpha learns beta's new key from a map update and reaches it.
      await ping(a, betaIp);
    } catch (e) {
      await t.dumpLogs(2500);
      throw e;
    } finally {
      await t.close();
    }
  },
});
