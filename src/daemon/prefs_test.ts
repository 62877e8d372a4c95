import assert from "node:assert/strict";
import { KeyState, STATE_FILE } from "../key/state.ts";
import { parseMaskedPrefs } from "../localapi/prefs.ts";
import { fixtureJson } from "../localapi/testdata.ts";
import {
  applyEdits,
  changedPrefs,
  DEFAULT_PREFS,
  maskedPrefsJson,
  PREFS_KEY,
  PrefsStore,
} from "./prefs.ts";

Deno.test("the stored prefs are tailscaled's ipn.Prefs fields, named and ordered as in prefs.json", async () => {
  const state = await KeyState.open("mem:");
  await PrefsStore.open(state, { Hostname: "n1", AdvertiseRoutes: ["10.0.0.0/24"] });
  assert.equal(
    JSON.stringify(state.getExtra(PREFS_KEY)),
    '{"RouteAll":false,"ExitNodeID":"","ExitNodeIP":"","ExitNodeAllowLANAccess":false,' +
      '"CorpDNS":false,"WantRunning":true,"LoggedOut":false,"ShieldsUp":false,"Hostname":"n1",' +
      '"AdvertiseRoutes":["10.0.0.0/24"]}',
  );
  // the golden capture from tailscaled 1.96.5: same names, same relative order
  const golden = Object.keys(fixtureJson("prefs.json") as object);
  const ours = Object.keys(DEFAULT_PREFS);
  assert.deepEqual(golden.filter((k) => ours.includes(k)), ours);
});

Deno.test("MaskedPrefs JSON: the fields, then their …Set booleans, as Go marshals them; the handler reads it back", () => {
  const edit = { Hostname: "x", RouteAll: false, AdvertiseRoutes: null };
  const json = JSON.stringify(maskedPrefsJson(edit));
  assert.equal(
    json,
    '{"RouteAll":false,"Hostname":"x","AdvertiseRoutes":null,' +
      '"RouteAllSet":true,"HostnameSet":true,"AdvertiseRoutesSet":true}',
  );
  assert.deepEqual(parseMaskedPrefs(JSON.parse(json)), edit);
});

Deno.test("applyEdits changes only the fields of the edit and shares no list with it", () => {
  const routes = ["10.0.0.0/24"];
  const p = applyEdits(DEFAULT_PREFS, { AdvertiseRoutes: routes, RouteAll: true });
  routes.push("10.1.0.0/24");
  assert.deepEqual(p.AdvertiseRoutes, ["10.0.0.0/24"]);
  assert.equal(p.RouteAll, true);
  assert.equal(p.Hostname, "");
  assert.deepEqual(changedPrefs(DEFAULT_PREFS, p), ["RouteAll", "AdvertiseRoutes"]);
  assert.deepEqual(changedPrefs(p, applyEdits(p, { AdvertiseRoutes: ["10.0.0.0/24"] })), []);
  // an empty list and null both mean "none"
  assert.deepEqual(
    changedPrefs(DEFAULT_PREFS, applyEdits(DEFAULT_PREFS, { AdvertiseRoutes: [] })),
    [],
  );
});

Deno.test("prefs persist in the state directory: a restart keeps what tun set chose, flags given replace it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-prefs-" });
  try {
    const first = await PrefsStore.open(await KeyState.open(dir), { Hostname: "a" });
    assert.deepEqual(await first.edit({ RouteAll: true, WantRunning: false }), [
      "RouteAll",
      "WantRunning",
    ]);
    assert.deepEqual(await first.edit({ RouteAll: true }), [], "no change, nothing saved");
    const file = JSON.parse(await Deno.readTextFile(`${dir}/${STATE_FILE}`));
    assert.equal(file.extra.prefs.RouteAll, true);

    // tun up again, --hostname b only: the stored accept-routes stays, tun up means running.
    const again = await PrefsStore.open(await KeyState.open(dir), { Hostname: "b" });
    assert.equal(again.current.RouteAll, true);
    assert.equal(again.current.Hostname, "b");
    assert.equal(again.current.WantRunning, true);
    await again.edit({ LoggedOut: true });
    assert.equal(
      (await PrefsStore.open(await KeyState.open(dir), {})).current.LoggedOut,
      false,
      "a new tun up logs in again",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stored values of the wrong type are ignored, not trusted", async () => {
  const state = await KeyState.open("mem:");
  await state.setExtra(PREFS_KEY, {
    RouteAll: "yes",
    Hostname: 5,
    AdvertiseRoutes: [1],
    CorpDNS: true,
  });
  const p = (await PrefsStore.open(state, {})).current;
  assert.equal(p.RouteAll, false);
  assert.equal(p.Hostname, "");
  assert.equal(p.AdvertiseRoutes, null);
  assert.equal(p.CorpDNS, true);
});

/** ipn.MaskedPrefs' `…Set` fields in tailscale 1.96's ipn/prefs.go, in order. */
const UPSTREAM_SET_FIELDS =
  ("ControlURLSet RouteAllSet ExitNodeIDSet ExitNodeIPSet AutoExitNodeSet " +
    "InternalExitNodePriorSet ExitNodeAllowLANAccessSet CorpDNSSet RunSSHSet RunWebClientSet " +
    "WantRunningSet LoggedOutSet ShieldsUpSet AdvertiseTagsSet HostnameSet NotepadURLsSet " +
    "ForceDaemonSet EggSet AdvertiseRoutesSet AdvertiseServicesSet SyncSet NoSNATSet " +
    "NoStatefulFilteringSet NetfilterModeSet OperatorUserSet ProfileNameSet AutoUpdateSet " +
    "AppConnectorSet PostureCheckingSet NetfilterKindSet RemoteConfigSet DriveSharesSet " +
    "RelayServerPortSet RelayServerStaticEndpointsSet").split(" ");

Deno.test("every …Set name warren sends is one of ipn.MaskedPrefs', in its order", () => {
  const all = Object.fromEntries(Object.keys(DEFAULT_PREFS).map((k) => [k, true]));
  const sets = Object.keys(maskedPrefsJson(all)).filter((k) => k.endsWith("Set"));
  assert.equal(sets.length, Object.keys(DEFAULT_PREFS).length);
  assert.deepEqual(UPSTREAM_SET_FIELDS.filter((k) => sets.includes(k)), sets);
});
