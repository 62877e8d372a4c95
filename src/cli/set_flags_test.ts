import assert from "node:assert/strict";
import { maskedPrefsJson } from "../daemon/prefs.ts";
import { exitNodeIp, parseSetFlags, setEdit } from "./set_flags.ts";
import { UsageError } from "./usage.ts";

const noExit = () => {
  throw new Error("no exit node lookup expected");
};
const edit = (argv: string[], routes: string[] | null = null) =>
  setEdit(parseSetFlags(argv), routes, noExit);

Deno.test("tun set sends only the flags given, as the MaskedPrefs tailscale set sends", () => {
  assert.equal(
    JSON.stringify(maskedPrefsJson(edit(["--accept-routes=false", "--hostname", "web-2"]))),
    '{"RouteAll":false,"Hostname":"web-2","RouteAllSet":true,"HostnameSet":true}',
  );
  assert.deepEqual(edit(["--accept-dns", "--shields-up"]), { CorpDNS: true, ShieldsUp: true });
  assert.deepEqual(edit(["--accept-dns=0", "--exit-node-allow-lan-access=true"]), {
    CorpDNS: false,
    ExitNodeAllowLANAccess: true,
  });
  // --exit-node= clears both, as the captured `tailscale set --exit-node=` did
  assert.deepEqual(edit(["--exit-node="]), { ExitNodeID: "", ExitNodeIP: "" });
  assert.deepEqual(setEdit(parseSetFlags(["--exit-node", "gw"]), null, () => "100.64.0.9"), {
    ExitNodeID: "",
    ExitNodeIP: "100.64.0.9",
  });
});

Deno.test("--advertise-routes and --advertise-exit-node combine with what the node offers (calcAdvertiseRoutesForSet)", () => {
  const exit = ["0.0.0.0/0", "::/0"];
  const lan = "10.0.0.0/24";
  // routes alone keep the exit routes the node already offers
  // (sorted as warren sorts prefixes: family, then address)
  assert.deepEqual(edit(["--advertise-routes", "10.1.0.0/24"], [lan, ...exit]).AdvertiseRoutes, [
    "0.0.0.0/0",
    "10.1.0.0/24",
    "::/0",
  ]);
  // the exit flag alone keeps the subnets
  assert.deepEqual(edit(["--advertise-exit-node"], [lan]).AdvertiseRoutes, [
    "0.0.0.0/0",
    lan,
    "::/0",
  ]);
  assert.deepEqual(edit(["--advertise-exit-node=false"], [lan, ...exit]).AdvertiseRoutes, [lan]);
  // both: exactly what they say
  assert.deepEqual(
    edit(["--advertise-routes=", "--advertise-exit-node=false"], [lan, ...exit]).AdvertiseRoutes,
    [],
  );
});

Deno.test("bad tun set flags are UsageErrors (exit 2) naming the flag and why", () => {
  const cases: [string[], RegExp][] = [
    [
      ["--advertise-routes", "10.0.0.1/24"],
      /^--advertise-routes: 10\.0\.0\.1\/24 has non-address bits set/,
    ],
    [
      ["--advertise-routes", "nope"],
      /^--advertise-routes: "nope" is not a valid IP address or CIDR prefix/,
    ],
    [
      ["--hostname", "a b"],
      /^--hostname: "a b" is not a valid DNS label: contains invalid character " "/,
    ],
    [["--accept-routes=maybe"], /invalid boolean value "maybe" for --accept-routes/],
    [["--ssh"], /Unknown option '--ssh'/],
    [["--hostname"], /--hostname/],
    [[], /nothing to change/],
  ];
  for (const [argv, msg] of cases) {
    assert.throws(
      () => edit(argv),
      (e) => e instanceof UsageError && msg.test(e.message),
      argv.join(" "),
    );
  }
});

Deno.test("--exit-node takes an IP or one peer's name offering exit, never one of our own addresses", () => {
  const st = {
    TailscaleIPs: ["100.64.0.1"],
    Peer: {
      k1: {
        HostName: "gw",
        DNSName: "gateway.ts.test.",
        TailscaleIPs: ["100.64.0.2", "fd7a::2"],
        ExitNodeOption: true,
      },
      k2: { HostName: "db", DNSName: "db.ts.test.", TailscaleIPs: ["100.64.0.3"] },
    },
  };
  assert.equal(exitNodeIp("100.64.0.2", st), "100.64.0.2");
  assert.throws(() => exitNodeIp("100.64.0.7", st), /^Error: no node found in netmap with IP/);
  assert.throws(() => exitNodeIp("100.64.0.3", st), /node 100\.64\.0\.3 is not advertising/);
  assert.throws(() => exitNodeIp("db", st), /node "db" is not advertising an exit node/);
  assert.equal(exitNodeIp("gateway", st), "100.64.0.2");
  assert.equal(exitNodeIp("gateway.ts.test.", st), "100.64.0.2");
  assert.equal(exitNodeIp("GW", st), "100.64.0.2");
  assert.throws(
    () => exitNodeIp("100.64.0.1", st),
    /local IP address; did you mean --advertise-exit-node/,
  );
  assert.throws(
    () => exitNodeIp("web", st),
    /invalid value "web" for --exit-node|must be IP or unique node name/,
  );
  assert.equal(parseSetFlags(["--network", "corp", "--tun", "ts0", "-h"]).network, "corp");
});
