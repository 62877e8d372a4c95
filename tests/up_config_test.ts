/**
 * Several networks in one process from one config file: two wg-quick networks in each of two
 * namespaces carry traffic side by side; `tun down --tun` stops one network and leaves the
 * other running; SIGTERM stops the rest; a config with a clash is exit 2 and creates nothing.
 */
import assert from "node:assert/strict";
import { generatePrivateKey, publicKeyFrom } from "../src/crypto/x25519.ts";
import { formatWgKey } from "../src/key/wg_key.ts";
import {
  namespaceSupport,
  type Netns,
  waitFor,
  warrenArgv,
  withLinkedPair,
} from "../src/testbed/netns.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const warren = warrenArgv();
const skip = await namespaceSupport();

/** The wg-quick config of one side of network `n` (1 or 2) between sides a and b. */
function wgConf(n: number, self: Uint8Array, peer: Uint8Array, side: "a" | "b"): string {
  const [mine, theirs] = side === "a" ? [1, 2] : [2, 1];
  const peerHost = side === "a" ? "10.241.0.2" : "10.241.0.1";
  return `[Interface]\nPrivateKey = ${formatWgKey(self)}\nAddress = 10.82.${n}.${mine}/24\n` +
    `ListenPort = ${51900 + n}\n\n[Peer]\nPublicKey = ${formatWgKey(publicKeyFrom(peer))}\n` +
    `AllowedIPs = 10.82.${n}.${theirs}/32\nEndpoint = ${peerHost}:${51900 + n}\n`;
}

async function ping(ns: Netns, dst: string): Promise<boolean> {
  const r = await ns.exec(["ping", "-c", "2", "-i", "0.2", "-W", "2", dst], { check: false });
  return r.code === 0;
}

testOrSkip(import.meta, skip, {
  name:
    "tun up --config runs two networks in one process; status shows both; tun down --network stops one, SIGTERM the rest",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withLinkedPair("wcfg", async ({ a, b, dir, defer }) => {
      const keys = [1, 2].map(() => ({ a: generatePrivateKey(), b: generatePrivateKey() }));
      const procs: Record<string, Deno.ChildProcess> = {};
      for (const side of ["a", "b"] as const) {
        const networks: Record<string, unknown> = {};
        for (const n of [1, 2]) {
          const k = keys[n - 1];
          const file = `${dir}/${side}${n}.conf`;
          await Deno.writeTextFile(
            file,
            wgConf(n, side === "a" ? k.a : k.b, side === "a" ? k.b : k.a, side),
          );
          networks[`net${n}`] = { wireguard: { configFile: file, tun: `wc${side}${n}` } };
        }
        const cfg = `${dir}/${side}.json`;
        await Deno.writeTextFile(cfg, JSON.stringify({ networks }));
        const ns = side === "a" ? a : b;
        procs[side] = ns.spawn([...warren, "tun", "up", "--config", cfg], { stdout: "null" });
        defer(async () => {
          // SIGTERM, so the node removes its interfaces and its LocalAPI sockets.
          try {
            procs[side].kill("SIGTERM");
          } catch { /* already gone */ }
          await procs[side].stderr.cancel().catch(() => {});
          await procs[side].status;
        });
      }
      for (const n of [1, 2]) {
        await waitFor(`network ${n} to carry pings`, () => ping(a, `10.82.${n}.2`), 20_000);
      }
      // Both networks in one status, by the names the file gives them.
      const both = JSON.parse((await a.exec([...warren, "tun", "status", "--json"])).stdout);
      assert.deepEqual(Object.keys(both.networks).sort(), ["net1", "net2"]);
      assert.equal(both.networks.net1.interface, "wca1");
      // One network down by name; the other keeps working in the same process.
      const down = await a.exec([...warren, "tun", "down", "--network", "net1"], {
        check: false,
      });
      assert.equal(down.code, 0, down.stderr);
      const links = (await a.exec(["ip", "-o", "link"])).stdout;
      assert.doesNotMatch(links, /wca1/);
      assert.match(links, /wca2/);
      assert.ok(await ping(a, "10.82.2.2"), "network 2 still carries traffic");
      const st = JSON.parse(
        (await a.exec([...warren, "tun", "status", "--network", "net2", "--json"])).stdout,
      );
      assert.equal(st.state, "Running");
      assert.equal(st.network, "net2");
      // SIGTERM ends the process and the network left.
      procs.a.kill("SIGTERM");
      const status = await procs.a.status;
      assert.equal(status.code, 0);
      assert.doesNotMatch((await a.exec(["ip", "-o", "link"])).stdout, /wca/);
    }),
});

testOrSkip(import.meta, skip, {
  name: "tun up --config with two networks on one interface exits 2 naming both, creating nothing",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withLinkedPair("wcfgbad", async ({ a, dir }) => {
      const k = generatePrivateKey(), p = generatePrivateKey();
      await Deno.writeTextFile(`${dir}/x.conf`, wgConf(1, k, p, "a"));
      await Deno.writeTextFile(`${dir}/y.conf`, wgConf(2, k, p, "a"));
      const cfg = `${dir}/bad.json`;
      await Deno.writeTextFile(
        cfg,
        JSON.stringify({
          networks: {
            x: { wireguard: { configFile: `${dir}/x.conf`, tun: "wsame" } },
            y: { wireguard: { configFile: `${dir}/y.conf`, tun: "wsame" } },
            z: { tailnet: { colour: "blue" } },
          },
        }),
      );
      const r = await a.exec([...warren, "tun", "up", "--config", cfg], { check: false });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /bad\.json: networks\.y\.wireguard\.tun: .*wsame/);
      assert.match(r.stderr, /bad\.json: networks\.z\.tailnet\.colour: /);
      assert.doesNotMatch((await a.exec(["ip", "-o", "link"])).stdout, /wsame/);
    }),
});
