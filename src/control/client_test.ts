import assert from "node:assert/strict";
import { ControlClient } from "./client.ts";
import { ControlError } from "./errors.ts";
import { encodeMapMessage } from "../../tests/control/map_message.ts";
import { startLoopbackServer } from "./_loopback_server_test_util.ts";
import { generatePrivateKey, publicKeyFrom } from "../crypto/x25519.ts";
import { formatNodePublic, generateNodePrivate, publicFromPrivate } from "../key/node_key.ts";
import type { MapRequest, MapResponse, RegisterRequest } from "../netmap/tailcfg.ts";
import { buildHostinfo } from "./hostinfo.ts";
import { CAPABILITY_VERSION } from "./constants.ts";

const FIXTURES = new URL("../netmap/testdata/headscale-0.28-mapresponses/", import.meta.url);
const REGISTER_RESPONSE = JSON.parse(
  Deno.readTextFileSync(new URL("register-response-from-headscale-0.28.json", FIXTURES)),
);
function node2Messages(): MapResponse[] {
  const dir = new URL("node2/", FIXTURES);
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort().map((n) =>
    JSON.parse(Deno.readTextFileSync(new URL(n, dir)))
  );
}

const nodeKey = publicFromPrivate(generateNodePrivate());
const discoKey = publicFromPrivate(generateNodePrivate());
const hostinfo = buildHostinfo({ backendLogID: "ab".repeat(32), hostname: "test-node" });

Deno.test("ControlClient registers with a pre-auth key over real TS2021 on loopback", async () => {
  const seen: { req?: RegisterRequest; lb?: unknown; mkey?: Uint8Array } = {};
  const srv = startLoopbackServer({
    handler: ({ path, headers, body, machineKey }, stream) => {
      assert.equal(path, "/machine/register");
      seen.req = JSON.parse(new TextDecoder().decode(body));
      seen.lb = headers["ts-lb"];
      seen.mkey = machineKey;
      stream.respond({ ":status": 200, "content-type": "application/json" });
      stream.end(
        JSON.stringify(
          seen.req!.Auth?.AuthKey === "good" ? REGISTER_RESPONSE : {
            ...REGISTER_RESPONSE,
            MachineAuthorized: false,
            Error: "invalid pre auth key",
          },
        ),
      );
    },
  });
  const machineKey = generatePrivateKey();
  const client = new ControlClient({ controlUrl: srv.url, machineKey });
  try {
    const resp = await client.register({ authKey: "good", nodeKey, hostinfo });
    assert.equal(resp.MachineAuthorized, true);
    assert.equal(resp.Login.LoginName, "lab");
    assert.deepEqual(client.serverKey, srv.publicKey);
    assert.deepEqual(seen.mkey, publicKeyFrom(machineKey));
    assert.equal(seen.req!.Version, CAPABILITY_VERSION);
    assert.equal(seen.req!.NodeKey, formatNodePublic(nodeKey));
    assert.equal(seen.req!.OldNodeKey, "nodekey:" + "0".repeat(64));
    assert.equal(seen.req!.Expiry, "0001-01-01T00:00:00Z");
    assert.equal(seen.req!.Hostinfo!.IPNVersion, "warren-0.1.0");
    assert.equal(seen.lb, formatNodePublic(nodeKey));

    // Rotation sends both keys as Ts-Lb, old first; a rejected key is a one-line error.
    const newKey = publicFromPrivate(generateNodePrivate());
    await assert.rejects(
      client.register({ authKey: "bad", nodeKey: newKey, oldNodeKey: nodeKey, hostinfo }),
      (err) => {
        assert.ok(err instanceof ControlError);
        assert.equal(err.kind, "auth");
        assert.equal(err.message, "control: invalid pre auth key");
        return true;
      },
    );
    assert.equal(seen.req!.OldNodeKey, formatNodePublic(nodeKey));
    assert.deepEqual(String(seen.lb).split(", "), [
      formatNodePublic(nodeKey),
      formatNodePublic(newKey),
    ]);
    assert.equal(srv.upgrades, 1, "both requests share one Noise connection");
  } finally {
    client.close();
    await srv.close();
  }
});

Deno.test("ControlClient.streamMap yields Headscale's real map messages, zstd and raw", async () => {
  const messages = node2Messages();
  let lastReq: MapRequest | undefined;
  const srv = startLoopbackServer({
    handler: ({ body }, stream) => {
      const req: MapRequest = JSON.parse(new TextDecoder().decode(body));
      lastReq = req;
      stream.respond({ ":status": 200 });
      if (!req.Stream) {
        stream.end();
        return;
      }
      const zstd = req.Compress === "zstd";
      for (const m of messages) stream.write(encodeMapMessage(m, zstd));
      stream.write(encodeMapMessage({ KeepAlive: true }, zstd));
      stream.end();
    },
  });
  const client = new ControlClient({ controlUrl: srv.url, machineKey: generatePrivateKey() });
  try {
    for (const compress of ["zstd", undefined]) {
      const got: MapResponse[] = [];
      for await (
        const m of client.streamMap({
          NodeKey: formatNodePublic(nodeKey),
          DiscoKey: "discokey:" + "22".repeat(32),
          Hostinfo: hostinfo,
          Stream: true,
          KeepAlive: true,
          Compress: compress,
        })
      ) got.push(m);
      assert.equal(got.length, messages.length + 1);
      assert.deepEqual(got.slice(0, -1), messages);
      assert.deepEqual(got.at(-1), { KeepAlive: true });
      assert.equal(lastReq!.Version, CAPABILITY_VERSION);
    }
    await client.liteUpdate({
      nodeKey,
      discoKey,
      hostinfo,
      endpoints: ["127.0.0.1:41641"],
      endpointTypes: [1],
    });
    assert.equal(lastReq!.Stream, undefined);
    assert.equal(lastReq!.OmitPeers, true);
    assert.deepEqual(lastReq!.Endpoints, ["127.0.0.1:41641"]);
    assert.equal(srv.upgrades, 1);
  } finally {
    client.close();
    await srv.close();
  }
});

Deno.test("ControlClient.streamMap's watchdog ends a silent stream with a clear error", async () => {
  const srv = startLoopbackServer({
    handler: (_req, stream) => {
      stream.respond({ ":status": 200 });
      stream.write(encodeMapMessage({ KeepAlive: true }, false));
      // …then nothing.
    },
  });
  const client = new ControlClient({
    controlUrl: srv.url,
    machineKey: generatePrivateKey(),
    watchdogMs: 300,
  });
  try {
    const got: MapResponse[] = [];
    await assert.rejects(
      (async () => {
        for await (
          const m of client.streamMap({
            NodeKey: formatNodePublic(nodeKey),
            DiscoKey: "discokey:" + "22".repeat(32),
            Hostinfo: hostinfo,
            Stream: true,
          })
        ) got.push(m);
      })(),
      (err) => err instanceof ControlError && err.kind === "stream" && /stalled/.test(err.message),
    );
    assert.deepEqual(got, [{ KeepAlive: true }]);
  } finally {
    client.close();
    await srv.close();
  }
});

Deno.test("ControlClient maps HTTP failures: unknown node key, unsupported version", async () => {
  const srv = startLoopbackServer({
    handler: ({ path }, stream) => {
      if (path === "/machine/map") {
        stream.respond({ ":status": 404 });
        stream.end("node not found");
      } else {
        stream.respond({ ":status": 400 });
        stream.end("unsupported client version: v1.76 (106)\n");
      }
    },
  });
  const client = new ControlClient({ controlUrl: srv.url, machineKey: generatePrivateKey() });
  try {
    await assert.rejects(
      client.liteUpdate({ nodeKey, discoKey, hostinfo }),
      (e) =>
        e instanceof ControlError && e.kind === "node-key" &&
        e.message === "control: POST /machine/map returned HTTP 404: node not found",
    );
    await assert.rejects(
      client.register({ nodeKey, hostinfo }),
      (e) => e instanceof ControlError && e.kind === "version" && !e.message.includes("\n"),
    );
  } finally {
    client.close();
    await srv.close();
  }
});

Deno.test("dial errors: version rejected after handshake, wrong server key, unreachable", async () => {
  const srv = startLoopbackServer({ minVersion: 200, handler: () => {} });
  try {
    const client = new ControlClient({ controlUrl: srv.url, machineKey: generatePrivateKey() });
    await assert.rejects(
      client.register({ nodeKey, hostinfo }),
      (e) =>
        e instanceof ControlError && e.kind === "version" &&
        e.message.includes(`capability version ${CAPABILITY_VERSION} rejected`),
    );
    client.close();
  } finally {
    await srv.close();
  }
  const srv2 = startLoopbackServer({ handler: () => {} });
  try {
    const wrong = new ControlClient({
      controlUrl: srv2.url,
      machineKey: generatePrivateKey(),
      serverKey: publicKeyFrom(generatePrivateKey()),
    });
    await assert.rejects(
      wrong.register({ nodeKey, hostinfo }),
      (e) =>
        e instanceof ControlError && e.kind === "protocol" && /Noise handshake/.test(e.message),
    );
    wrong.close();
  } finally {
    await srv2.close();
  }
  // A port nobody listens on.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  const down = new ControlClient({
    controlUrl: `http://127.0.0.1:${port}`,
    machineKey: generatePrivateKey(),
  });
  await assert.rejects(
    down.register({ nodeKey, hostinfo }),
    (e) =>
      e instanceof ControlError && e.kind === "unreachable" &&
      e.message.startsWith(`control: cannot reach http://127.0.0.1:${port}`),
  );
  down.close();
});
