import assert from "node:assert/strict";
import { ControlSession, type SessionState } from "./session.ts";
import { ControlError } from "./errors.ts";
import { encodeMapMessage } from "./map_stream.ts";
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
  const srv = startLoopbackServer({
    handler: ({ path, body }, stream) => {
      const req = JSON.parse(new TextDecoder().decode(body));
      stream.respond({ ":status": 200 });
      if (path === "/machine/register") {
        registers.push(req);
        stream.end(JSON.stringify(OK));
        return;
      }
      maps.push(req);
      if (!req.Stream) return void stream.end();
      stream.write(encodeMapMessage(selfNode(req.NodeKey), true));
      stream.write(encodeMapMessage({ KeepAlive: true }, true));
    },
  });
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
  const session = new ControlSession({
    controlUrl: srv.url,
    state: await KeyState.open("mem:"),
    hostinfo,
    discoKey: publicFromPrivate(generateNodePrivate()),
    authKey: "bad",
    backoff: fast,
    onState: (s) => states.push(s),
  });
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
