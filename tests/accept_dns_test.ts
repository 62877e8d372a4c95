/**
 * `tun up --accept-dns` end to end, in a namespace with its own resolv.conf (the
 * `ip netns exec` convention: /etc/netns/NAME/resolv.conf is bind-mounted over
 * /etc/resolv.conf, much as a container runtime mounts one): the system resolver
 * then finds tailnet names, short names through the search domain, other names through
 * the name server the original file named (control sends no resolvers here), and the
 * file is back as it was after the node stops.
 */
import assert from "node:assert/strict";
import { namespaceSupport, type NetnsResolvConf, netnsResolvConf } from "../src/testbed/netns.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const skip = await namespaceSupport();

/** The namespace's own name server: a responder this test runs on its loopback. */
const ORIGINAL = "# the namespace's own resolver\nnameserver 127.0.0.1\n";
const HOST_BACKUP = "/etc/resolv.conf.warren-backup";
/** A name outside the tailnet, and what the namespace's own name server says it is. */
const OUTSIDE = "www.outside.example";
const OUTSIDE_IP = "192.0.2.77";

/**
 * A DNS server on 127.0.0.1:53 inside the namespace, built on the repo's DNS codec: A for
 * OUTSIDE, NXDOMAIN for every other name. Prints "ready" once bound.
 */
const RESPONDER = `
import dgram from "node:dgram";
import { buildDnsMessage, parseDnsMessage } from "${
  new URL("../src/dns/message.ts", import.meta.url).href
}";
const s = dgram.createSocket("udp4");
s.on("message", (msg, from) => {
  const q = parseDnsMessage(new Uint8Array(msg));
  const name = q.questions[0]?.name.toLowerCase();
  const hit = name === "${OUTSIDE}." && q.questions[0].type === 1;
  const reply = {
    ...q,
    response: true,
    recursionAvailable: true,
    rcode: name === "${OUTSIDE}." ? 0 : 3,
    answers: hit ? [{ name: q.questions[0].name, type: 1, class: 1, ttl: 60,
      data: Uint8Array.from("${OUTSIDE_IP}".split(".").map(Number)) }] : [],
    authorities: [],
    additionals: [],
  };
  s.send(buildDnsMessage(reply), from.port, from.address);
});
s.bind(53, "127.0.0.1", () => console.log("ready"));
`;

testOrSkip(import.meta, skip, {
  name:
    "--accept-dns points the system resolver at quad-100, forwards other names to the original name server, and puts resolv.conf back on stop",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // warren keeps its backup beside /etc/resolv.conf; never clobber a real one here.
    const hostBackupBefore = await Deno.stat(HOST_BACKUP).then(() => true, () => false);
    if (hostBackupBefore) throw new Error(`${HOST_BACKUP} exists; refusing to run`);
    const t = await Tailnet.create();
    let resolvConf: NetnsResolvConf | null = null;
    let responder: Deno.ChildProcess | null = null;
    try {
      const alpha = await t.addHost("alpha");
      resolvConf = await netnsResolvConf(alpha, ORIGINAL);
      responder = alpha.spawn([Deno.execPath(), "eval", RESPONDER]);
      const lines = responder.stdout.getReader();
      const first = await lines.read();
      lines.releaseLock();
      assert.match(new TextDecoder().decode(first.value), /ready/, "responder started");
      // The responder works on its own before warren is involved.
      const direct = await alpha.exec(["getent", "ahostsv4", OUTSIDE], { check: false });
      assert.equal(direct.stdout.split(/\s+/)[0], OUTSIDE_IP, `direct: ${direct.stderr}`);
      await t.up("beta");
      await t.up("alpha", ["--accept-dns"]);

      const conf = (await alpha.exec(["cat", "/etc/resolv.conf"])).stdout;
      assert.match(conf, /^nameserver 100\.100\.100\.100$/m, conf);
      assert.match(conf, /^search .*tailnet\.test/m, conf);
      const betaIp = ((await t.status("beta")).addresses as string[])[0].split("/")[0];
      for (const name of ["beta.tailnet.test", "beta"]) {
        const r = await alpha.exec(["getent", "ahostsv4", name], { check: false });
        assert.equal(r.code, 0, `getent ${name}: ${r.stderr}`);
        assert.equal(r.stdout.split(/\s+/)[0], betaIp, `${name} → ${r.stdout}`);
      }
      // Not a tailnet name and no resolvers from control: quad-100 forwards it to the server
      // the original resolv.conf named, instead of failing it.
      const out = await alpha.exec(["getent", "ahostsv4", OUTSIDE], { check: false });
      assert.equal(out.code, 0, `getent ${OUTSIDE}: ${out.stderr}`);
      assert.equal(out.stdout.split(/\s+/)[0], OUTSIDE_IP, `${OUTSIDE} → ${out.stdout}`);

      await t.stop("node-alpha");
      assert.equal(await Deno.readTextFile(resolvConf.path), ORIGINAL);
      assert.equal(await Deno.stat(HOST_BACKUP).then(() => true, () => false), false);
    } finally {
      try {
        responder?.kill();
      } catch {
        // Already gone.
      }
      await responder?.status;
      await responder?.stdout.cancel().catch(() => {});
      await responder?.stderr.cancel().catch(() => {});
      await t.close();
      await resolvConf?.remove();
      await Deno.remove(HOST_BACKUP).catch(() => {});
    }
  },
});
