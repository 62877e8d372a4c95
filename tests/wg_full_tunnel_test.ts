/**
 * A full tunnel the way wg-quick makes one: warren in namespace A with one
 * wireguard-go peer B whose AllowedIPs are 0.0.0.0/0 and ::/0. A's main
 * table has default routes through B's underlay address, and B's endpoint
 * (192.0.2.2) is reachable only through them, so the handshake completes only
 * if warren's marked UDP is exempt from the tunnel; addresses that exist only
 * on B (10.77.0.1, fd77::1) answer A's pings through the tunnel. Then the
 * rules and table 51820 look as wg-quick leaves them, a second start that
 * fails half-way takes back its own rules and table, and SIGTERM removes
 * every rule and route.
 */
import assert from "node:assert/strict";
import { generatePrivateKey, publicKeyFrom } from "../src/crypto/x25519.ts";
import { formatWgKey } from "../src/key/wg_key.ts";
import {
  namespaceSupport,
  type Netns,
  netnsResolvConf,
  warrenArgv,
  withLinkedPair,
} from "../src/testbed/netns.ts";
import { WarrenNode } from "../src/testbed/warren_node.ts";
import { WireguardGo, wireguardGoSupport } from "../src/testbed/wireguard_go.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const skip = (await namespaceSupport()) ?? (await wireguardGoSupport());

const TUN = "wf-warren";
const PING_BYTES = 1000;

/** `ip rule` with the tabs and trailing blanks that vary between versions squeezed out. */
async function rules(ns: Netns, family: "-4" | "-6"): Promise<string[]> {
  const out = (await ns.exec(["ip", family, "rule", "show"])).stdout;
  return out.trim().split("\n").map((l) => l.replace(/\s+/g, " ").trim());
}

async function table(ns: Netns, family: "-4" | "-6", id: number): Promise<string> {
  return (await ns.exec(["ip", family, "route", "show", "table", `${id}`])).stdout.trim();
}

async function peerBytes(node: WarrenNode): Promise<{ rx: number; tx: number }> {
  const st = JSON.parse((await node.cli(["status", "--json"])).stdout);
  return { rx: st.peers[0].rxBytes, tx: st.peers[0].txBytes };
}

async function ping(ns: Netns, addr: string) {
  await ns.exec(["ping", "-c", "3", "-i", "0.2", "-W", "3", "-s", `${PING_BYTES}`, addr]);
}

/** SIGTERM, and SIGKILL if the node has not exited within `ms`. */
async function stopWithin(node: WarrenNode, ms: number) {
  const timer = setTimeout(() => {
    try {
      node.proc.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, ms);
  try {
    return await node.stop();
  } finally {
    clearTimeout(timer);
  }
}

const ORIGINAL_RESOLV_CONF = "nameserver 192.0.2.53\n";

const DEFAULT_RULES_4 = [
  "0: from all lookup local",
  "32766: from all lookup main",
  "32767: from all lookup default",
];
const DEFAULT_RULES_6 = ["0: from all lookup local", "32766: from all lookup main"];
const TUNNEL_RULES = [
  "0: from all lookup local",
  "32764: from all lookup main suppress_prefixlength 0",
  "32765: not from all fwmark 0xca6c lookup 51820",
  "32766: from all lookup main",
];

testOrSkip(import.meta, skip, {
  name: "warren routes a full tunnel like wg-quick: fwmark, table 51820 and two rules per family",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLinkedPair("wf", async ({ a, b, dir, defer }) => {
      // B is A's gateway. Its endpoint and the test targets live on B's loopback, on no
      // network A is attached to.
      await a.exec(["ip", "route", "add", "default", "via", "10.241.0.2"]);
      await a.exec(["ip", "-6", "route", "add", "default", "via", "fd00:241::2"]);
      for (const addr of ["192.0.2.2/32", "10.77.0.1/32", "fd77::1/128"]) {
        await b.exec(["ip", "addr", "add", addr, "dev", "lo"]);
      }
      assert.deepEqual(await rules(a, "-4"), DEFAULT_RULES_4);

      const ka = generatePrivateKey(), kb = generatePrivateKey();
      const wg = await WireguardGo.start(b, {
        name: `wgf${b.name.slice(-6)}`,
        privateKey: formatWgKey(kb),
        listenPort: 51820,
        addresses: ["10.240.0.2/24", "fd00:240::2/64"],
        // No endpoint: B cannot start a handshake, so one completes only if A's gets out.
        peers: [{
          publicKey: formatWgKey(publicKeyFrom(ka)),
          allowedIps: ["10.240.0.1/32", "fd00:240::1/128"],
        }],
      }, dir);
      defer(() => wg.stop());

      // A's own resolv.conf (ip netns exec bind-mounts it over /etc/resolv.conf), which the
      // config's DNS= replaces while the tunnel is up.
      const resolvConf = await netnsResolvConf(a, ORIGINAL_RESOLV_CONF);
      defer(() => resolvConf.remove());

      const config = (port: number) =>
        `[Interface]
PrivateKey = ${formatWgKey(ka)}
Address = 10.240.0.1/24, fd00:240::1/64
ListenPort = ${port}
DNS = 10.77.0.53, vpn.example

[Peer]
PublicKey = ${formatWgKey(publicKeyFrom(kb))}
AllowedIPs = 0.0.0.0/0, ::/0
Endpoint = 192.0.2.2:51820
`;
      const node = await WarrenNode.start(a, TUN, config(51820), dir);
      defer(() => node.stop("SIGKILL"));

      // 1. What wg-quick would have made, DNS included.
      const resolv = (await a.exec(["cat", "/etc/resolv.conf"])).stdout;
      assert.match(resolv, /^nameserver 10\.77\.0\.53$/m, resolv);
      assert.match(resolv, /^search vpn\.example$/m, resolv);
      assert.deepEqual(await rules(a, "-4"), [...TUNNEL_RULES, "32767: from all lookup default"]);
      assert.deepEqual(await rules(a, "-6"), TUNNEL_RULES);
      assert.match(await table(a, "-4", 51820), new RegExp(`^default dev ${TUN} scope link$`));
      assert.match(await table(a, "-6", 51820), new RegExp(`^default dev ${TUN} metric 1024`));
      const sysctl = await a.exec(["sysctl", "-n", "net.ipv4.conf.all.src_valid_mark"]);
      assert.equal(sysctl.stdout.trim(), "1");
      // Unmarked packets go into the tunnel; the socket's marked ones take A's default route.
      const get = async (...args: string[]) =>
        (await a.exec(["ip", "route", "get", ...args])).stdout;
      assert.match(
        await get("10.77.0.1"),
        new RegExp(`dev ${TUN} table 51820 src 10\\.240\\.0\\.1`),
      );
      assert.match(await get("192.0.2.2", "mark", "51820"), /via 10\.241\.0\.2 dev va-/);
      assert.match(await get("10.241.0.2"), /dev va-/, "main's connected route still wins");

      // 2. Traffic: the handshake completes over the underlay (so the fwmark exemption
      // works), and addresses that exist only on B answer through the tunnel.
      const before = await peerBytes(node);
      await ping(a, "10.77.0.1");
      await ping(a, "fd77::1");
      const after = await peerBytes(node);
      assert.ok(after.tx - before.tx > 6 * PING_BYTES, `sent through the tunnel: ${after.tx}`);
      assert.ok(after.rx - before.rx > 6 * PING_BYTES, `received through it: ${after.rx}`);
      const hs = (await wg.latestHandshakes()).get(formatWgKey(publicKeyFrom(ka)));
      assert.ok(hs !== undefined && hs > 0, "wireguard-go completed warren's handshake");
      await a.exec(["ping", "-c", "1", "-W", "3", "10.241.0.2"]); // the underlay still works

      // 3. Status lists the default routes with their table, the rules and the mark.
      const st = JSON.parse((await node.cli(["status", "--json"])).stdout);
      assert.deepEqual(st.routes, ["0.0.0.0/0", "::/0"]);
      assert.deepEqual(st.routeTables, [
        { prefix: "0.0.0.0/0", table: 51820 },
        { prefix: "::/0", table: 51820 },
      ]);
      assert.equal(st.fwmark, 51820);
      assert.deepEqual(st.rules.map((r: { family: number; rule: string }) => r.family), [
        4,
        4,
        6,
        6,
      ]);
      const text = (await node.cli(["status", "--routes"])).stdout;
      assert.match(text, /fwmark: 0xca6c/);
      assert.match(text, new RegExp(`0\\.0\\.0\\.0/0 dev ${TUN} table 51820`));
      assert.match(text, /32765: not from all fwmark 0xca6c lookup 51820 \(IPv4\)/);
      assert.match(text, /32764: from all lookup main suppress_prefixlength 0 \(IPv6\)/);

      // 4. A second node whose start fails after its rules are in (its port is taken) takes
      // them back, and its table (the next free one, 51821) with them.
      const second = `${dir}/second.conf`;
      await Deno.writeTextFile(second, config(51820), { mode: 0o600 });
      const failed = await a.exec(
        [
          "timeout",
          "30",
          ...warrenArgv(),
          "tun",
          "up",
          "--wg-config",
          second,
          "--tun",
          "wf-second",
        ],
        { check: false },
      );
      assert.equal(failed.code, 1, failed.stderr);
      assert.match(failed.stderr, /51820/);
      assert.match(failed.stderr, /not from all fwmark 0xca6d lookup 51821/, "it got that far");
      assert.deepEqual(await rules(a, "-4"), [...TUNNEL_RULES, "32767: from all lookup default"]);
      assert.deepEqual(await rules(a, "-6"), TUNNEL_RULES);
      assert.equal(await table(a, "-4", 51821), "");
      assert.equal(await table(a, "-6", 51821), "");
      assert.doesNotMatch((await a.exec(["ip", "-o", "link"])).stdout, /wf-second/);
      await ping(a, "10.77.0.1"); // the first node is unharmed

      // 5. SIGTERM removes every rule and route.
      const { code } = await stopWithin(node, 15_000);
      assert.equal(code, 0);
      assert.deepEqual(await rules(a, "-4"), DEFAULT_RULES_4);
      assert.deepEqual(await rules(a, "-6"), DEFAULT_RULES_6);
      assert.equal(await table(a, "-4", 51820), "");
      assert.equal(await table(a, "-6", 51820), "");
      assert.doesNotMatch((await a.exec(["ip", "-o", "link"])).stdout, new RegExp(TUN));
      assert.match(await get("10.77.0.1"), /via 10\.241\.0\.2/, "main's default is back in use");
      assert.equal(await Deno.readTextFile(resolvConf.path), ORIGINAL_RESOLV_CONF);
    });
  },
});
