/**
 * An unprivileged userspace-networking node uses an exit node, as tailscaled's userspace mode
 * does: with `--exit-node`, its SOCKS5 proxy sends destinations outside the tailnet through
 * the exit node instead of the host. The client runs as root without CAP_NET_ADMIN in a
 * namespace with no route to the "internet" address that only the exit node's side reaches;
 * it downloads 4 MiB from there by SOCKS5 (SHA-256 checked), and after
 * `tun set --exit-node=` the same request goes to the host again and fails.
 */
import assert from "node:assert/strict";
import { curlSha, startBodyServer } from "../src/testbed/body_server.ts";
import { Netns, veth, waitFor } from "../src/testbed/netns.ts";
import { WITHOUT_NET_ADMIN } from "../src/testbed/privileges.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import { USERSPACE, userspaceSkip } from "./_userspace_probes.ts";

const INTERNET = "198.51.100.7";
const URL_BODY = `http://${INTERNET}:8000/body`;
const SOCKS = ["--socks5-hostname", "127.0.0.1:1080"];
const skip = await userspaceSkip();

testOrSkip(import.meta, skip, {
  name:
    "a userspace node's SOCKS5 proxy reaches the internet through its exit node, and the host again after tun set --exit-node=",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create({ keepAliveSeconds: 5 });
    let body: Awaited<ReturnType<typeof startBodyServer>> | null = null;
    try {
      const exit = await t.addHost("exit");
      const inet = await Netns.create("wt-uinet");
      t.hosts.set("inet", inet);
      await veth(
        { ns: exit, ifname: "we-uinet", addrs: ["203.0.113.1/24"] },
        { ns: inet, ifname: "wi-uinet", addrs: ["203.0.113.2/24"] },
      );
      await inet.exec(["ip", "addr", "add", `${INTERNET}/32`, "dev", "lo"]);
      await inet.exec(["ip", "route", "add", "default", "via", "203.0.113.1"]);
      await exit.exec(["ip", "route", "add", `${INTERNET}/32`, "via", "203.0.113.2"]);
      await exit.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      body = await startBodyServer(inet, [`${INTERNET}:8000`], 4 << 20);

      await t.up("exit", ["--advertise-exit-node"]);
      const nodes = await t.admin("GET", "/admin/nodes") as { id: number; hostname: string }[];
      const id = nodes.find((n) => n.hostname === "exit")!.id;
      await t.admin("POST", `/admin/routes/${id}`, { approve: ["0.0.0.0/0", "::/0"] });

      await t.up("uclient", ["--exit-node", "exit", "--socks5-server", "127.0.0.1:1080"], {
        tun: USERSPACE,
        wrapper: [...WITHOUT_NET_ADMIN],
      });
      const client = t.hosts.get("uclient")!;
      const direct = await client.exec(["curl", "-sS", "--max-time", "3", URL_BODY], {
        check: false,
      });
      assert.notEqual(direct.code, 0, "the client's host has no way to the internet address");
      await waitFor("the client to use the exit node", async () => {
        const st = await t.status("uclient");
        return (st.tailnet as { exitNode?: { node?: { name: string } } }).exitNode?.node?.name ===
          "exit.tailnet.test";
      }, 20_000);

      // Through the exit node: the netstack dials, WireGuard carries it to the exit node's /0.
      let got: Awaited<ReturnType<typeof curlSha>> | null = null;
      await waitFor("a download through the exit node", async () => {
        got = await curlSha(client, [...SOCKS, URL_BODY], 30).catch(() => null);
        return got !== null;
      }, 30_000);
      assert.equal(got!.sha, body.sha, "4 MiB through the exit node, intact");
      assert.equal(got!.bytes, 4 << 20);

      // No exit node: the proxy dials from the host again, which has no route there.
      const set = await t.warren("uclient", ["set", "--exit-node="], false);
      assert.equal(set.code, 0, set.stderr);
      const after = await client.exec(
        ["curl", "-sS", "--max-time", "5", ...SOCKS, URL_BODY],
        { check: false },
      );
      assert.notEqual(after.code, 0, "without an exit node the host dials, and cannot reach it");
    } catch (e) {
      await t.dumpLogs(3000);
      throw e;
    } finally {
      await body?.stop();
      await t.close();
    }
  },
});
