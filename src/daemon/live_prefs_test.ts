import assert from "node:assert/strict";
import { KeyState } from "../key/state.ts";
import { PrefsError } from "../localapi/prefs.ts";
import { hostnameProblem, LivePrefs, NO_EXIT_NODE_SUPPORT } from "./live_prefs.ts";
import { PrefsStore } from "./prefs.ts";
import { ADVERTISE_AND_USE_ERROR } from "./exit_node.ts";
import { fakePorts } from "./_live_prefs_test_util.ts";

async function live(withExitNode = false) {
  const store = await PrefsStore.open(await KeyState.open("mem:"), { Hostname: "a" });
  const ports = fakePorts(withExitNode);
  return { live: new LivePrefs(store, ports), calls: ports.calls };
}

Deno.test("each pref changes only its own part of the node", async () => {
  const { live: l, calls } = await live();
  await l.edit({ Hostname: "b" });
  const hostinfo = (routes: string[] | undefined, shields?: true) => ({
    Hostname: "b",
    RoutableIPs: routes,
    ShieldsUp: shields,
  });
  assert.deepEqual(calls.splice(0), [["updateHostinfo", hostinfo(undefined)]]);
  await l.edit({ RouteAll: true });
  assert.deepEqual(calls.splice(0), [["setAcceptRoutes", true]]);
  await l.edit({ CorpDNS: true });
  assert.deepEqual(calls.splice(0), [["setCorpDns", true]]);
  await l.edit({ ShieldsUp: true });
  assert.deepEqual(calls.splice(0), [
    ["updateHostinfo", hostinfo(undefined, true)],
    ["setShieldsUp", true],
  ]);
  // canonical and sorted, as tailscale sends RoutableIPs
  await l.edit({ AdvertiseRoutes: ["fd00::/64", "10.0.0.0/24"] });
  assert.deepEqual(calls.splice(0), [
    ["updateHostinfo", hostinfo(["10.0.0.0/24", "fd00::/64"], true)],
    ["setAdvertisedRoutes", ["10.0.0.0/24", "fd00::/64"]],
  ]);
  assert.deepEqual(l.prefs.AdvertiseRoutes, ["10.0.0.0/24", "fd00::/64"]);
  await l.edit({ AdvertiseRoutes: [] });
  assert.deepEqual(calls.splice(0), [
    ["updateHostinfo", hostinfo(undefined, true)],
    ["setAdvertisedRoutes", []],
  ]);
  await l.edit({ RouteAll: true, Hostname: "b" });
  assert.deepEqual(calls, [], "an edit that changes nothing does nothing");
});

Deno.test("refused edits change nothing: bad routes and hostnames in tailscale's words, an exit node without the hook", async () => {
  const { live: l, calls } = await live();
  const before = l.prefs;
  const cases: [Parameters<LivePrefs["edit"]>[0], RegExp][] = [
    [
      { AdvertiseRoutes: ["10.0.0.1/24"] },
      /10\.0\.0\.1\/24 has non-address bits set; expected 10\.0\.0\.0\/24/,
    ],
    [{ AdvertiseRoutes: ["0.0.0.0/0"] }, /please also advertise ::\/0/],
    [{ Hostname: "-x" }, /"-x" is not a valid DNS label: must start with a letter or number/],
    [
      { ExitNodeID: "nX", RouteAll: true },
      new RegExp(NO_EXIT_NODE_SUPPORT.replace(/[()]/g, "\\$&")),
    ],
    [{ ExitNodeAllowLANAccess: true }, /cannot use an exit node/],
  ];
  for (const [edit, msg] of cases) {
    await assert.rejects(() => l.edit(edit), (e) => e instanceof PrefsError && msg.test(e.message));
  }
  assert.deepEqual(calls, []);
  assert.deepEqual(l.prefs, before);
  await l.edit({ ExitNodeID: "", ExitNodeIP: "" }); // clearing what is already clear is fine
});

Deno.test("with the exit-node hook, choosing one calls it with the ID and LAN access", async () => {
  const { live: l, calls } = await live(true);
  await l.edit({ ExitNodeID: "nX", ExitNodeAllowLANAccess: true });
  assert.deepEqual(calls, [["setExitNode", { id: "nX", allowLanAccess: true }]]);
});

Deno.test("an exit-node setting equal to the stored one still reaches the hook (tun up --exit-node NAME is not stored)", async () => {
  const { live: l, calls } = await live(true);
  await l.edit({ ExitNodeID: "", ExitNodeIP: "" }); // `tun set --exit-node=`
  assert.deepEqual(calls, [["setExitNode", { id: "", allowLanAccess: false }]]);
});

Deno.test("WantRunning false stops first, true starts last; start resumes; logout stops and expires", async () => {
  const { live: l, calls } = await live();
  await l.edit({ WantRunning: false, Hostname: "c" });
  assert.deepEqual(calls.splice(0).map(([n]) => n), ["setRunning", "updateHostinfo"]);
  assert.equal(l.running, false);
  await l.start({ authKey: "", prefs: { RouteAll: true } });
  assert.deepEqual(calls.splice(0), [["setAcceptRoutes", true], ["setRunning", true]]);
  assert.equal(l.running, true);
  await l.logout();
  assert.deepEqual(calls.splice(0), [["setRunning", false], ["logout", undefined]]);
  assert.equal(l.prefs.LoggedOut, true);
  assert.equal(l.running, false);
  await l.logout();
  assert.deepEqual(calls, [], "a second logout is a no-op");
  await assert.rejects(() => l.start({ authKey: "", prefs: null }), /logged out/);
});

Deno.test("edits run one at a time, in order", async () => {
  const { live: l, calls } = await live();
  await Promise.all([
    l.edit({ RouteAll: true }),
    l.edit({ RouteAll: false }),
    l.edit({ RouteAll: true }),
  ]);
  assert.deepEqual(calls, [["setAcceptRoutes", true], ["setAcceptRoutes", false], [
    "setAcceptRoutes",
    true,
  ]]);
});

Deno.test("hostnameProblem() follows tailscale's dnsname.ValidHostname", () => {
  for (const ok of ["", "a", "web-01", "a.b.c", "x1."]) assert.equal(hostnameProblem(ok), null, ok);
  assert.equal(
    hostnameProblem("a_b"),
    '"a_b" is not a valid DNS label: contains invalid character "_"',
  );
  assert.equal(
    hostnameProblem("ab-"),
    '"ab-" is not a valid DNS label: must end with a letter or number',
  );
  assert.equal(hostnameProblem("a..b"), "empty DNS label");
  assert.match(hostnameProblem("x".repeat(64))!, /is too long, max length is 63 bytes/);
});

Deno.test("advertising the exit routes live applies both /0s (each alone would be refused)", async () => {
  const { live: l, calls } = await live();
  await l.edit({ AdvertiseRoutes: ["10.0.0.0/24", "0.0.0.0/0", "::/0"] });
  assert.deepEqual(calls.at(-1), ["setAdvertisedRoutes", ["0.0.0.0/0", "10.0.0.0/24", "::/0"]]);
});

Deno.test("offering an exit node is refused while one is in use, even one tun up chose by name (not stored)", async () => {
  const store = await PrefsStore.open(await KeyState.open("mem:"), {});
  // `tun up --exit-node gw`: the stored prefs name no exit node, the node uses one.
  const ports = { ...fakePorts(true), exitNodeActive: () => true };
  const l = new LivePrefs(store, ports);
  const offer = { AdvertiseRoutes: ["0.0.0.0/0", "::/0"] };
  await assert.rejects(
    () => l.edit(offer),
    (e) => e instanceof PrefsError && e.message === ADVERTISE_AND_USE_ERROR,
  );
  assert.deepEqual(ports.calls, [], "nothing was applied");
  // Stopping the exit node in the same edit makes the offer fine.
  await l.edit({ ...offer, ExitNodeID: "", ExitNodeIP: "" });
  assert.deepEqual(l.prefs.AdvertiseRoutes, ["0.0.0.0/0", "::/0"]);
});
