import assert from "node:assert/strict";
import { clientHandshake } from "../../src/control/controlbase/handshake.ts";
import { dialTs2021 } from "../../src/control/dial.ts";
import { ControlError } from "../../src/control/errors.ts";
import { postJson, readBody } from "../../src/control/h2.ts";
import { generatePrivateKey } from "../../src/crypto/x25519.ts";
import { formatDiscoPublic, formatNodePublic, parseMachinePublic } from "../../src/key/node_key.ts";
import { TestControlServer } from "./server.ts";
import { makeNode, nextMessage, openStream, waitForMessage } from "./_test_util.ts";

const fast = { keepAliveMs: 60_000, keepAliveJitterMs: 0, offlineGraceMs: 30 };

async function withServer(
  fn: (srv: TestControlServer) => Promise<void>,
  opts: Parameters<typeof TestControlServer.start>[0] = {},
): Promise<void> {
  const srv = await TestControlServer.start({ ...fast, authKeys: ["k"], ...opts });
  try {
    await fn(srv);
  } finally {
    await srv.close();
  }
}

Deno.test("/key answers JSON for v >= 39 and an empty body below", async () => {
  await withServer(async (srv) => {
    const r = await fetch(`${srv.url}/key?v=145`);
    const j = await r.json();
    assert.equal(j.legacyPublicKey, "mkey:" + "0".repeat(64));
    assert.equal(j.publicKey, srv.publicKey);
    const old = await fetch(`${srv.url}/key?v=38`);
    assert.equal(old.status, 200);
    assert.equal(await old.text(), "");
  });
});

Deno.test("/ts2021 refuses missing or bad upgrade headers with HTTP 400", async () => {
  await withServer(async (srv) => {
    const init = clientHandshake(generatePrivateKey(), parseMachinePublic(srv.publicKey), 145);
    const good = btoa(String.fromCharCode(...init.initiation));
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /missing next protocol/],
      [{ Upgrade: "websocket", "X-Tailscale-Handshake": good }, /unknown next protocol/],
      [{ Upgrade: "tailscale-control-protocol" }, /missing Tailscale handshake header/],
      [{ Upgrade: "tailscale-control-protocol", "X-Tailscale-Handshake": "%%%" }, /invalid/],
    ];
    for (const [headers, want] of cases) {
      const text = await rawRequest(srv.url, "POST /ts2021", headers);
      assert.match(text, /^HTTP\/1\.1 400 /, JSON.stringify(headers));
      assert.match(text, want);
    }
  });
});

Deno.test("a capability version below 113 is closed right after the handshake", async () => {
  await withServer(async (srv) => {
    const old = makeNode(srv, "old", 100);
    try {
      await assert.rejects(
        old.client.register({ authKey: "k", nodeKey: old.nodeKey, hostinfo: old.hostinfo }),
      );
      assert.equal(srv.nodes().length, 0);
    } finally {
      old.client.close();
    }
  });
});

Deno.test("register and map bodies with Version < 113 get HTTP 400; a foreign node key gets 404", async () => {
  await withServer(async (srv) => {
    const a = makeNode(srv, "a");
    const conn = await dialTs2021(srv.url, a.machineKey, parseMachinePublic(srv.publicKey), 145);
    try {
      assert.match(conn.early?.nodeKeyChallenge ?? "", /^chalpub:[0-9a-f]{64}$/);
      const reg = await postJson(conn.session, "/machine/register", {
        Version: 100,
        NodeKey: formatNodePublic(a.nodeKey),
        Auth: { AuthKey: "k" },
      });
      assert.equal(reg.status, 400);
      assert.match(new TextDecoder().decode(await readBody(reg.stream, 1 << 16)), /unsupported/);
      const map = await postJson(conn.session, "/machine/map", {
        Version: 100,
        NodeKey: formatNodePublic(a.nodeKey),
      });
      assert.equal(map.status, 400);
      await readBody(map.stream, 1 << 16);

      // Register b, then ask for b's map from a's machine key.
      const b = makeNode(srv, "b");
      await b.client.register({ authKey: "k", nodeKey: b.nodeKey, hostinfo: b.hostinfo });
      b.client.close();
      const stolen = await postJson(conn.session, "/machine/map", {
        Version: 145,
        NodeKey: formatNodePublic(b.nodeKey),
        DiscoKey: formatDiscoPublic(b.discoKey),
        Stream: true,
      });
      assert.equal(stolen.status, 404);
      assert.match(new TextDecoder().decode(await readBody(stolen.stream, 1 << 16)), /machine key/);
      const unknown = await postJson(conn.session, "/machine/map", {
        Version: 145,
        NodeKey: formatNodePublic(a.nodeKey),
        Stream: true,
      });
      assert.equal(unknown.status, 404);
      await readBody(unknown.stream, 1 << 16);
      const stub = await postJson(conn.session, "/machine/set-dns", {});
      assert.equal(stub.status, 501);
      await readBody(stub.stream, 1 << 16);
    } finally {
      conn.close();
    }
  });
});

Deno.test("interactive registration: AuthURL, Followup long-poll released by the admin API", async () => {
  await withServer(async (srv) => {
    const a = makeNode(srv, "laptop");
    try {
      const first = await a.client.register({ nodeKey: a.nodeKey, hostinfo: a.hostinfo });
      assert.equal(first.MachineAuthorized, false);
      assert.match(first.AuthURL, new RegExp(`^${srv.url}/register/[0-9a-f]+$`));
      const waiting = a.client.register({
        nodeKey: a.nodeKey,
        hostinfo: a.hostinfo,
        followup: first.AuthURL,
      });
      const id = first.AuthURL.split("/").pop()!;
      const pending = await (await fetch(`${srv.url}/admin/pending`)).json();
      assert.deepEqual(pending, [id]);
      const res = await fetch(`${srv.url}/admin/approve/${id}`, { method: "POST" });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      const done = await waiting;
      assert.equal(done.MachineAuthorized, true);
      assert.equal(done.AuthURL, "");
      assert.equal(srv.nodes()[0].givenName, "laptop");
      const bad = await fetch(`${srv.url}/admin/approve/nope`, { method: "POST" });
      assert.equal(bad.status, 404);
      await bad.body?.cancel();
    } finally {
      a.client.close();
    }
  });
});

Deno.test("restart keeps the node, single-use keys are spent, OldNodeKey rotation keeps the ID", async () => {
  await withServer(async (srv) => {
    const once = srv.createPreAuthKey({ reusable: false });
    const a = makeNode(srv, "a");
    const b = makeNode(srv, "b");
    try {
      await a.client.register({ authKey: once.key, nodeKey: a.nodeKey, hostinfo: a.hostinfo });
      // Restart: no Auth, same node key → current state.
      const again = await a.client.register({ nodeKey: a.nodeKey, hostinfo: a.hostinfo });
      assert.equal(again.MachineAuthorized, true);
      // Restart with the spent key and the same node key is still fine (Headscale skips validation).
      await a.client.register({ authKey: once.key, nodeKey: a.nodeKey, hostinfo: a.hostinfo });
      await assert.rejects(
        b.client.register({ authKey: once.key, nodeKey: b.nodeKey, hostinfo: b.hostinfo }),
        /authkey already used/,
      );
      // Rotation: new node key, OldNodeKey = old one, with a valid key.
      const oldKey = a.nodeKey;
      const newKey = makeNode(srv, "x").nodeKey;
      await a.client.register({
        authKey: "k",
        nodeKey: newKey,
        oldNodeKey: oldKey,
        hostinfo: a.hostinfo,
      });
      const nodes = srv.nodes();
      assert.equal(nodes.length, 1);
      assert.equal(nodes[0].id, 1);
      assert.equal(nodes[0].nodeKey, formatNodePublic(newKey));
      // Logout: a past expiry with the current key.
      const out = await a.client.register({
        nodeKey: newKey,
        hostinfo: a.hostinfo,
        expiry: new Date(123_000),
      });
      assert.equal(out.NodeKeyExpired, true);
      assert.equal(srv.nodes()[0].expired, true);
    } finally {
      a.client.close();
      b.client.close();
    }
  });
});

Deno.test("kill-streams drops map streams; refused upgrades return 503 for the window", async () => {
  await withServer(async (srv) => {
    const a = makeNode(srv, "a");
    const b = makeNode(srv, "b");
    let s: ReturnType<typeof openStream> | undefined;
    try {
      await a.client.register({ authKey: "k", nodeKey: a.nodeKey, hostinfo: a.hostinfo });
      s = openStream(a);
      await nextMessage(s.it);
      const r = await fetch(`${srv.url}/admin/kill-streams`, {
        method: "POST",
        body: JSON.stringify({ refuseMs: 60_000 }),
      });
      assert.deepEqual(await r.json(), { killed: 1 });
      await assert.rejects(waitForMessage(s.it, () => false, 3000), ControlError);
      await assert.rejects(
        b.client.register({ authKey: "k", nodeKey: b.nodeKey, hostinfo: b.hostinfo }),
      );
      srv.killAllStreams(0);
      a.client.reset();
      const s2 = openStream(a);
      s = s2;
      const full = await nextMessage(s2.it);
      assert.equal(full.Node?.ID, 1);
    } finally {
      s?.abort.abort();
      a.client.close();
      b.client.close();
    }
  });
});

Deno.test("an ephemeral node is deleted once offline; its peer sees PeersRemoved", async () => {
  await withServer(async (srv) => {
    srv.createPreAuthKey({ key: "eph", ephemeral: true });
    const a = makeNode(srv, "a");
    const e = makeNode(srv, "e");
    let sa: ReturnType<typeof openStream> | undefined;
    try {
      await a.client.register({ authKey: "k", nodeKey: a.nodeKey, hostinfo: a.hostinfo });
      await e.client.register({ authKey: "eph", nodeKey: e.nodeKey, hostinfo: e.hostinfo });
      sa = openStream(a);
      await nextMessage(sa.it);
      const se = openStream(e);
      await nextMessage(se.it);
      await waitForMessage(sa.it, (m) => m.PeersChangedPatch?.some((p) => p?.Online) ?? false);
      se.abort.abort();
      const offline = await waitForMessage(
        sa.it,
        (m) => m.PeersChangedPatch?.some((p) => p?.Online === false) ?? false,
      );
      assert.equal(offline.PeersChangedPatch?.[0]?.NodeID, 2);
      const gone = await waitForMessage(sa.it, (m) => m.PeersRemoved !== undefined);
      assert.deepEqual(gone.PeersRemoved, [2]);
    } finally {
      sa?.abort.abort();
      a.client.close();
      e.client.close();
    }
  }, { ephemeralInactivityMs: 30 });
});

/** Sends a raw HTTP/1.1 request and returns the whole response text. */
async function rawRequest(
  url: string,
  line: string,
  headers: Record<string, string>,
): Promise<string> {
  const u = new URL(url);
  const c = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
  try {
    let head = `${line} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n`;
    if (headers.Upgrade) head += "Connection: upgrade\r\n";
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    await c.write(new TextEncoder().encode(head + "\r\n"));
    const out: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    const deadline = setTimeout(() => c.close(), 3000);
    try {
      for (;;) {
        const n = await c.read(buf).catch(() => null);
        if (n === null) break;
        out.push(buf.slice(0, n));
      }
    } finally {
      clearTimeout(deadline);
    }
    return new TextDecoder().decode(new Uint8Array(out.flatMap((b) => [...b])));
  } finally {
    try {
      c.close();
    } catch { /* already closed */ }
  }
}
