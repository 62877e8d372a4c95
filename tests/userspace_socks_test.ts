/**
 * The outbound proxies of a userspace-networking node end to end: a
 * kernel-TUN node serves HTTP on its tailnet addresses; a userspace node (root
 * without CAP_NET_ADMIN) runs `--socks5-server` and
 * `--outbound-http-proxy-listen`, and curl in its namespace fetches 20 MB
 * through SOCKS5 by MagicDNS short name and by IP, through the HTTP proxy by
 * IPv6 address and by name, uploads 20 MB, sends a UDP datagram through
 * SOCKS5 UDP ASSOCIATE by name and by IP, and reaches a server on the hub
 * (not on the tailnet) through the host — every body checked by SHA-256.
 */
import assert from "node:assert/strict";
import { run, waitFor, warrenArgv } from "../src/testbed/netns.ts";
import { WITHOUT_NET_ADMIN } from "../src/testbed/privileges.ts";
import { HUB_IP, Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import { mulberry32 } from "../src/testing/prng.ts";
import {
  addrOf,
  curlSha,
  startServer,
  startUdpEcho,
  USERSPACE,
  userspaceSkip,
} from "./_userspace_probes.ts";

const UDP_PROBE = new URL("./testdata/socks5_udp_probe.ts", import.meta.url).pathname;
const BODY_BYTES = 20 << 20;
const skip = await userspaceSkip();

testOrSkip(import.meta, skip, {
  name:
    "a userspace node's SOCKS5 and HTTP proxies carry 20 MB to a tailnet peer by MagicDNS name and IP, UDP by SOCKS5, and other destinations through the host",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create();
    const servers: { stop(): Promise<void> }[] = [];
    const dir = await Deno.makeTempDir();
    try {
      // Behind NATs, as userspace_test.ts: the hub forwards between them, so a direct path forms.
      for (const h of ["kern", "capless"]) await t.addHostBehindNat(h);
      await t.up("kern");
      await t.up("capless", [
        "--socks5-server",
        "127.0.0.1:1055",
        "--outbound-http-proxy-listen",
        "127.0.0.1:1056",
      ], { tun: USERSPACE, wrapper: [...WITHOUT_NET_ADMIN] });
      const k = t.hosts.get("kern")!, c = t.hosts.get("capless")!;
      const stK = await t.status("kern");
      const v4 = addrOf(stK, 4), v6 = addrOf(stK, 6);
      const tailnet = await startServer(k, [`${v4}:8000`, `[${v6}]:8000`]);
      servers.push(tailnet);
      // Not on the tailnet: the hub's own address, which the userspace node reaches directly.
      const hub = await startServer(t.hub, [`${HUB_IP}:8001`]);
      servers.push(hub);

      // On the direct path (as a steady tailnet is), not DERP: traffic makes disco look.
      const stC = await t.status("capless");
      await k.exec(["ping", "-c", "3", "-i", "0.2", "-W", "3", addrOf(stC, 4)], { check: false });
      await waitFor("a direct path kern→capless", async () => {
        const p = (await t.status("kern")).peers.find((x) => x.name === "capless.tailnet.test");
        return p?.pathState === "direct";
      }, 40_000);
      // SOCKS5 by MagicDNS short name: the proxy resolves it in process.
      const byName = await curlSha(c, [
        "--socks5-hostname",
        "127.0.0.1:1055",
        "http://kern:8000/body",
      ]);
      assert.equal(byName.sha, tailnet.sha, "20 MB through SOCKS5 by name");
      console.log(
        `20 MB through SOCKS5 in ${byName.seconds.toFixed(2)} s: ` +
          `${(BODY_BYTES / 1e6 / byName.seconds).toFixed(1)} MB/s (informational)`,
      );
      // SOCKS5 by IP, both families.
      for (const host of [v4, `[${v6}]`]) {
        const r = await curlSha(c, ["--socks5", "127.0.0.1:1055", `http://${host}:8000/body`]);
        assert.equal(r.sha, tailnet.sha, `SOCKS5 to ${host}`);
      }
      // The HTTP proxy: plain absolute-URI requests by IPv6 and by FQDN, and CONNECT.
      for (const url of [`http://[${v6}]:8000/body`, "http://kern.tailnet.test:8000/body"]) {
        const r = await curlSha(c, ["-x", "http://127.0.0.1:1056", url]);
        assert.equal(r.sha, tailnet.sha, `HTTP proxy to ${url}`);
      }
      const tunnel = await curlSha(c, [
        "-p",
        "-x",
        "http://127.0.0.1:1056",
        `http://${v4}:8000/body`,
      ]);
      assert.equal(tunnel.sha, tailnet.sha, "HTTP CONNECT tunnel");

      // 20 MB the other way, through SOCKS5.
      const up = new Uint8Array(BODY_BYTES);
      const r = mulberry32(99);
      for (let i = 0; i < up.length; i++) up[i] = (r() * 256) | 0;
      await Deno.writeFile(`${dir}/up`, up);
      const upSha = [...new Uint8Array(await crypto.subtle.digest("SHA-256", up))]
        .map((b) => b.toString(16).padStart(2, "0")).join("");
      const posted = await c.exec([
        "curl",
        "-sS",
        "--fail",
        "--max-time",
        "120",
        "--socks5-hostname",
        "127.0.0.1:1055",
        "--data-binary",
        `@${dir}/up`,
        "http://kern:8000/sha",
      ]);
      assert.equal(posted.stdout.trim(), `${BODY_BYTES} ${upSha}`, "20 MB uploaded intact");

      // A destination off the tailnet goes through the host dialer, by both proxies.
      const viaSocks = await curlSha(c, [
        "--socks5-hostname",
        "127.0.0.1:1055",
        `http://${HUB_IP}:8001/body`,
      ]);
      assert.equal(viaSocks.sha, hub.sha, "SOCKS5 to the hub through the host");
      const viaHttp = await curlSha(c, [
        "-x",
        "http://127.0.0.1:1056",
        `http://${HUB_IP}:8001/body`,
      ]);
      assert.equal(viaHttp.sha, hub.sha, "HTTP proxy to the hub through the host");

      // SOCKS5 UDP ASSOCIATE: a datagram to the peer by name and by IP, and its answer.
      servers.push(await startUdpEcho(k, `${v4}:5353`));
      for (const host of ["kern", v4]) {
        const r = await c.exec([
          Deno.execPath(),
          "run",
          "-A",
          UDP_PROBE,
          "1055",
          host,
          "5353",
          "hi",
        ], {
          check: false,
        });
        assert.equal(r.code, 0, `UDP via SOCKS5 to ${host}: ${r.stderr}`);
        assert.equal(r.stdout.trim(), `${v4}:5353 echo:hi`, `UDP via SOCKS5 to ${host}`);
      }

      // The tailnet requests really went through warren's TCP on the netstack.
      // Segments the peer sent: those the stack took, and those merged into them on the way in.
      const ns = (await t.status("capless")).netstack as {
        ip: { tcp: number };
        device: { coalesced: number };
      };
      const segments = ns.ip.tcp + ns.device.coalesced;
      assert.ok(segments > 10_000, `netstack TCP segments in: ${segments}`);

      const log = await t.stop("node-capless");
      assert.match(log, /socks5 proxy listening on 127\.0\.0\.1:1055/);
      assert.match(log, /http proxy listening on 127\.0\.0\.1:1056/);
      assert.doesNotMatch(log, /teardown:|internal error|input failed/);
    } catch (e) {
      await t.dumpLogs(3000);
      throw e;
    } finally {
      for (const s of servers) await s.stop();
      await Deno.remove(dir, { recursive: true });
      await t.close();
    }
  },
});

Deno.test("--socks5-server without userspace networking is a usage error (exit 2)", async () => {
  for (const flag of ["--socks5-server", "--outbound-http-proxy-listen"]) {
    const r = await run([...warrenArgv(), "tun", "up", "--auth-key", "k", flag, "127.0.0.1:1"], {
      check: false,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`${flag} needs --tun userspace-networking`));
  }
});
