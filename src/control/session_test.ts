import assert from "node:assert/strict";
import { ControlSession, type SessionState } from "./session.ts";
import { ControlError } from "./errors.ts";
import { encodeMapMessage } from "../../tests/control/map_message.ts";
import { startLoopbackServer } from "./_loopback_server_test_util.ts";
import { KeyState } from "../key/state.ts";
import { formatNodePublic, generateNodePrivate, publicFromPrivate } from "../key/node_key.ts";
import { buildHostinfo } from "./hostinfo.ts";
import type { MapRequest, MapResponse, RegisterRequest } from "../netmap/tailcfg.ts";
import type { NetworkMap } from "../netmap/network_map.ts";

const OK = {
  User: { ID: 1, DisplayName: "lab" },
  Login: { ID: 1, Provider: "", LoginName: "lab", DisplayName: "lab" },
  NodeKeyExpired: false,
  MachineAuthorized: true,
  AuthURL: "",
  NodeKeySignature: null,
  Error: "",
};
const selfNode = (key: string): MapResponse => ({
  Node: {
    ID: 7,
    StableID: "7",
    Name: "me.",
    User: 1,
    Key: key,
    Addresses: ["100.64.0.7/32"],
  },
  PacketFilters: { base: [] },
});
const hostinfo = buildHostinfo({ backendLogID: "cd".repeat(32), hostname: "s" });
const fast = { minMs: 10, maxMs: 40 };

/**
 * A server that registers every node (recorded in `registers`), shows each map request to
 * `onMap`, and answers a streaming one with the self node, then `more`.
 */
function selfServer(
  registers: RegisterRequest[],
  onMap: (req: MapRequest) => void,
  more: MapResponse[] = [],
): ReturnType<typeof startLoopbackServer> {
  return startLoopbackServer({
    handler: ({ path, body }, stream) => {
      const req = JSON.parse(new TextDecoder().decode(body));
      stream.respond({ ":status": 200 });
      if (path === "/machine/register") {
        registers.push(req);
        stream.end(JSON.stringify(OK));
        return;
      }
      onMap(req);
      if (!req.Stream) return void stream.end();
      for (const m of [selfNode(req.NodeKey), ...more]) stream.write(encodeMapMessage(m, true));
    },
  });
}

/** A session on the loopback server at `url` with the tests' usual keys and fast backoff. */
async function sessionAt(
  url: string,
  extra: Partial<ConstructorParameters<typeof ControlSession>[0]>,
): Promise<ControlSession> {
  return new ControlSession({
    controlUrl: url,
    state: await KeyState.open("mem:"),
    hostinfo,
    discoKey: publicFromPrivate(generateNodePrivate()),
    backoff: fast,
    ...extra,
  });
}

function until(cond: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      clearInterval(iv);
      reject(new Error(`timed out waiting for ${what}`));
    }, 10_000);
    const iv = setInterval(() => {
      if (cond()) {
        clearInterval(iv);
        clearTimeout(deadline);
        resolve();
      }
    }, 5);
  });
}

Deno.test("ControlSession logs in, streams the map, and re-dials after the server drops it", async () => {
  const registers: RegisterRequest[] = [];
  const maps: MapRequest[] = [];
  const srv = selfServer(registers, (req) => maps.push(req), [{ KeepAlive: true }]);
  const state = await KeyState.open("mem:");
  const states: SessionState[] = [];
  const netmaps: NetworkMap[] = [];
  const errors: ControlError[] = [];
  const session = new ControlSession({
    controlUrl: srv.url,
    state,
    hostinfo,
    discoKey: publicFromPrivate(generateNodePrivate()),
    authKey: "key",
    backoff: fast,
    onState: (s) => states.push(s),
    onNetmap: (nm) => netmaps.push(nm),
    onError: (e) => errors.push(e),
  });
  try {
    await session.start();
    assert.equal(registers.length, 1);
    assert.equal(registers[0].Auth?.AuthKey, "key");
    await until(() => netmaps.length >= 1 && maps.some((m) => m.OmitPeers), "first netmap");
    assert.equal(session.state, "Running");
    assert.equal(netmaps[0].self?.ID, 7);
    const stream = maps.find((m) => m.Stream)!;
    assert.equal(stream.Compress, "zstd");
    assert.equal(stream.KeepAlive, true);
    assert.equal(stream.NodeKey, formatNodePublic(publicFromPrivate(state.nodeKey)));

    srv.dropAll();
    await until(() => netmaps.length >= 2 && srv.upgrades >= 2, "a second netmap after re-dial");
    assert.ok(errors.length >= 1, "the drop is reported");
    assert.ok(errors.every((e) => e.message.startsWith("control: ")));
    assert.equal(registers.length, 1, "a dropped stream does not re-register");
    assert.deepEqual(states.slice(0, 2), ["Starting", "Running"]);
    assert.ok(states.lastIndexOf("Running") > states.indexOf("Running"), "back to Running");
    assert.deepEqual(session.netmap?.packetFilter, []);
  } finally {
    await session.close();
    await srv.close();
  }
  assert.equal(session.state, "Stopped");
});

Deno.test("ControlSession interactive login: surfaces AuthURL once and polls with Followup", async () => {
  const registers: RegisterRequest[] = [];
  const url = "http://127.0.0.1/register/abc";
  const srv = startLoopbackServer({
    handler: ({ path, body }, stream) => {
      stream.respond({ ":status": 200 });
      if (path !== "/machine/register") return void stream.end();
      const req: RegisterRequest = JSON.parse(new TextDecoder().decode(body));
      registers.push(req);
      const approved = req.Followup === url && registers.length >= 3;
      stream.end(JSON.stringify(approved ? OK : { ...OK, MachineAuthorized: false, AuthURL: url }));
    },
  });
  const urls: string[] = [];
  const states: SessionState[] = [];
  const session = new ControlSession({
    controlUrl: srv.url,
    state: await KeyState.open("mem:"),
    hostinfo,
    discoKey: publicFromPrivate(generateNodePrivate()),
    backoff: fast,
    onAuthURL: (u) => urls.push(u),
    onState: (s) => states.push(s),
  });
  try {
    await session.start();
    assert.deepEqual(urls, [url]);
    assert.deepEqual(registers.map((r) => r.Followup), ["", url, url]);
    assert.ok(registers.every((r) => r.Auth === undefined));
    assert.deepEqual(states.slice(0, 3), ["Starting", "NeedsLogin", "Starting"]);
  } finally {
    await session.close();
    await srv.close();
  }
});

Deno.test("ControlSession replaces an expired node key, sending OldNodeKey", async () => {
  const registers: RegisterRequest[] = [];
  const srv = startLoopbackServer({
    handler: ({ path, body }, stream) => {
      stream.respond({ ":status": 200 });
      if (path !== "/machine/register") return void stream.end();
      const req: RegisterRequest = JSON.parse(new TextDecoder().decode(body));
      registers.push(req);
      stream.end(JSON.stringify(registers.length === 1 ? { ...OK, NodeKeyExpired: true } : OK));
    },
  });
  const state = await KeyState.open("mem:");
  const firstKey = formatNodePublic(publicFromPrivate(state.nodeKey));
  const session = new ControlSession({
    controlUrl: srv.url,
    state,
    hostinfo,
    discoKey: publicFromPrivate(generateNodePrivate()),
    authKey: "k",
    backoff: fast,
  });
  try {
    await session.start();
    assert.equal(registers.length, 2);
    assert.equal(registers[0].NodeKey, firstKey);
    assert.equal(registers[1].OldNodeKey, firstKey);
    assert.notEqual(registers[1].NodeKey, firstKey);
    assert.equal(registers[1].NodeKey, formatNodePublic(publicFromPrivate(state.nodeKey)));
    assert.equal(state.oldNodeKey, null, "rotation committed");
  } finally {
    await session.close();
    await srv.close();
  }
});

Deno.test("ControlSession.start() fails fast with one line on a rejected pre-auth key", async () => {
  const srv = startLoopbackServer({
    handler: (_req, stream) => {
      stream.respond({ ":status": 200 });
      stream.end(
        JSON.stringify({ ...OK, MachineAuthorized: false, Error: "invalid pre auth key" }),
      );
    },
  });
  const states: SessionState[] = [];
  const session = await sessionAt(srv.url, { authKey: "bad", onState: (s) => states.push(s) });
  try {
    await assert.rejects(
      session.start(),
      (e) => e instanceof ControlError && e.message === "control: invalid pre auth key",
    );
    assert.equal(session.state, "Stopped");
  } finally {
    await session.close();
    await srv.close();
  }
});

const peer = (id: number): NonNullable<MapResponse["Peers"]>[number] => ({
  ID: id,
  StableID: String(id),
  Name: `p${id}.tailnet.test.`,
  User: 1,
  Key: `nodekey:${String(id).padStart(64, "0")}`,
  Addresses: [`100.64.0.${id}/32`],
});

/** Stream 1's full map: peers 2 and 3, two named filters, DNS, two user profiles. */
const streamOne = (key: string): MapResponse => ({
  ...selfNode(key),
  Peers: [peer(2), peer(3)],
  DNSConfig: { Domains: ["tailnet.test"], Proxied: true },
  Domain: "tailnet.test",
  PacketFilters: { base: [], extra: [{ SrcIPs: ["100.64.0.2"], DstPorts: [] }] },
  UserProfiles: [{ ID: 1, LoginName: "a", DisplayName: "a" }, {
    ID: 2,
    LoginName: "b",
    DisplayName: "b",
  }],
});

/**
 * A session against a server whose n-th map stream (from 0) sends `script(n)`,
 * then waits. Between streams the test drops the connection.
 */
async function scriptedSession(
  script: (n: number, nodeKey: string) => MapResponse[] | Promise<MapResponse[]>,
) {
  let streams = 0;
  const srv = startLoopbackServer({
    handler: async ({ path, body }, stream) => {
      const req = JSON.parse(new TextDecoder().decode(body));
      stream.respond({ ":status": 200 });
      if (path === "/machine/register") return void stream.end(JSON.stringify(OK));
      if (!req.Stream) return void stream.end();
      for (const m of await script(streams++, req.NodeKey)) {
        stream.write(encodeMapMessage(m, true));
      }
    },
  });
  const netmaps: NetworkMap[] = [];
  const session = new ControlSession({
    controlUrl: srv.url,
    state: await KeyState.open("mem:"),
    hostinfo,
    discoKey: publicFromPrivate(generateNodePrivate()),
    authKey: "key",
    backoff: fast,
    onNetmap: (nm) => netmaps.push(nm),
  });
  return { srv, session, netmaps, streams: () => streams };
}

const peerIdsOf = (nm: NetworkMap | null) => [...(nm?.peers.keys() ?? [])].sort();

Deno.test("ControlSession: a new stream whose first message omits Peers has no peers, filters, DNS or old profiles", async () => {
  const { srv, session, netmaps } = await scriptedSession((n, key) =>
    n === 0 ? [streamOne(key)] : [{
      // Headscale leaves Peers out when a node has none; only base filter, one profile.
      ...selfNode(key),
      PacketFilters: { base: [] },
      UserProfiles: [{ ID: 1, LoginName: "a", DisplayName: "a" }],
    }]
  );
  try {
    await session.start();
    await until(() => netmaps.length >= 1, "stream 1's netmap");
    assert.deepEqual(peerIdsOf(session.netmap), [2, 3]);
    srv.dropAll();
    await until(() => netmaps.length >= 2, "stream 2's netmap");
    const nm = session.netmap!;
    assert.deepEqual(peerIdsOf(nm), [], "Peers omitted in a stream's first message = no peers");
    assert.deepEqual([...nm.packetFilters.keys()], ["base"], "stream 1's 'extra' filter is gone");
    assert.deepEqual(nm.packetFilter, []);
    assert.equal(nm.dns, null, "stream 1's DNS config is not kept");
    assert.equal(nm.domain, "");
    assert.deepEqual([...nm.userProfiles.keys()], [1]);
  } finally {
    await session.close();
    await srv.close();
  }
});

Deno.test("ControlSession: a new stream with a different node set drops the old peers", async () => {
  const { srv, session, netmaps } = await scriptedSession((n, key) =>
    n === 0 ? [streamOne(key)] : n === 1
      // A full map with a new set: 3 stays, 2 is gone, 4 is new.
      ? [{ ...selfNode(key), Peers: [peer(4), peer(3)] }]
      // No peers at first, then one arrives as a delta: 3 and 4 must not come back.
      : [selfNode(key), { PeersChanged: [peer(5)] }]
  );
  try {
    await session.start();
    await until(() => netmaps.length >= 1, "stream 1's netmap");
    srv.dropAll();
    await until(() => netmaps.length >= 2, "stream 2's netmap");
    assert.deepEqual(peerIdsOf(session.netmap), [3, 4]);
    srv.dropAll();
    await until(() => netmaps.length >= 4, "stream 3's two netmaps");
    assert.deepEqual(peerIdsOf(session.netmap), [5]);
  } finally {
    await session.close();
    await srv.close();
  }
});

Deno.test("ControlSession keeps the old netmap while reconnecting, until the new full map", async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => release = r);
  const { srv, session, netmaps, streams } = await scriptedSession(async (n, key) => {
    if (n === 0) return [streamOne(key)];
    await held;
    return [selfNode(key)];
  });
  try {
    await session.start();
    await until(() => netmaps.length >= 1, "stream 1's netmap");
    srv.dropAll();
    await until(() => streams() >= 2, "the second stream to open");
    assert.equal(netmaps.length, 1, "no netmap emitted between streams");
    assert.deepEqual(peerIdsOf(session.netmap), [2, 3], "still the old stream's netmap");
    release();
    await until(() => netmaps.length >= 2, "stream 2's netmap");
    assert.deepEqual(peerIdsOf(session.netmap), []);
  } finally {
    release();
    await session.close();
    await srv.close();
  }
});

Deno.test("ControlSession.setPaused closes the map poll until resumed; logout registers with an expiry in the past", async () => {
  const registers: RegisterRequest[] = [];
  let streams = 0;
  const srv = selfServer(registers, (req) => void (req.Stream && streams++));
  const errors: ControlError[] = [];
  const session = await sessionAt(srv.url, { authKey: "key", onError: (e) => errors.push(e) });
  try {
    await session.start();
    await until(() => session.state === "Running", "Running");
    session.setPaused(true);
    await until(() => session.state === "Stopped", "Stopped while paused");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(streams, 1, "no new poll while paused");
    session.setPaused(false);
    await until(() => streams === 2 && session.state === "Running", "a new poll once resumed");
    assert.deepEqual(errors, [], "pausing is not a failure");

    await session.logout();
    assert.equal(registers.length, 2);
    assert.equal(registers[1].Expiry, "1970-01-01T00:02:03.000Z");
    assert.equal(registers[1].Auth, undefined);
  } finally {
    await session.close();
    await srv.close();
  }
});
