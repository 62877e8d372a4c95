import assert from "node:assert/strict";
import { type DerpConfig, parseDerpFlags } from "./derp_flags.ts";

/** The config for a command line that must parse (not `--help`). */
const config = async (argv: string[]): Promise<DerpConfig> => {
  const c = await parseDerpFlags(argv);
  if (c === "help") throw new Error(`${argv.join(" ")} parsed as --help`);
  return c;
};

const fails = async (argv: string[], message: string) => {
  await assert.rejects(parseDerpFlags(argv), (e: Error) => {
    assert.equal(e.message, message);
    return true;
  });
};

Deno.test("parseDerpFlags() fills derper's defaults", async () => {
  const c = await config([]);
  assert.equal(c.port, 3340);
  assert.equal(c.address, "::");
  assert.equal(c.stunPort, 3478);
  assert.equal(c.stun, true);
  assert.equal(c.maxConns, 65536);
  assert.equal(c.regionId, 900);
  assert.equal(c.acceptLimit, undefined);
  assert.equal(c.keepAliveMs, 600_000);
  assert.equal(c.userTimeoutMs, 15_000);
  assert.deepEqual(c.meshWith, []);
  assert.equal(c.quiet, false);
  assert.equal(await parseDerpFlags(["--help"]), "help");
});

Deno.test("parseDerpFlags() reads the accept limit, its burst and the bootstrap names", async () => {
  const c = await config(
    ["--accept-connection-limit", "2.5", "--bootstrap-dns-names", " a.example, b.example ,"],
  );
  assert.deepEqual(c.acceptLimit, { perSecond: 2.5, burst: 3 });
  assert.deepEqual(c.bootstrapNames, ["a.example", "b.example"]);
  const d = await config(["--accept-connection-limit", "5", "--accept-connection-burst", "9"]);
  assert.deepEqual(d.acceptLimit, { perSecond: 5, burst: 9 });
  assert.equal((await config(["--no-stun", "--quiet"])).stun, false);
});

Deno.test("parseDerpFlags() keeps its one-line messages and checks in order", async () => {
  await fails(["--port", "x"], '--port "x" is not an integer');
  await fails(["--port", "70000"], "--port 70000 is out of range 0..65535");
  // The integer flags are checked before the rest.
  await fails(["--cert", "c", "--max-conns", "0"], "--max-conns 0 is out of range 1..10000000");
  await fails(
    ["--accept-connection-burst", "3"],
    "--accept-connection-burst needs --accept-connection-limit",
  );
  await fails(
    ["--accept-connection-limit", "0"],
    '--accept-connection-limit "0" is not a positive number',
  );
  await fails(
    ["--bootstrap-dns-names", "a.example:50"],
    'bootstrap DNS name "a.example:50" is not a host name (rollout percentages are not supported)',
  );
  await fails(["--cert", "c"], "--cert and --key must be given together");
  await fails(
    ["--mesh-key", "00", "--mesh-key-file", "f"],
    "give --mesh-key or --mesh-key-file, not both",
  );
  await fails(["--hostname", "a b"], '--hostname "a b" is not a host name or IP address');
  await fails(
    ["--verify-client-url", "ftp://x/"],
    '--verify-client-url "ftp://x/" is not an http(s) URL',
  );
  await fails(["--mesh-key", "AB".repeat(32)], "the mesh key must be 64 lowercase hex characters");
  await fails(["--mesh-with", "h1"], "--mesh-with requires --mesh-key or --mesh-key-file");
  await fails(["--bogus"], "Unknown option '--bogus'");
});
