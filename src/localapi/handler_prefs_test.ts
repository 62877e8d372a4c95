import assert from "node:assert/strict";
import { localApiHandler } from "./handler.ts";
import { assertSameShape, FakeNode, fixtureJson, LOCALAPI_FIXTURES } from "./testdata.ts";

function call(
  node: FakeNode,
  path: string,
  o: { method?: string; body?: string; signal?: AbortSignal } = {},
): Promise<Response> {
  return localApiHandler(node)(
    new Request(`http://local-tailscaled.sock/localapi/v0/${path}`, {
      method: o.method ?? "GET",
      body: o.body,
      signal: o.signal,
      headers: { Host: "local-tailscaled.sock" },
    }),
  );
}

/** The chunked JSON bodies the CLI sent (check-prefs, then PATCH prefs for `set --exit-node=`). */
function cliBodies(): unknown[] {
  const raw = Deno.readTextFileSync(new URL("cli-requests.txt", LOCALAPI_FIXTURES));
  return raw.split(/\r?\n/).filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

const patch = (node: FakeNode, body: unknown) =>
  call(node, "prefs", { method: "PATCH", body: JSON.stringify(body) });

Deno.test("GET prefs answers prefs.json's keys and warren's values in tailscaled's form", async () => {
  const res = await call(new FakeNode(), "prefs");
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /^\{\n\t"ControlURL"/);
  // warren never checks for updates; everything else is as ts-b's tailscaled had it
  assertSameShape(JSON.parse(text), fixtureJson("prefs.json"), { "$.AutoUpdate.Check": "kind" });
  assert.deepEqual(Object.keys(JSON.parse(text)), Object.keys(fixtureJson("prefs.json") as object));
});

Deno.test("the CLI's `set --exit-node=` PATCH clears the exit node through editPrefs", async () => {
  const [, masked] = cliBodies();
  const node = new FakeNode();
  node.current.ExitNodeID = "1";
  const res = await patch(node, masked);
  assert.equal(res.status, 200);
  assert.deepEqual(node.calls, [{ fn: "editPrefs", args: [{ ExitNodeID: "", ExitNodeIP: "" }] }]);
  const prefs = await res.json();
  assert.equal(prefs.ExitNodeID, "");
  assert.equal(prefs.CorpDNS, false, "fields without …Set are not touched");
});

Deno.test("`tailscale down` and `up` PATCH WantRunning alone", async () => {
  const node = new FakeNode();
  await (await patch(node, { WantRunning: false, WantRunningSet: true })).body?.cancel();
  assert.equal(node.view.backendState, "Stopped");
  const res = await patch(node, { WantRunning: true, WantRunningSet: true });
  assert.equal((await res.json()).WantRunning, true);
  assert.deepEqual(node.calls.map((c) => c.args[0]), [{ WantRunning: false }, {
    WantRunning: true,
  }]);
});

Deno.test("an exit node given by IP is resolved to its stable ID, as tailscaled does", async () => {
  const node = new FakeNode();
  const res = await patch(node, {
    ExitNodeIP: "100.64.0.1",
    ExitNodeIPSet: true,
    ExitNodeID: "",
    ExitNodeIDSet: true,
  });
  assert.equal(res.status, 200);
  assert.deepEqual(node.calls[0].args[0], { ExitNodeID: "1", ExitNodeIP: "" });
  assert.equal((await res.json()).ExitNodeID, "1");
});

Deno.test('PATCH prefs refusals answer 400 with tailscaled\'s {"Error"} body', async () => {
  const cases: [unknown, string][] = [
    [{ RunSSH: true, RunSSHSet: true }, "warren does not support changing RunSSH"],
    [{ RunWebClientSet: true }, "warren does not support changing RunWebClient"],
    [{ AutoUpdateSet: { ApplySet: true } }, "warren does not support changing AutoUpdate"],
    [{ InternalExitNodePriorSet: true }, "can't set Internal fields"],
    [{ Hostname: 7, HostnameSet: true }, "invalid value for Hostname: 7"],
    [
      { ExitNodeIP: "100.64.0.9", ExitNodeIPSet: true },
      "no peer with Tailscale IP 100.64.0.9 in the netmap",
    ],
    [
      { ExitNodeIP: "100.64.0.2", ExitNodeIPSet: true },
      "cannot use this node as its own exit node",
    ],
    [[1], "MaskedPrefs must be a JSON object"],
  ];
  for (const [body, msg] of cases) {
    const node = new FakeNode();
    const res = await patch(node, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.deepEqual(await res.json(), { Error: msg });
    assert.equal(node.calls.length, 0);
  }
});

Deno.test("PATCH prefs: advertising an exit node while using one is tailscaled's error", async () => {
  const node = new FakeNode();
  node.current.ExitNodeID = "1";
  const res = await patch(node, {
    AdvertiseRoutes: ["0.0.0.0/0", "::/0"],
    AdvertiseRoutesSet: true,
  });
  assert.deepEqual(await res.json(), {
    Error: "Cannot advertise an exit node and use an exit node at the same time.",
  });
});

Deno.test("PATCH prefs: the node's own refusal reaches the client; bad JSON and methods fail", async () => {
  const node = new FakeNode();
  node.refuse = "Hostname is fixed by --hostname";
  const res = await patch(node, { Hostname: "x", HostnameSet: true });
  assert.deepEqual(await res.json(), { Error: "Hostname is fixed by --hostname" });
  const bad = await call(new FakeNode(), "prefs", { method: "PATCH", body: "{" });
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get("content-type"), "text/plain; charset=utf-8");
  await bad.body?.cancel();
  const post = await call(new FakeNode(), "prefs", { method: "POST", body: "{}" });
  assert.equal(post.status, 405);
  assert.equal(await post.text(), "unsupported method\n");
});

Deno.test("check-prefs accepts the CLI's own body and names what warren cannot do", async () => {
  const [full] = cliBodies();
  const ok = await call(new FakeNode(), "check-prefs", {
    method: "POST",
    body: JSON.stringify(full),
  });
  assert.equal(await ok.text(), "{}\n");
  // the CLI's flag defaults (NetfilterMode 2, Sync false, update checks on) are not refusals
  const [, masked] = cliBodies() as Record<string, unknown>[];
  const defaults = Object.fromEntries(Object.entries(masked).filter(([k]) => !k.endsWith("Set")));
  const up = await call(new FakeNode(), "check-prefs", {
    method: "POST",
    body: JSON.stringify(defaults),
  });
  assert.equal(await up.text(), "{}\n");
  const ssh = await call(new FakeNode(), "check-prefs", {
    method: "POST",
    body: JSON.stringify({ ...(full as object), RunSSH: true, RunWebClient: true }),
  });
  assert.deepEqual(await ssh.json(), {
    Error: "warren does not support changing RunSSH\nwarren does not support changing RunWebClient",
  });
  const other = await call(new FakeNode(), "check-prefs", {
    method: "POST",
    body: JSON.stringify({ ControlURL: "https://elsewhere", ProfileName: "work" }),
  });
  assert.deepEqual(await other.json(), {
    Error: "warren does not support changing ControlURL\nwarren does not support ProfileName",
  });
  const get = await call(new FakeNode(), "check-prefs");
  assert.equal(get.status, 405);
  await get.body?.cancel();
  const bad = await call(new FakeNode(), "check-prefs", { method: "POST", body: "nope" });
  assert.equal(bad.status, 400);
  assert.equal(await bad.text(), "invalid JSON body\n");
});

Deno.test("logout: POST only, 204 on success, the node's error as a 500", async () => {
  const node = new FakeNode();
  const res = await call(node, "logout", { method: "POST" });
  assert.equal(res.status, 204);
  assert.equal(node.view.backendState, "NeedsLogin");
  const get = await call(node, "logout");
  assert.equal(get.status, 400);
  assert.equal(await get.text(), "want POST\n");
  node.refuse = "control unreachable";
  const fail = await call(node, "logout", { method: "POST" });
  assert.equal(fail.status, 500);
  assert.equal(await fail.text(), "control unreachable\n");
});

Deno.test("start hands the auth key and the supported UpdatePrefs to the node", async () => {
  const node = new FakeNode();
  const prefs = (await (await call(node, "prefs")).json()) as Record<string, unknown>;
  const res = await call(node, "start", {
    method: "POST",
    body: JSON.stringify({ AuthKey: "tskey-x", UpdatePrefs: { ...prefs, RouteAll: false } }),
  });
  assert.equal(res.status, 204);
  const req = node.calls.at(-1)!.args[0] as { authKey: string; prefs: Record<string, unknown> };
  assert.equal(req.authKey, "tskey-x");
  assert.equal(req.prefs.RouteAll, false);
  assert.equal(req.prefs.Hostname, "ts-b");
  const ssh = await call(node, "start", {
    method: "POST",
    body: JSON.stringify({ UpdatePrefs: { ...prefs, RunSSH: true } }),
  });
  assert.equal(ssh.status, 500);
  assert.equal(await ssh.text(), "warren does not support changing RunSSH\n");
  const bare = await call(node, "start", { method: "POST", body: "{}" });
  assert.equal(bare.status, 204);
  assert.deepEqual(node.calls.at(-1)!.args[0], { authKey: "", prefs: null });
  assert.equal((await call(node, "start")).status, 400);
});

Deno.test("login-interactive without a callback is a 501; serve-config GET is an empty config", async () => {
  const li = await call(new FakeNode(), "login-interactive", { method: "POST" });
  assert.equal(li.status, 501);
  await li.body?.cancel();
  const sc = await call(new FakeNode(), "serve-config");
  assert.equal(sc.status, 200);
  assert.equal(await sc.text(), "null");
  assert.equal(
    sc.headers.get("etag"),
    "74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b",
  );
  const set = await call(new FakeNode(), "serve-config", { method: "POST", body: "{}" });
  assert.equal(set.status, 501);
  await set.body?.cancel();
});

Deno.test("watch-ipn-bus streams the state as ipn.Notify lines until the client leaves", async () => {
  const node = new FakeNode();
  const ac = new AbortController();
  const res = await call(node, "watch-ipn-bus?mask=2", { signal: ac.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  assert.equal((await reader.read()).value, '{"Version":"1.96.5-t88200dbb4","State":6}\n');
  node.setState("Stopped");
  assert.equal((await reader.read()).value, '{"Version":"1.96.5-t88200dbb4","State":4}\n');
  ac.abort();
  assert.equal((await reader.read()).done, true);
  const bad = await call(node, "watch-ipn-bus?mask=x");
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
});
