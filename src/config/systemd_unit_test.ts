import assert from "node:assert/strict";
import { testOrSkip } from "../testing/skip.ts";
import { parseNetworksConfig } from "./networks.ts";
import { systemdQuote, systemdUnit, unitNeeds } from "./systemd_unit.ts";
import type { NetworksConfig } from "./types.ts";

const TESTDATA = new URL("./testdata/", import.meta.url);
const read = (name: string) => Deno.readTextFileSync(new URL(name, TESTDATA));
const OFFICE_CONF = read("office.conf");
const KEY = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const PEER = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

/** A config from JSON whose wg-quick files are all `wg` and auth key files hold "k". */
function config(json: unknown, file = "/etc/warren/warren.json", wg = OFFICE_CONF): NetworksConfig {
  const text = typeof json === "string" ? json : JSON.stringify(json);
  return parseNetworksConfig(text, file, {
    readText: (p) => (p.endsWith(".conf") ? wg : "k"),
    stateRoot: "/var/lib/warren",
  });
}

function wgConf(extraInterface: string, peer: string): string {
  return `[Interface]\nPrivateKey = ${KEY}\nAddress = 10.9.0.2/24\n${extraInterface}\n` +
    `[Peer]\nPublicKey = ${PEER}\n${peer}\n`;
}

const EXAMPLE = () => config(read("example.json"));
const USERSPACE = () => config(read("userspace.json"), "/etc/warren/userspace.json");

Deno.test("the unit for the README's example matches its golden text", () => {
  assert.equal(
    systemdUnit({ configFile: "/etc/warren/warren.json", config: EXAMPLE() }),
    read("warren-tun.service"),
  );
});

Deno.test("the unit for a userspace-only config matches its golden text", () => {
  assert.equal(
    systemdUnit({ configFile: "/etc/warren/userspace.json", config: USERSPACE() }),
    read("warren-userspace.service"),
  );
});

Deno.test("a TUN node gets CAP_NET_ADMIN and /dev/net/tun; a userspace one neither", () => {
  const tun = systemdUnit({ configFile: "/etc/warren/warren.json", config: EXAMPLE() });
  assert.match(tun, /^CapabilityBoundingSet=CAP_NET_ADMIN$/m);
  assert.match(tun, /^AmbientCapabilities=CAP_NET_ADMIN$/m);
  assert.match(tun, /^DeviceAllow=\/dev\/net\/tun rw$/m);
  const us = systemdUnit({ configFile: "/etc/warren/userspace.json", config: USERSPACE() });
  assert.match(us, /^CapabilityBoundingSet=$/m);
  const settings = us.split("\n").filter((l) => !l.startsWith("#")).join("\n");
  assert.doesNotMatch(settings, /CAP_|DeviceAllow|AmbientCapabilities/);
  assert.match(us, /^PrivateDevices=yes$/m);
  for (const unit of [tun, us]) {
    for (
      const line of [
        "ExecStart=/usr/local/bin/warren tun up --config /etc/warren/",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "DevicePolicy=closed",
        "StateDirectory=warren",
        "RuntimeDirectory=warren",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_NETLINK AF_UNIX",
      ]
    ) assert.ok(unit.includes(`\n${line}`), line);
  }
});

Deno.test("/etc is writable only when a network rewrites resolv.conf", () => {
  const unit = (c: NetworksConfig) => systemdUnit({ configFile: "/etc/w.json", config: c });
  assert.doesNotMatch(unit(config({ networks: { a: { tailnet: {} } } })), /ReadWritePaths/);
  assert.match(
    unit(config({ networks: { a: { tailnet: { acceptDns: true } } } })),
    /^ReadWritePaths=\/etc$/m,
  );
  const dns = config(
    { networks: { w: { wireguard: { configFile: "/w.conf" } } } },
    "/etc/w.json",
    wgConf("DNS = 10.9.0.1", "AllowedIPs = 10.9.0.0/24"),
  );
  assert.match(unit(dns), /^ReadWritePaths=\/etc$/m);
});

Deno.test("unitNeeds() grants a low port, /proc/sys and the online target only when asked", () => {
  const plain = unitNeeds("/etc/w.json", config({ networks: { a: { tailnet: {} } } }));
  assert.deepEqual(
    [plain.lowPort, plain.sysctl, plain.resolvesNames, plain.resolvConf],
    [false, false, false, false],
  );
  assert.equal(
    unitNeeds("/etc/w.json", config({ networks: { a: { tailnet: { port: 443 } } } })).lowPort,
    true,
  );
  const full = config(
    { networks: { w: { wireguard: { configFile: "/w.conf" } } } },
    "/etc/w.json",
    wgConf("ListenPort = 500", "AllowedIPs = 0.0.0.0/0\nEndpoint = vpn.example.com:51820"),
  );
  const needs = unitNeeds("/etc/w.json", full);
  assert.deepEqual([needs.lowPort, needs.sysctl, needs.resolvesNames], [true, true, true]);
  const unit = systemdUnit({ configFile: "/etc/w.json", config: full });
  assert.match(unit, /^CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE$/m);
  assert.doesNotMatch(unit, /ProtectKernelTunables/);
  assert.match(unit, /^Wants=network-pre\.target network-online\.target nss-lookup\.target$/m);
});

Deno.test("state outside /var/lib/warren is made writable; files in a home are read-only", () => {
  const c = config({
    networks: {
      a: { tailnet: { stateDir: "/srv/warren/a", authKey: "file:/root/a.key", tun: "a" } },
      b: { tailnet: { stateDir: "mem:", tun: "b", port: 1 } },
      c: { tailnet: { stateDir: "/var/lib/warren/c", tun: "c", port: 2 } },
    },
  });
  const needs = unitNeeds("/etc/w.json", c);
  assert.deepEqual(needs.writes, ["/srv/warren/a"]);
  assert.deepEqual(needs.reads, ["/etc/w.json", "/root/a.key"]);
  const unit = systemdUnit({ configFile: "/etc/w.json", config: c });
  assert.match(unit, /^ReadWritePaths=\/srv\/warren\/a$/m);
  assert.match(unit, /^ProtectHome=read-only$/m);
});

Deno.test("systemdUnit() refuses relative paths and files in the private /tmp", () => {
  const c = config({ networks: { a: { tailnet: {} } } }, "w.json");
  assert.throws(() => systemdUnit({ configFile: "w.json", config: c }), /relative path "w\.json"/);
  const t = config({ networks: { a: { tailnet: {} } } }, "/tmp/w.json");
  assert.throws(() => systemdUnit({ configFile: "/tmp/w.json", config: t }), /private \/tmp/);
});

Deno.test("systemdQuote() keeps a path one word with no specifier or variable expansion", () => {
  assert.equal(systemdQuote("/etc/warren/w.json"), "/etc/warren/w.json");
  assert.equal(systemdQuote("/etc/my warren/100%.json"), `"/etc/my warren/100%%.json"`);
  assert.equal(systemdQuote("/etc/$HOME"), "/etc/$$HOME");
  assert.equal(systemdQuote(`/a"b\\c`), `"/a\\"b\\\\c"`);
  assert.throws(() => systemdQuote("/a\nb"), RangeError);
});

/** Why `systemd-analyze verify` cannot run here, or null. */
function verifySkip(): string | null {
  try {
    new Deno.Command("systemd-analyze", { args: ["--version"], stdout: "null" }).outputSync();
  } catch {
    return "systemd-analyze is not installed (Debian package systemd)";
  }
  try {
    Deno.statSync("/lib/systemd/system/sysinit.target");
  } catch {
    return "no /lib/systemd/system/sysinit.target for systemd-analyze verify";
  }
  return null;
}

/**
 * Runs `systemd-analyze verify` on `unit` inside a scratch root holding the host's units and
 * an executable at `binary` (unless `withBinary` is false); returns its exit code and stderr.
 */
async function verify(
  unit: string,
  withBinary = true,
  verb = ["verify"],
): Promise<{ code: number; stderr: string }> {
  const root = await Deno.makeTempDir({ prefix: "warren-unit-" });
  try {
    await Deno.mkdir(`${root}/usr/local/bin`, { recursive: true });
    await Deno.mkdir(`${root}/usr/lib/systemd`, { recursive: true });
    await Deno.mkdir(`${root}/etc/systemd/system`, { recursive: true });
    await Deno.symlink("/lib/systemd/system", `${root}/usr/lib/systemd/system`);
    // The unit's ExecReload runs /bin/kill, as on the host.
    await Deno.mkdir(`${root}/bin`);
    await Deno.copyFile("/bin/kill", `${root}/bin/kill`);
    if (withBinary) {
      await Deno.writeTextFile(`${root}/usr/local/bin/warren`, "#!/bin/sh\n", { mode: 0o755 });
    }
    const path = `${root}/etc/systemd/system/warren.service`;
    await Deno.writeTextFile(path, unit);
    const out = await new Deno.Command("systemd-analyze", {
      args: [...verb, `--root=${root}`, path],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

testOrSkip(import.meta, verifySkip(), {
  name: "both units pass systemd-analyze verify with no warning",
  async fn() {
    for (
      const unit of [
        systemdUnit({ configFile: "/etc/warren/warren.json", config: EXAMPLE() }),
        systemdUnit({ configFile: "/etc/warren/userspace.json", config: USERSPACE() }),
        systemdUnit({
          configFile: "/etc/my warren/100%.json",
          config: config(
            { networks: { w: { wireguard: { configFile: "/w.conf" } } } },
            "/etc/my warren/100%.json",
            wgConf("ListenPort = 500\nDNS = 1.1.1.1", "AllowedIPs = 0.0.0.0/0\nEndpoint = h:1"),
          ),
        }),
      ]
    ) {
      assert.deepEqual(await verify(unit), { code: 0, stderr: "" });
    }
  },
});

testOrSkip(import.meta, verifySkip(), {
  name: "systemd-analyze verify as run here catches a bad key and a missing binary",
  async fn() {
    const unit = systemdUnit({ configFile: "/etc/warren/warren.json", config: EXAMPLE() });
    const bad = await verify(unit.replace("[Service]\n", "[Service]\nProtectEverything=yes\n"));
    assert.match(bad.stderr, /Unknown key 'ProtectEverything'/);
    const missing = await verify(unit, false);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /\/usr\/local\/bin\/warren is not executable/);
  },
});

testOrSkip(import.meta, verifySkip(), {
  name: "systemd-analyze security rates both units' exposure at most 4.5 of 10",
  async fn() {
    // tailscale's own tailscaled.service rates 9.6 ("UNSAFE") on the same scale.
    const security = ["security", "--offline=yes", "--threshold=45"];
    for (
      const unit of [
        systemdUnit({ configFile: "/etc/warren/warren.json", config: EXAMPLE() }),
        systemdUnit({ configFile: "/etc/warren/userspace.json", config: USERSPACE() }),
      ]
    ) {
      assert.equal((await verify(unit, true, security)).code, 0);
      // The same check fails for a unit without the sandbox.
      const bare = unit.split("\n").filter((l) => !/^(Protect|Private|Restrict)/.test(l));
      assert.notEqual((await verify(bare.join("\n"), true, security)).code, 0);
    }
  },
});
