/**
 * Inbound `--forward` of a userspace-networking node end to end: the node
 * runs as root without CAP_NET_ADMIN with a TCP forward to an HTTP server on
 * its own loopback and a UDP forward to a UDP echo there. A kernel-TUN peer
 * downloads and uploads 4 MiB through the TCP forward over IPv4 and IPv6
 * (SHA-256 checked), gets its UDP datagram echoed, is refused on a port
 * with no forward, and pings the node; `tun status` shows the forward
 * listeners with their flows, and the netstack's limits; a netmap filter that
 * leaves the TCP port out keeps the forward out of reach.
 */
import assert from "node:assert/strict";
import { curlUploadSha } from "../src/testbed/body_server.ts";
import { run, waitFor, warrenArgv } from "../src/testbed/netns.ts";
import { WITHOUT_NET_ADMIN } from "../src/testbed/privileges.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import type { NetstackStatus } from "../src/daemon/status.ts";
import {
  addrOf,
  curlSha,
  startServer,
  startUdpEcho,
  stopChild,
  USERSPACE,
  userspaceSkip,
} from "./_userspace_probes.ts";

const UDP_ASK = new URL("./testdata/udp_ask.ts", import.meta.url).pathname;
const BYTES = 4 << 20;
const skip = await userspaceSkip();

testOrSkip(import.meta, skip, {
  name:
    "a userspace node's --forward relays a kernel peer's TCP (4 MiB each way, IPv4 and IPv6) and UDP to local services; other ports are refused; tun status shows the forwards",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create();
    const stops: (() => Promise<void>)[] = [];
    const dir = await Deno.makeTempDir();
    try {
      for (const h of ["kern", "fwd"]) await t.addHost(h);
      const k = t.hosts.get("kern")!, f = t.hosts.get("fwd")!;
      // The local services, on the userspace node's loopback only: the tailnet cannot reach
      // them except through the forwards.
      const web = await startServer(f, ["127.0.0.1:8080"], BYTES);
      stops.push(() => web.stop());
      const echo = await startUdpEcho(f, "127.0.0.1:5300");
      stops.push(() => echo.stop());

      await t.up("kern");
      await t.up("fwd", [
        "--forward",
        "tcp:80=127.0.0.1:8080",
        "--forward",
        "udp:53=127.0.0.1:5300",
        "--netstack-max-connections",
        "256",
        "--netstack-tcp-buffer",
        "512K",
      ], { tun: USERSPACE, wrapper: [...WITHOUT_NET_ADMIN] });
      const stF = await t.status("fwd");
      const v4 = addrOf(stF, 4), v6 = addrOf(stF, 6);

      // Ping is answered by the node's own stack.
      for (const dst of [v4, v6]) {
        const r = await k.exec(["ping", "-c", "2", "-i", "0.2", "-W", "3", dst], { check: false });
        assert.equal(r.code, 0, `ping ${dst}: ${r.stdout}${r.stderr}`);
      }
      // Hosts on the hub's links (no NAT) reach each other, so the pings' disco goes direct.
      await waitFor("a direct path kern→fwd", async () => {
        const p = (await t.status("kern")).peers.find((x) => x.name === "fwd.tailnet.test");
        return p?.pathState === "direct";
      }, 20_000);

      // Download through the TCP forward, both families.
      for (const host of [v4, `[${v6}]`]) {
        const r = await curlSha(k, [`http://${host}:80/body`]);
        assert.equal(r.sha, web.sha, `4 MiB down through the forward on ${host}`);
      }
      // Upload: the service answers the SHA-256 of what reached it.
      const posted = await curlUploadSha(k, dir, `http://${v4}:80/sha`, BYTES, 5);
      assert.equal(posted.answer, posted.expected, "4 MiB up through the forward");

      // UDP through the forward, both families: the echo's answer comes back.
      for (const host of [v4, v6]) {
        const r = await k.exec([Deno.execPath(), "run", "-A", UDP_ASK, host, "53", "hi"], {
          check: false,
        });
        assert.equal(r.code, 0, `UDP forward on ${host}: ${r.stderr}`);
        assert.equal(r.stdout.trim(), "echo:hi", `UDP forward on ${host}`);
      }

      // A port with no forward is closed: curl is refused (exit 7), not left to time out.
      const refused = await k.exec(["curl", "-sS", "--max-time", "10", `http://${v4}:81/`], {
        check: false,
      });
      // Exit 7 is "could not connect": with --max-time 10 a dropped SYN would be 28.
      assert.equal(refused.code, 7, `port 81: ${refused.stderr}`);
      // Nor does the local service leak onto the tailnet on its own port.
      const direct = await k.exec(["curl", "-sS", "--max-time", "10", `http://${v4}:8080/`], {
        check: false,
      });
      assert.equal(direct.code, 7, `port 8080: ${direct.stderr}`);
      // A UDP port with no forward: no answer, and the stack counts it as no port.
      const noUdp = await k.exec([Deno.execPath(), "run", "-A", UDP_ASK, v4, "54", "x"], {
        check: false,
      });
      assert.equal(noUdp.code, 1, noUdp.stdout);

      // A connection held open shows as a flow in tun status.
      const held = k.spawn([
        Deno.execPath(),
        "eval",
        // An interval keeps the process (and so the connection) alive until it is killed.
        `const c = await Deno.connect({ hostname: "${v4}", port: 80 });` +
        `console.log("connected", c.localAddr); setInterval(() => {}, 1000);`,
      ]);
      stops.push(() => stopChild(held));
      let ns: NetstackStatus | null = null;
      await waitFor("the held connection in tun status", async () => {
        ns = (await t.status("fwd")).netstack as NetstackStatus;
        return ns.listeners?.find((l) => l.kind === "tcp-forward")?.flows === 1;
      }, 15_000).catch((e) => {
        throw new Error(`${e.message}: ${JSON.stringify(ns?.listeners)}`);
      });
      const st = ns! as NetstackStatus;
      const tcpFwd = st.listeners!.find((l) => l.kind === "tcp-forward")!;
      const udpFwd = st.listeners!.find((l) => l.kind === "udp-forward")!;
      assert.deepEqual(
        [tcpFwd.listen, tcpFwd.target, tcpFwd.failed],
        [":80", "127.0.0.1:8080", 0],
      );
      assert.ok(tcpFwd.opened! >= 4, `tcp-forward opened ${tcpFwd.opened}`);
      // Both UDP flows (one per family) are still within their idle time.
      assert.deepEqual([udpFwd.listen, udpFwd.target, udpFwd.flows], [":53", "127.0.0.1:5300", 2]);
      assert.equal(st.flows!.forward, 3);
      assert.equal(st.flows!.proxy, 0);
      assert.deepEqual([st.tcp!.maxConnections, st.tcp!.bufferBytes], [256, 512 * 1024]);
      assert.ok(st.tcp!.resets >= 2, `RSTs to closed ports: ${st.tcp!.resets}`);
      assert.ok(st.ip.udpNoPort >= 1, `UDP to no port: ${st.ip.udpNoPort}`);
      const text = (await t.warren("fwd", ["status"])).stdout;
      console.log(text.split("\n").filter((l) => /netstack|listener|flows/.test(l)).join("\n"));
      assert.match(text, /^ {2}listener: tcp-forward :80 -> 127\.0\.0\.1:8080 \(1 open, /m);
      assert.match(text, /^ {2}listener: udp-forward :53 -> 127\.0\.0\.1:5300 \(2 open, /m);
      assert.match(text, /^ {2}flows: 0 proxy, 3 forward, 0 routed$/m);
      assert.match(text, /^ {2}netstack tcp: \d+ of 256 connections, 512\.00 KiB buffers/m);

      // The netmap's packet filter runs before the stack: with only UDP 53 allowed, the TCP
      // forward is out of reach (the SYN is dropped: curl times out, 28) and counted as dropped.
      const before = ((await t.status("fwd")).tailnet as { filter: { dropped: number } }).filter;
      await t.admin("POST", "/admin/policy", {
        filter: [{ SrcIPs: ["*"], DstPorts: [{ IP: "*", Ports: { First: 53, Last: 53 } }] }],
      });
      const curlPort80 = () =>
        k.exec(["curl", "-sS", "-o", "/dev/null", "--max-time", "2", `http://${v4}:80/sha`], {
          check: false,
        });
      await waitFor("the filter to drop the forward's port", async () => {
        return (await curlPort80()).code === 28;
      }, 20_000);
      const after = ((await t.status("fwd")).tailnet as { filter: { dropped: number } }).filter;
      assert.ok(
        after.dropped > before.dropped,
        `filter dropped ${before.dropped} → ${after.dropped}`,
      );
      const ask = await k.exec([Deno.execPath(), "run", "-A", UDP_ASK, v4, "53", "still"], {
        check: false,
      });
      assert.equal(ask.stdout.trim(), "echo:still", "UDP 53 is still allowed");
      await t.admin("POST", "/admin/policy", { filter: null });
      await waitFor("the forward to be reachable again", async () => {
        return (await curlPort80()).code === 0;
      }, 20_000);

      const log = await t.stop("node-fwd");
      assert.match(log, /forwarding tcp:80=127\.0\.0\.1:8080/);
      assert.match(log, /forwarding udp:53=127\.0\.0\.1:5300/);
      assert.doesNotMatch(log, /teardown:|internal error|input failed/);
    } catch (e) {
      await t.dumpLogs(3000);
      throw e;
    } finally {
      for (const s of stops.reverse()) await s().catch(() => {});
      await Deno.remove(dir, { recursive: true });
      await t.close();
    }
  },
});

Deno.test("--forward with a kernel TUN, or a bad --forward, is a usage error (exit 2)", async () => {
  const up = (args: string[]) =>
    run([...warrenArgv(), "tun", "up", "--auth-key", "k", ...args], { check: false });
  const tun = await up(["--forward", "tcp:80=127.0.0.1:8080"]);
  assert.equal(tun.code, 2, tun.stderr);
  assert.match(tun.stderr, /--forward needs --tun userspace-networking/);
  const bad = await up(["--tun", USERSPACE, "--forward", "tcp:80"]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /Bad --forward "tcp:80" is not PROTO:PORT=HOST:PORT/);
});
