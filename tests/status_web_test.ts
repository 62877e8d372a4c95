/**
 * `warren tun status --web` against a running node: the page and its JSON
 * come from the node over the LocalAPI, SIGTERM stops the server, and a bad
 * --listen is a usage error.
 */
import assert from "node:assert/strict";
import { generatePrivateKey, publicKeyFrom } from "../src/crypto/x25519.ts";
import { formatWgKey } from "../src/key/wg_key.ts";
import { firstLine, namespaceSupport, Netns, run, warrenArgv } from "../src/testbed/netns.ts";
import { WarrenNode } from "../src/testbed/warren_node.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const warren = warrenArgv();
const skip = await namespaceSupport() ??
  ((await run(["sh", "-c", "command -v curl"], { check: false })).code !== 0
    ? "curl is not installed"
    : null);

Deno.test("warren tun status --listen without --web, or a bad --listen, exits 2", async () => {
  for (const args of [["--listen", "127.0.0.1:1"], ["--web", "--listen", ":8384"]]) {
    const r = await run([...warren, "tun", "status", "--tun", "nosuch0", ...args], {
      check: false,
    });
    assert.equal(r.code, 2, `${args}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

testOrSkip(import.meta, skip, {
  name: "warren tun status --web serves the running node's peers live until SIGTERM",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const ns = await Netns.create("wweb");
    const dir = await Deno.makeTempDir();
    let node: WarrenNode | null = null;
    let web: Deno.ChildProcess | null = null;
    try {
      const peer = formatWgKey(publicKeyFrom(generatePrivateKey()));
      node = await WarrenNode.start(
        ns,
        "wweb0",
        `[Interface]\nPrivateKey = ${formatWgKey(generatePrivateKey())}\nAddress = 10.78.0.1/24\n` +
          `ListenPort = 51998\n\n[Peer]\nPublicKey = ${peer}\nAllowedIPs = 10.78.0.2/32\n`,
        dir,
      );
      web = ns.spawn([...warren, "tun", "status", "--web", "--listen", "127.0.0.1:0"]);
      const out = await firstLine(web);
      const url = /serving (http:\/\/\S+)/.exec(out)?.[1];
      assert.ok(url, `no URL in ${JSON.stringify(out)}`);
      const json = JSON.parse((await ns.exec(["curl", "-sf", `${url}status.json`])).stdout);
      assert.equal(json.networks.wweb0.interface, "wweb0");
      assert.equal(json.networks.wweb0.peers[0].publicKey, peer);
      const html = (await ns.exec(["curl", "-sf", url])).stdout;
      assert.match(html, /wweb0/);
      assert.match(html, /10\.78\.0\.2\/32/);
      web.kill("SIGTERM");
      await web.stdout.cancel().catch(() => {});
      const status = await web.status;
      web = null;
      assert.equal(status.code, 0);
    } finally {
      web?.kill("SIGKILL");
      await node?.stop();
      await ns.delete();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
