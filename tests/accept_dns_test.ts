/**
 * `tun up --accept-dns` end to end, in a namespace with its own resolv.conf (the
 * `ip netns exec` convention: /etc/netns/NAME/resolv.conf is bind-mounted over
 * /etc/resolv.conf, much as a container runtime mounts one): the system resolver
 * then finds tailnet names, short names through the search domain, and the file
 * is back as it was after the node stops.
 */
import assert from "node:assert/strict";
import { namespaceSupport, type NetnsResolvConf, netnsResolvConf } from "../src/testbed/netns.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const skip = await namespaceSupport();

const ORIGINAL = "# the namespace's own resolver\nnameserver 192.0.2.53\n";
const HOST_BACKUP = "/etc/resolv.conf.warren-backup";

testOrSkip(import.meta, skip, {
  name: "--accept-dns points the system resolver at quad-100 and puts resolv.conf back on stop",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // warren keeps its backup beside /etc/resolv.conf; never clobber a real one here.
    const hostBackupBefore = await Deno.stat(HOST_BACKUP).then(() => true, () => false);
    if (hostBackupBefore) throw new Error(`${HOST_BACKUP} exists; refusing to run`);
    const t = await Tailnet.create();
    let resolvConf: NetnsResolvConf | null = null;
    try {
      const alpha = await t.addHost("alpha");
      resolvConf = await netnsResolvConf(alpha, ORIGINAL);
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

      await t.stop("node-alpha");
      assert.equal(await Deno.readTextFile(resolvConf.path), ORIGINAL);
      assert.equal(await Deno.stat(HOST_BACKUP).then(() => true, () => false), false);
    } finally {
      await t.close();
      await resolvConf?.remove();
      await Deno.remove(HOST_BACKUP).catch(() => {});
    }
  },
});
