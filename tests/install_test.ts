/**
 * `warren tun install --root DIR` and `tun uninstall --root DIR` as an image builder runs them:
 * the binary and the unit land where systemd looks, the unit is enabled and passes
 * `systemd-analyze verify`, a bad config installs nothing, and uninstall leaves the node keys.
 */
import assert from "node:assert/strict";
import { generatePrivateKey, publicKeyFrom } from "../src/crypto/x25519.ts";
import { formatWgKey } from "../src/key/wg_key.ts";
import { run, warrenArgv } from "../src/testbed/netns.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const warren = warrenArgv();
const skip = (await run(["sh", "-c", "command -v systemctl && command -v systemd-analyze"], {
    check: false,
  })).code !== 0
  ? "systemctl or systemd-analyze missing (Debian package systemd)"
  : null;

const WG = `[Interface]\nPrivateKey = ${formatWgKey(generatePrivateKey())}\n` +
  `Address = 10.83.0.1/24\nListenPort = 51820\n\n[Peer]\n` +
  `PublicKey = ${formatWgKey(publicKeyFrom(generatePrivateKey()))}\nAllowedIPs = 10.83.0.2/32\n`;

/** `warren tun install` of /etc/warren/networks.json into the tree at `root`. */
function install(root: string, binary: string) {
  return run([
    ...warren,
    ...["tun", "install", "--root", root, "--config", "/etc/warren/networks.json"],
    ...["--binary", binary],
  ], { check: false });
}

async function tree(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "warren-install-" });
  await Deno.mkdir(`${root}/etc/warren`, { recursive: true });
  await Deno.mkdir(`${root}/usr/lib/systemd`, { recursive: true });
  await Deno.symlink("/lib/systemd/system", `${root}/usr/lib/systemd/system`);
  // The unit's ExecReload runs /bin/kill, as on the host.
  await Deno.mkdir(`${root}/bin`);
  await Deno.copyFile("/bin/kill", `${root}/bin/kill`);
  await Deno.writeTextFile(`${root}/etc/warren/office.conf`, WG, { mode: 0o600 });
  return root;
}

testOrSkip(import.meta, skip, {
  name:
    "tun install --root writes, enables and verifies the unit; uninstall removes it, keeps state",
  async fn() {
    const root = await tree();
    try {
      await Deno.writeTextFile(
        `${root}/etc/warren/networks.json`,
        JSON.stringify({
          networks: {
            office: { wireguard: { configFile: "/etc/warren/office.conf", tun: "wg-office" } },
            corp: { tailnet: { authKey: "tskey-auth-x", tun: "ts-corp" } },
          },
        }),
      );
      const bin = `${root}/warren-build`;
      await Deno.writeTextFile(bin, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      const r = await install(root, bin);
      assert.equal(r.code, 0, r.stderr);
      const st = await Deno.stat(`${root}/usr/local/bin/warren`);
      assert.equal(st.mode! & 0o777, 0o755);
      const unit = await Deno.readTextFile(`${root}/etc/systemd/system/warren.service`);
      assert.match(
        unit,
        /^ExecStart=\/usr\/local\/bin\/warren tun up --config \/etc\/warren\/networks\.json$/m,
      );
      assert.match(unit, /CAP_NET_ADMIN/);
      const wants = await Deno.lstat(
        `${root}/etc/systemd/system/multi-user.target.wants/warren.service`,
      );
      assert.ok(wants.isSymlink, "enabled");
      const v = await run([
        "systemd-analyze",
        "verify",
        `--root=${root}`,
        `${root}/etc/systemd/system/warren.service`,
      ], { check: false });
      assert.equal(v.code, 0, v.stderr);
      // systemd makes StateDirectory= /var/lib/warren at the first start; the node keys there
      // must outlive an uninstall.
      await Deno.mkdir(`${root}/var/lib/warren`, { recursive: true });
      await Deno.writeTextFile(`${root}/var/lib/warren/corp-key`, "k");
      const u = await run([...warren, "tun", "uninstall", "--root", root], { check: false });
      assert.equal(u.code, 0, u.stderr);
      for (const p of ["/etc/systemd/system/warren.service", "/usr/local/bin/warren"]) {
        await assert.rejects(() => Deno.lstat(`${root}${p}`), Deno.errors.NotFound, p);
      }
      await assert.rejects(
        () => Deno.lstat(`${root}/etc/systemd/system/multi-user.target.wants/warren.service`),
        Deno.errors.NotFound,
      );
      assert.equal(await Deno.readTextFile(`${root}/var/lib/warren/corp-key`), "k");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("tun install with a bad config exits 2 naming the problem and installs nothing", async () => {
  const root = await tree();
  try {
    await Deno.writeTextFile(
      `${root}/etc/warren/networks.json`,
      JSON.stringify({ networks: { office: { wireguard: { configFile: "/nope.conf" } } } }),
    );
    const r = await install(root, "/bin/true");
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /networks\.office\.wireguard\.configFile/);
    await assert.rejects(() => Deno.lstat(`${root}/usr/local/bin/warren`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
