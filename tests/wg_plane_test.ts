/**
 * Where a wg-config node's data plane runs, both ways: in a Worker of its own (the default)
 * and on the main thread (`WARREN_DATAPLANE=pool`), each against wireguard-go, with the
 * LocalAPI asked for status again and again while a transfer runs, and a clean stop.
 */
import assert from "node:assert/strict";
import { generatePrivateKey, publicKeyFrom } from "../src/crypto/x25519.ts";
import { formatWgKey } from "../src/key/wg_key.ts";
import { namespaceSupport, withLinkedPair } from "../src/testbed/netns.ts";
import { transfer } from "../src/testbed/transfer.ts";
import { WarrenNode } from "../src/testbed/warren_node.ts";
import { WireguardGo, wireguardGoSupport } from "../src/testbed/wireguard_go.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const skip = (await namespaceSupport()) ?? (await wireguardGoSupport());
const MB = 1024 * 1024;

/** Thread names of a process (`comm` of each task): a Deno Worker's thread is "worker-N". */
async function threadNames(pid: number): Promise<string[]> {
  const names: string[] = [];
  for await (const t of Deno.readDir(`/proc/${pid}/task`)) {
    names.push((await Deno.readTextFile(`/proc/${pid}/task/${t.name}/comm`)).trim());
  }
  return names;
}

for (const mode of ["worker", "pool"] as const) {
  testOrSkip(import.meta, skip, {
    name:
      `wg-config data plane (${mode}): traffic both ways, status answered under load, clean stop`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await withLinkedPair("wp", async ({ a, b, dir, defer }) => {
        const ka = generatePrivateKey(), kb = generatePrivateKey();
        const wg = await WireguardGo.start(b, {
          name: `wgp${b.name.slice(-6)}`,
          privateKey: formatWgKey(kb),
          listenPort: 51820,
          addresses: ["10.242.0.2/24"],
          peers: [{
            publicKey: formatWgKey(publicKeyFrom(ka)),
            allowedIps: ["10.242.0.1/32"],
            endpoint: "10.241.0.1:51820",
          }],
        }, dir);
        defer(() => wg.stop());
        const tun = `wp-${mode}`;
        const node = await WarrenNode.start(
          a,
          tun,
          `[Interface]\nPrivateKey = ${formatWgKey(ka)}\nAddress = 10.242.0.1/24\n` +
            `ListenPort = 51820\n\n[Peer]\nPublicKey = ${formatWgKey(publicKeyFrom(kb))}\n` +
            `AllowedIPs = 10.242.0.2/32\nEndpoint = 10.241.0.2:51820\n`,
          dir,
          [],
          { WARREN_DATAPLANE: mode },
        );
        defer(() => node.stop("SIGKILL"));
        const workers = (await threadNames(node.proc.pid)).filter((n) => n.startsWith("worker"));
        assert.equal(workers.length, mode === "worker" ? 1 : 0, `threads of ${mode} mode`);
        assert.equal(JSON.parse((await node.cli(["status", "--json"])).stdout).dataPlane, mode);
        assert.match((await node.cli(["status"])).stdout, /data plane: (own|main) thread/);

        await a.exec(["ping", "-c", "3", "-i", "0.2", "-W", "3", "10.242.0.2"]);
        await b.exec(["ping", "-c", "3", "-i", "0.2", "-W", "3", "10.242.0.1"]);
        // Status asked in bursts while 16 MB go each way: every request is answered, and the
        // byte counters the plane reports only grow.
        let asking = true, answered = 0, lastRx = 0;
        const asker = (async () => {
          while (asking) {
            const all = await Promise.all([0, 1, 2].map(() => node.cli(["status", "--json"])));
            const rxs = all.map((r) => JSON.parse(r.stdout).peers[0].rxBytes as number);
            const rx = Math.min(...rxs);
            assert.ok(rx >= lastRx, `rxBytes went back from ${lastRx} to ${rx}`);
            lastRx = Math.max(...rxs);
            answered += all.length;
          }
        })();
        asker.catch(() => {}); // awaited below; this keeps a failure from going unhandled first
        try {
          const up = await transfer(a, b, "10.242.0.2", 5301, 16 * MB);
          assert.equal(up.received, up.sent);
          const down = await transfer(b, a, "10.242.0.1", 5302, 16 * MB);
          assert.equal(down.received, down.sent);
        } finally {
          asking = false;
          await asker;
        }
        assert.ok(answered >= 3, `${answered} status answers`);
        // The asker's last round may have been answered before the download's last segments:
        // one more read, after both transfers, must show all of them (and no less than before).
        const finalRx = JSON.parse((await node.cli(["status", "--json"])).stdout).peers[0]
          .rxBytes as number;
        assert.ok(finalRx >= lastRx, `rxBytes went back from ${lastRx} to ${finalRx}`);
        assert.ok(finalRx > 16 * MB, `rxBytes ${finalRx}`);

        const { code, log } = await node.stop();
        assert.equal(code, 0, log);
        assert.doesNotMatch((await a.exec(["ip", "-o", "link"])).stdout, new RegExp(tun));
      });
    },
  });
}
