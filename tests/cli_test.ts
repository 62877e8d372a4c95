/**
 * The CLI as a user meets it: bad flags and bad configs are one clear error
 * with exit code 2 and create nothing; client commands without a node say
 * so and exit 1; a start that fails half-way removes what it created.
 */
import assert from "node:assert/strict";
import { generatePrivateKey, publicKeyFrom } from "../src/crypto/x25519.ts";
import { formatWgKey } from "../src/key/wg_key.ts";
import { namespaceSupport, Netns, run, warrenArgv } from "../src/testbed/netns.ts";
import { WarrenNode } from "../src/testbed/warren_node.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const warren = warrenArgv();
const nsSkip = await namespaceSupport();

async function warrenIn(ns: Netns | null, args: string[]) {
  return ns
    ? await ns.exec([...warren, ...args], { check: false })
    : await run([...warren, ...args], {
      check: false,
    });
}

Deno.test("warren with an unknown flag exits 2 naming the flag", async () => {
  const r = await warrenIn(null, ["tun", "up", "--wg-config", "x.conf", "--bogus"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /warren tun up: .*--bogus/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
});

Deno.test("warren tun up --advertise-routes with a bad prefix exits 2 in tailscale's words", async () => {
  for (
    const [routes, want] of [
      ["10.0.0.0/24,banana", /"banana" is not a valid IP address or CIDR prefix/],
      ["10.0.0.1/24", /10\.0\.0\.1\/24 has non-address bits set; expected 10\.0\.0\.0\/24/],
    ] as const
  ) {
    const r = await warrenIn(null, [
      "tun",
      "up",
      "--state-dir",
      "mem:",
      "--advertise-routes",
      routes,
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, want);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
  const bad = await warrenIn(null, ["tun", "up", "--snat-subnet-routes=perhaps"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid boolean value "perhaps" for --snat-subnet-routes/);
});

Deno.test("warren tun set: bad or missing flags exit 2 before any node is asked; no node is exit 1", async () => {
  for (
    const [args, want] of [
      [[], /nothing to change: give at least one setting/],
      [
        ["--advertise-routes", "10.0.0.1/24"],
        /--advertise-routes: 10\.0\.0\.1\/24 has non-address/,
      ],
      [["--hostname", "a_b"], /--hostname: "a_b" is not a valid DNS label/],
      [["--accept-dns=perhaps"], /invalid boolean value "perhaps" for --accept-dns/],
    ] as const
  ) {
    const r = await warrenIn(null, ["tun", "set", ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, want);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
  const none = await warrenIn(null, ["tun", "set", "--tun", "warren-none0", "--accept-routes"]);
  assert.equal(none.code, 1, none.stderr);
  assert.match(none.stderr, /No warren node is running for warren-none0/);
});

Deno.test("warren with an unknown command exits 2", async () => {
  const r = await warrenIn(null, ["tun", "sideways"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "tun sideways"/);
});

Deno.test("warren tun up reports every bad config line with file:line and exits 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/bad.conf`;
    await Deno.writeTextFile(
      file,
      `[Interface]\nPrivateKey = nope\nAddress = 10.0.0.1/33\nDNS = 1.1.1.1\n\n[Peer]\nAllowedIPs = 10.0.0.2/32\nColour = blue\n`,
    );
    const r = await warrenIn(null, ["tun", "up", "--wg-config", file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.conf:2: .*PrivateKey/);
    assert.match(r.stderr, /bad\.conf:3: .*prefix length out of range/);
    assert.match(r.stderr, /bad\.conf:6: .*PublicKey/);
    assert.match(r.stderr, /bad\.conf:8: .*Colour/);
    assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("warren tun up with a missing config file exits 2", async () => {
  const r = await warrenIn(null, ["tun", "up", "--wg-config", "/nonexistent/warren.conf"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Cannot read --wg-config \/nonexistent\/warren\.conf/);
});

testOrSkip(import.meta, nsSkip, {
  name: "warren tun status and down without a node say so in one line and exit 1",
  async fn() {
    const ns = await Netns.create("wcli");
    try {
      for (
        const cmd of [["tun", "status"], ["tun", "down"], ["tun", "status", "--tun", "nosuch0"]]
      ) {
        const r = await warrenIn(ns, cmd);
        assert.equal(r.code, 1, `${cmd.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, /No warren node is running/);
        assert.equal(r.stderr.trim().split("\n").length, 1);
      }
    } finally {
      await ns.delete();
    }
  },
});

testOrSkip(import.meta, nsSkip, {
  name: "A start that fails half-way removes its interface and routes and leaves other nodes alone",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const ns = await Netns.create("wcli");
    const dir = await Deno.makeTempDir();
    let first: WarrenNode | null = null;
    try {
      const conf = (port: number, peerIp: string) =>
        `[Interface]\nPrivateKey = ${formatWgKey(generatePrivateKey())}\nAddress = 10.77.0.1/24\n` +
        `ListenPort = ${port}\n\n[Peer]\nPublicKey = ${
          formatWgKey(publicKeyFrom(generatePrivateKey()))
        }\nAllowedIPs = ${peerIp}/32\n`;
      first = await WarrenNode.start(ns, "wfirst", conf(51999, "10.77.0.2"), dir);

      // Same interface name: fails at TUNSETIFF with EBUSY.
      await Deno.writeTextFile(`${dir}/dup.conf`, conf(52000, "10.77.0.3"));
      const dup = await warrenIn(ns, [
        "tun",
        "up",
        "--wg-config",
        `${dir}/dup.conf`,
        "--tun",
        "wfirst",
      ]);
      assert.equal(dup.code, 1);
      assert.match(dup.stderr, /in use/);

      // Same UDP port: fails after the interface and a route exist.
      await Deno.writeTextFile(`${dir}/port.conf`, conf(51999, "10.77.0.4"));
      const port = await warrenIn(ns, [
        "tun",
        "up",
        "--wg-config",
        `${dir}/port.conf`,
        "--tun",
        "wsecond",
      ]);
      assert.equal(port.code, 1);
      assert.match(port.stderr, /51999/);
      const links = (await ns.exec(["ip", "-o", "link"])).stdout;
      assert.doesNotMatch(links, /wsecond/);
      const routes = (await ns.exec(["ip", "route"])).stdout;
      assert.doesNotMatch(routes, /10\.77\.0\.4/);
      assert.match(routes, /10\.77\.0\.2 dev wfirst/, "the first node's route is untouched");
      const st = JSON.parse((await first.cli(["status", "--json"])).stdout);
      assert.equal(st.state, "Running");
    } finally {
      await first?.stop();
      await ns.delete();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("warren tun up with an unreachable control server gives up with one line and exit 1", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close(); // nothing listens there now
  const r = await warrenIn(null, [
    "tun",
    "up",
    "--auth-key",
    "tskey-auth-x",
    "--control-url",
    `http://127.0.0.1:${port}`,
    "--state-dir",
    "mem:",
    "--login-timeout",
    "2",
  ]);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split("\n").filter((x) => x.startsWith("warren tun up:"));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}`));
});
