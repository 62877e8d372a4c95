/**
 * The tailnet as a library, end to end: a Deno program (tests/testdata/
 * library_node.ts, run as root without CAP_NET_ADMIN) joins the test tailnet
 * in process with `Tailnet.up`, fetches 2 MiB from a kernel-TUN warren peer
 * by MagicDNS short name and uploads 2 MiB to it by FQDN, connects by IP;
 * the peer's curl reaches the program's `node.serve` on its tailnet IPv4 and
 * IPv6 addresses, 2 MiB each way — every body checked by SHA-256. A bad key
 * fails `Tailnet.up` with the control server's reason; the program's
 * namespace gets no interface or route; SIGTERM closes the node cleanly.
 */
import assert from "node:assert/strict";
import { curlUploadSha } from "../src/testbed/body_server.ts";
import { WITHOUT_NET_ADMIN } from "../src/testbed/privileges.ts";
import { AUTH_KEY, Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import { curlSha, startServer, userspaceSkip } from "./_userspace_probes.ts";
import { routes } from "./_tailnet_probes.ts";

const PROGRAM = new URL("./testdata/library_node.ts", import.meta.url).pathname;
const BYTES = 2 << 20;
const skip = await userspaceSkip();

/** Reads the program's JSON lines one at a time, failing with its log if it exits first. */
function lines(child: Deno.ChildProcess, log: () => string) {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  return async (): Promise<Record<string, unknown>> => {
    while (!buf.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) {
        throw new Error(`the library program exited early; its log:\n${log().slice(-3000)}`);
      }
      buf += value;
    }
    const i = buf.indexOf("\n");
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    return JSON.parse(line);
  };
}

testOrSkip(import.meta, skip, {
  name:
    "a Deno program joins the tailnet with Tailnet.up, fetches from and uploads to a peer by MagicDNS name, and serves HTTP the peer reaches, 2 MiB each way checksummed",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create();
    const servers: { stop(): Promise<void> }[] = [];
    const dir = await Deno.makeTempDir();
    let child: Deno.ChildProcess | null = null;
    let log = "";
    try {
      const lib = await t.addHost("lib");
      await t.up("kern");
      const k = t.hosts.get("kern")!;
      const kv4 = ((await t.status("kern")).addresses as string[])[0].split("/")[0];
      const peerServer = await startServer(k, [`${kv4}:8000`], BYTES);
      servers.push(peerServer);

      child = lib.spawn([
        ...WITHOUT_NET_ADMIN,
        "env",
        `WARREN_BODY_BYTES=${BYTES}`,
        Deno.execPath(),
        "run",
        "-A",
        PROGRAM,
        t.controlUrl,
        AUTH_KEY,
        "kern",
        "8000",
      ]);
      const stderr = child.stderr.pipeThrough(new TextDecoderStream());
      void (async () => {
        for await (const s of stderr) log += s;
      })();
      const next = lines(child, () => log);

      const bad = await next();
      assert.match(
        String(bad.badKey),
        /^Tailnet\.up: cannot join the tailnet at http.*: .*auth key/,
      );
      const up = await next();
      const [v4, v6] = up.up as string[];
      assert.match(v4, /^100\./);
      assert.match(v6, /^fd7a:115c:a1e0:/);

      // The program fetched the peer's body by short name, and uploaded by FQDN.
      const fetched = await next();
      assert.deepEqual(fetched, { fetched: peerServer.sha, status: 200, bytes: BYTES });
      const posted = await next();
      assert.equal(posted.posted, `${BYTES} ${posted.upSha}`);
      const raw = await next();
      assert.equal(raw.raw, "HTTP/1.1 404 Not Found");
      assert.deepEqual(raw.remote, { transport: "tcp", hostname: kv4, port: 8000 });
      assert.equal((raw.local as { hostname: string }).hostname, v4);
      const st = (await next()).status as {
        state: string;
        name: string;
        peers: { name: string }[];
      };
      assert.equal(st.state, "Running");
      assert.equal(st.name, "lib.tailnet.test");
      assert.ok(st.peers.some((p) => p.name === "kern.tailnet.test"), JSON.stringify(st.peers));

      // The peer reaches the program's node.serve: 2 MiB down over IPv4, a request over IPv6, 2 MiB up.
      const down = await curlSha(k, [`http://${v4}/body`]);
      assert.equal(down.sha, up.bodySha, "2 MiB from node.serve");
      console.log(
        `2 MiB from node.serve in ${down.seconds.toFixed(2)} s; ` +
          `${/fetched \d+ bytes in \d+ ms/.exec(log)?.[0]} by node.fetch (informational)`,
      );
      const hello = await k.exec([
        "curl",
        "-sS",
        "--fail",
        "--max-time",
        "20",
        `http://[${v6}]/hi`,
      ]);
      assert.equal(hello.stdout, `hello from [${v6}]\n`);
      const sent = await curlUploadSha(k, dir, `http://${v4}/sha`, BYTES, 77);
      assert.equal(sent.answer, sent.expected, "2 MiB to node.serve");

      // In process and in userspace: the program's namespace has no TUN and no tailnet route.
      const links = (await lib.exec(["ip", "-o", "link", "show"])).stdout;
      assert.doesNotMatch(links, /warren|tun/, links);
      assert.doesNotMatch(await routes(lib), /100\.64\.|fd7a:/);

      child.kill("SIGTERM");
      assert.deepEqual(await next(), { closed: true });
      assert.equal((await child.status).code, 0);
      child = null;
      assert.doesNotMatch(log, /teardown:|internal error|input failed/);
    } catch (e) {
      console.error(`--- library program log (tail)\n${log.slice(-3000)}`);
      await t.dumpLogs(3000);
      throw e;
    } finally {
      if (child) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        await child.status;
      }
      for (const s of servers) await s.stop();
      await Deno.remove(dir, { recursive: true });
      await t.close();
    }
  },
});
