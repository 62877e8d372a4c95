import assert from "node:assert/strict";
import { ControlError } from "../../src/control/errors.ts";
import { buildHostinfo } from "../../src/control/hostinfo.ts";
import { ControlSession, type SessionState } from "../../src/control/session.ts";
import { generateNodePrivate, publicFromPrivate } from "../../src/key/node_key.ts";
import { KeyState } from "../../src/key/state.ts";
import type { NetworkMap } from "../../src/netmap/network_map.ts";
import { type AdminNode, TestControlServer, type TestControlServerOptions } from "./server.ts";
import {
  makeNode,
  nextMessage,
  openStream,
  startControlProcess,
  waitForMessage,
} from "./_test_util.ts";

const fast = {
  keepAliveMs: 60_000,
  keepAliveJitterMs: 0,
  offlineGraceMs: 50,
  derp: { urls: ["http://127.0.0.1:3340"] },
};

/** The fields a restart must not change (online state and stream count may). */
function identity(n: AdminNode): Omit<AdminNode, "online" | "streams"> {
  const { online: _o, streams: _s, ...rest } = n;
  return rest;
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

async function serverKey(url: string): Promise<string> {
  return (await (await fetch(`${url}/key?v=130`)).json()).publicKey;
}

function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      clearInterval(iv);
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    const iv = setInterval(() => {
      if (cond()) {
        clearInterval(iv);
        clearTimeout(deadline);
        resolve();
      }
    }, 10);
  });
}

Deno.test("a restarted server keeps its key, nodes, addresses, names and used pre-auth keys", async () => {
  const dir = await Deno.makeTempDir();
  const stateFile = `${dir}/control.json`;
  const opts: TestControlServerOptions = {
    ...fast,
    stateFile,
    authKeys: ["k", { key: "once", reusable: false }],
  };
  let srv = await TestControlServer.start(opts);
  const a = makeNode(srv, "node-a");
  const b = makeNode(srv, "node-b");
  const c = makeNode(srv, "node-c");
  const d = makeNode(srv, "node-d");
  const streams: ReturnType<typeof openStream>[] = [];
  try {
    await a.client.register({ authKey: "k", nodeKey: a.nodeKey, hostinfo: a.hostinfo });
    await b.client.register({ authKey: "once", nodeKey: b.nodeKey, hostinfo: b.hostinfo });
    const sa = openStream(a);
    streams.push(sa);
    await nextMessage(sa.it);
    const sb = openStream(b);
    streams.push(sb);
    await nextMessage(sb.it);
    await b.client.liteUpdate({
      nodeKey: b.nodeKey,
      discoKey: b.discoKey,
      hostinfo: { ...b.hostinfo, NetInfo: { PreferredDERP: 900 } },
      endpoints: ["192.0.2.7:41641"],
    });
    assert.equal((await Deno.stat(stateFile)).mode! & 0o777, 0o600);
    const before = srv.nodes();
    assert.deepEqual(before.map((n) => [n.ipv4, n.givenName, n.homeDerp, n.online]), [
      ["100.64.0.1", "node-a", 0, true],
      ["100.64.0.2", "node-b", 900, true],
    ]);
    const keyBefore = await serverKey(srv.url);
    const port = portOf(srv.url);
    await srv.close();
    for (const s of streams.splice(0)) s.abort.abort();

    srv = await TestControlServer.start({ ...opts, port });
    assert.equal(await serverKey(srv.url), keyBefore);
    assert.equal(srv.publicKey, keyBefore);
    const after = srv.nodes();
    assert.deepEqual(after.map(identity), before.map(identity));
    assert.deepEqual(after.map((n) => [n.online, n.streams]), [[false, 0], [false, 0]]);

    // tailscaled restarting: register without Auth, known node key → recognized as is.
    a.client.reset();
    const r = await a.client.register({ nodeKey: a.nodeKey, hostinfo: a.hostinfo });
    assert.equal(r.MachineAuthorized, true);
    assert.equal(r.AuthURL, "");
    const sa2 = openStream(a);
    streams.push(sa2);
    const full = await nextMessage(sa2.it);
    assert.equal(full.Node?.Name, "node-a.tailnet.test.");
    assert.deepEqual(full.Node?.Addresses, ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"]);
    const peer = full.Peers?.[0];
    assert.equal(peer?.Name, "node-b.tailnet.test.");
    assert.deepEqual(peer?.Addresses, ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"]);
    assert.equal(peer?.Online, false, "B was online before the restart, offline until it returns");
    assert.ok(peer?.LastSeen);
    assert.deepEqual(peer?.Endpoints, ["192.0.2.7:41641"]);
    assert.equal(peer?.HomeDERP, 900);

    // B streams straight away (no register): A sees it come online as before.
    b.client.reset();
    const sb2 = openStream(b);
    streams.push(sb2);
    const fullB = await nextMessage(sb2.it);
    assert.deepEqual(fullB.Node?.Addresses, ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"]);
    assert.equal(fullB.Peers?.[0]?.Online, true);
    await waitForMessage(
      sa2.it,
      (m) => m.PeersChangedPatch?.some((p) => p?.NodeID === 2 && p.Online === true) ?? false,
    );

    // A new node gets a fresh address and ID; the used single-use key stays used.
    c.client.reset();
    await c.client.register({ authKey: "k", nodeKey: c.nodeKey, hostinfo: c.hostinfo });
    const third = srv.nodes().find((n) => n.givenName === "node-c");
    assert.deepEqual([third?.id, third?.ipv4, third?.ipv6], [3, "100.64.0.3", "fd7a:115c:a1e0::3"]);
    await assert.rejects(
      d.client.register({ authKey: "once", nodeKey: d.nodeKey, hostinfo: d.hostinfo }),
      (e: ControlError) => e.kind === "auth" && /authkey already used/.test(e.message),
    );
  } finally {
    for (const s of streams) s.abort.abort();
    for (const n of [a, b, c, d]) n.client.close();
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a running ControlSession reconnects to a restarted server on its own", async () => {
  const dir = await Deno.makeTempDir();
  const opts: TestControlServerOptions = {
    ...fast,
    stateFile: `${dir}/control.json`,
    authKeys: ["k"],
  };
  let srv = await TestControlServer.start(opts);
  // Someone else holds ID 1 and the first address, so a session that lost its node and
  // registered afresh on an empty server would show up as ID 1, not 2.
  const other = makeNode(srv, "other");
  await other.client.register({ authKey: "k", nodeKey: other.nodeKey, hostinfo: other.hostinfo });
  other.client.close();
  const states: SessionState[] = [];
  let netmaps = 0;
  let last: NetworkMap | null = null;
  const session = new ControlSession({
    controlUrl: srv.url,
    state: await KeyState.open("mem:"),
    hostinfo: buildHostinfo({ backendLogID: "cd".repeat(32), hostname: "roamer" }),
    discoKey: publicFromPrivate(generateNodePrivate()),
    authKey: "k",
    backoff: { minMs: 20, maxMs: 200 },
    client: { watchdogMs: 10_000 },
    onState: (s) => states.push(s),
    onNetmap: (nm) => {
      netmaps++;
      last = nm;
    },
  });
  try {
    await session.start();
    await until(() => session.state === "Running", "the first map");
    const self = () => (last as NetworkMap | null)?.self;
    const addrsBefore = self()?.Addresses;
    assert.deepEqual(addrsBefore, ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"]);
    const nodeKeyBefore = srv.nodes()[1].nodeKey;
    const port = portOf(srv.url);
    await srv.close();
    await until(() => session.state !== "Running", "the session to notice the outage");

    srv = await TestControlServer.start({ ...opts, port });
    const seen = netmaps;
    await until(() => session.state === "Running" && netmaps > seen, "the session to reconnect");
    assert.deepEqual(self()?.Addresses, addrsBefore);
    assert.equal(self()?.Name, "roamer.tailnet.test.");
    const nodes = srv.nodes();
    assert.deepEqual(
      nodes.map((n) => [n.id, n.givenName, n.online]),
      [[1, "other", false], [2, "roamer", true]],
      "the session came back as the same node, not a new one",
    );
    assert.equal(nodes[1].nodeKey, nodeKeyBefore);
    assert.ok(states.filter((s) => s === "Running").length >= 2);
  } finally {
    await session.close();
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an explicit server key wins over the stored one and replaces it", async () => {
  const dir = await Deno.makeTempDir();
  const stateFile = `${dir}/control.json`;
  try {
    const first = await TestControlServer.start({ ...fast, stateFile });
    const stored = first.publicKey;
    await first.close();
    const again = await TestControlServer.start({ ...fast, stateFile });
    assert.equal(again.publicKey, stored);
    await again.close();
    const explicit = await TestControlServer.start({
      ...fast,
      stateFile,
      serverPrivateKey: generateNodePrivate(),
    });
    assert.notEqual(explicit.publicKey, stored);
    await explicit.close();
    const last = await TestControlServer.start({ ...fast, stateFile });
    assert.equal(last.publicKey, explicit.publicKey);
    await last.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a corrupt state file stops start with a one-line error and nothing listening", async () => {
  const dir = await Deno.makeTempDir();
  const stateFile = `${dir}/control.json`;
  try {
    await Deno.writeTextFile(stateFile, '{"version": 1, "privateKey": "privkey:00');
    await assert.rejects(TestControlServer.start({ ...fast, stateFile }), (e: Error) => {
      assert.match(e.message, new RegExp(`^Cannot load control state from ${stateFile}: not JSON`));
      assert.ok(!e.message.includes("\n"), e.message);
      return true;
    });
    const good = `${dir}/good.json`;
    const withNode = await TestControlServer.start({ ...fast, stateFile: good, authKeys: ["k"] });
    const n = makeNode(withNode, "n");
    try {
      await n.client.register({ authKey: "k", nodeKey: n.nodeKey, hostinfo: n.hostinfo });
    } finally {
      n.client.close();
      await withNode.close();
    }
    const doc = JSON.parse(await Deno.readTextFile(good));
    doc.nodes[0].ipv4 = "10.1.2.3";
    await Deno.writeTextFile(good, JSON.stringify(doc));
    await assert.rejects(
      TestControlServer.start({ ...fast, stateFile: good }),
      /^SyntaxError: Cannot load control state from .*good\.json: Cannot restore address "10\.1\.2\.3"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts --state-file keeps the server key across runs and reports a corrupt file", async () => {
  const dir = await Deno.makeTempDir();
  const stateFile = `${dir}/control.json`;
  const main = new URL("./main.ts", import.meta.url).pathname;
  const run = async (): Promise<string> => {
    const p = await startControlProcess(["--listen", "127.0.0.1:0", "--state-file", stateFile]);
    try {
      const m = /key (mkey:[0-9a-f]{64})/.exec(p.firstLine);
      assert.ok(m, `unexpected first line: ${p.firstLine}`);
      return m[1];
    } finally {
      // SIGKILL: nothing gets a chance to save on the way out.
      await p.stop("SIGKILL");
    }
  };
  try {
    const k1 = await run();
    assert.equal(await run(), k1);
    await Deno.writeTextFile(stateFile, "not json at all\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "--listen", "127.0.0.1:0", "--state-file", stateFile],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 2);
    const err = new TextDecoder().decode(out.stderr);
    assert.match(
      err,
      /^control: Cannot load control state from .*control\.json: not JSON \(.*\)\n$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an ephemeral node restored offline is deleted after the inactivity delay", async () => {
  const dir = await Deno.makeTempDir();
  const opts: TestControlServerOptions = {
    ...fast,
    stateFile: `${dir}/control.json`,
    authKeys: [{ key: "eph", ephemeral: true }, "k"],
    ephemeralInactivityMs: 100,
  };
  let srv = await TestControlServer.start({ ...opts, ephemeralInactivityMs: 60_000 });
  const e = makeNode(srv, "eph");
  const k = makeNode(srv, "keep");
  try {
    await e.client.register({ authKey: "eph", nodeKey: e.nodeKey, hostinfo: e.hostinfo });
    await k.client.register({ authKey: "k", nodeKey: k.nodeKey, hostinfo: k.hostinfo });
    const s = openStream(e);
    await nextMessage(s.it);
    s.abort.abort();
    const port = portOf(srv.url);
    await srv.close();
    srv = await TestControlServer.start({ ...opts, port });
    assert.deepEqual(srv.nodes().map((n) => [n.givenName, n.ephemeral]), [
      ["eph", true],
      ["keep", false],
    ]);
    await until(() => srv.nodes().length === 1, "the ephemeral node to be deleted");
    assert.equal(srv.nodes()[0].givenName, "keep");
    const doc = JSON.parse(await Deno.readTextFile(`${dir}/control.json`));
    assert.deepEqual(doc.nodes.map((n: { givenName: string }) => n.givenName), ["keep"]);
  } finally {
    e.client.close();
    k.client.close();
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
