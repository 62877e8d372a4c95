import assert from "node:assert/strict";
import { formatPrefix } from "../net/ip.ts";
import {
  advertisedRoutes,
  exitNodeFlags,
  GO_BOOL_FLAGS,
  parseBoolText,
  takeGoBoolFlags,
  userspaceFromEnv,
} from "./up_tailnet.ts";
import { UsageError } from "./usage.ts";

Deno.test("parseBoolText reads what Go's strconv.ParseBool reads, else the fallback", () => {
  for (const t of ["1", "t", "T", "TRUE", "true", "True"]) {
    assert.equal(parseBoolText(t, false), true);
  }
  for (const f of ["0", "f", "F", "FALSE", "false", "False"]) {
    assert.equal(parseBoolText(f, true), false);
  }
  for (const x of [undefined, "", "yes", "on", "tRuE", " true"]) {
    assert.equal(parseBoolText(x, false), false, `${x}`);
    assert.equal(parseBoolText(x, true), true, `${x}`);
  }
});

Deno.test("TS_USERSPACE=true asks for userspace networking; unset or unparsable does not", () => {
  const env = (v: string | undefined) => (n: string) => n === "TS_USERSPACE" ? v : undefined;
  assert.equal(userspaceFromEnv(env("true")), true);
  assert.equal(userspaceFromEnv(env("1")), true);
  assert.equal(userspaceFromEnv(env("false")), false);
  assert.equal(userspaceFromEnv(env(undefined)), false);
  assert.equal(userspaceFromEnv(env("maybe")), false);
});

Deno.test("takeGoBoolFlags reads --flag and --flag=false as Go's flag package does", () => {
  const r = takeGoBoolFlags(
    ["--snat-subnet-routes=false", "--advertise-exit-node", "--accept-routes", "--", "--x=1"],
    GO_BOOL_FLAGS,
  );
  assert.deepEqual(r.values, { "snat-subnet-routes": false, "advertise-exit-node": true });
  assert.deepEqual(r.rest, ["--accept-routes", "--", "--x=1"]);
  assert.deepEqual(takeGoBoolFlags(["--snat-subnet-routes=1"], GO_BOOL_FLAGS).values, {
    "snat-subnet-routes": true,
  });
  assert.throws(
    () => takeGoBoolFlags(["--snat-subnet-routes=maybe"], GO_BOOL_FLAGS),
    (e) =>
      e instanceof UsageError &&
      /invalid boolean value "maybe" for --snat-subnet-routes/.test(e.message),
  );
});

Deno.test("advertisedRoutes: a usage error with tailscale's words names the bad prefix", () => {
  assert.deepEqual(
    advertisedRoutes({ "advertise-routes": "10.0.0.0/24,fd00::/64", "advertise-exit-node": true })
      .map(formatPrefix),
    ["0.0.0.0/0", "10.0.0.0/24", "::/0", "fd00::/64"],
  );
  assert.deepEqual(advertisedRoutes({}), []);
  assert.throws(
    () => advertisedRoutes({ "advertise-routes": "10.0.0.0/24,banana" }),
    (e) =>
      e instanceof UsageError &&
      e.message.includes(`"banana" is not a valid IP address or CIDR prefix`),
  );
  assert.throws(
    () => advertisedRoutes({ "advertise-routes": "10.0.0.1/24" }),
    (e) =>
      e instanceof UsageError &&
      e.message.includes("10.0.0.1/24 has non-address bits set; expected 10.0.0.0/24"),
  );
});

Deno.test("exitNodeFlags() refuses offering and using an exit node at once, with tailscale's message", () => {
  const offered = advertisedRoutes({ "advertise-exit-node": true });
  assert.throws(
    () => exitNodeFlags({ "exit-node": "100.64.0.2" }, offered),
    (e: Error) =>
      e instanceof UsageError &&
      e.message === "Cannot advertise an exit node and use an exit node at the same time.",
  );
  assert.throws(
    () => exitNodeFlags({ "exit-node-allow-lan-access": true }, []),
    /--exit-node-allow-lan-access can only be used with --exit-node/,
  );
  assert.deepEqual(
    exitNodeFlags({ "exit-node": " gw ", "exit-node-allow-lan-access": true }, []),
    { exitNode: "gw", exitNodeAllowLanAccess: true },
  );
});
