import assert from "node:assert/strict";
import {
  type ControlState,
  decodeControlState,
  encodeControlState,
  readStateFile,
  writeStateFile,
} from "./state_file.ts";

const NODE_KEY = "nodekey:" + "11".repeat(32);
const MACHINE_KEY = "mkey:" + "22".repeat(32);
const DISCO_KEY = "discokey:" + "33".repeat(32);

function sample(): ControlState {
  return {
    privateKey: new Uint8Array(32).fill(7),
    tailnet: {
      user: { id: 1, name: "test", created: new Date("2026-01-02T03:04:05.678Z") },
      nodes: [{
        id: 3,
        machineKey: MACHINE_KEY,
        nodeKey: NODE_KEY,
        discoKey: DISCO_KEY,
        hostname: "Box.local",
        givenName: "box",
        ipv4: "100.64.0.3",
        ipv6: "fd7a:115c:a1e0::3",
        hostinfo: { Hostname: "Box.local", NetInfo: { PreferredDERP: 900 } },
        endpoints: ["192.0.2.1:41641"],
        created: new Date("2026-01-02T03:04:06Z"),
        expiry: new Date("2027-01-01T00:00:00Z"),
        ephemeral: true,
        online: false,
        lastSeen: new Date("2026-01-02T04:00:00Z"),
        approvedRoutes: ["0.0.0.0/0", "10.98.8.0/24", "::/0"],
      }],
      preAuthKeys: [
        { id: 1, key: "k", reusable: true, ephemeral: false, used: false },
        {
          id: 2,
          key: "once",
          reusable: false,
          ephemeral: true,
          used: true,
          expiresAt: new Date("2026-02-01T00:00:00Z"),
        },
      ],
      nextNodeId: 4,
      nextKeyId: 3,
      addresses: { v4: ["100.64.0.3"], v6: ["fd7a:115c:a1e0::3"] },
    },
  };
}

Deno.test("encodeControlState() and decodeControlState() round-trip every stored field", () => {
  const s = sample();
  const text = encodeControlState(s);
  assert.match(text, /"privateKey": "privkey:(07){32}"/);
  assert.deepEqual(decodeControlState(text), s);
});

Deno.test("decodeControlState() keeps absent optional fields absent", () => {
  const s = sample();
  const n = s.tailnet.nodes[0];
  n.expiry = undefined;
  n.lastSeen = undefined;
  n.online = undefined;
  n.discoKey = "";
  const back = decodeControlState(encodeControlState(s)).tailnet.nodes[0];
  assert.equal(back.expiry, undefined);
  assert.equal(back.online, undefined);
  assert.equal(back.discoKey, "");
});

Deno.test("decodeControlState() rejects bad documents with one-line messages naming the field", () => {
  const good = JSON.parse(encodeControlState(sample()));
  const cases: [unknown, RegExp][] = [
    ["{", /^not JSON \(/],
    ["[]", /^the document must be a JSON object$/],
    [{ ...good, version: 2 }, /^unsupported version 2 \(want 1\)$/],
    [{ ...good, privateKey: "privkey:zz" }, /^privateKey: /],
    [{ ...good, privateKey: "privkey:" + "00".repeat(32) }, /zero key/],
    [{ ...good, nodes: [{ ...good.nodes[0], nodeKey: "nodekey:12" }] }, /^nodes\[0\]\.nodeKey: /],
    [{ ...good, nodes: [{ ...good.nodes[0], ipv4: "fd7a::1" }] }, /nodes\[0\]\.ipv4 must be/],
    [{ ...good, nodes: [{ ...good.nodes[0], created: "yesterday" }] }, /nodes\[0\]\.created/],
    [{ ...good, nodes: [good.nodes[0], good.nodes[0]] }, /node ID 3 appears twice/],
    [{ ...good, preAuthKeys: [{ ...good.preAuthKeys[0], used: "no" }] }, /used must be/],
    [{ ...good, nextNodeId: -1 }, /nextNodeId must be a non-negative integer/],
  ];
  for (const [doc, want] of cases) {
    const text = typeof doc === "string" ? doc : JSON.stringify(doc);
    assert.throws(() => decodeControlState(text), (e: Error) => {
      assert.ok(e instanceof SyntaxError, `${e.name} for ${want}`);
      assert.match(e.message, want);
      assert.ok(!e.message.includes("\n"), `multi-line message: ${e.message}`);
      return true;
    });
  }
});

Deno.test("writeStateFile() writes mode 0600 atomically; readStateFile() reads it back", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/state.json`;
    assert.equal(readStateFile(path), null, "a missing file is no state, not an error");
    writeStateFile(path, sample());
    writeStateFile(path, sample());
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["state.json"]);
    assert.deepEqual(readStateFile(path), sample());
    Deno.writeTextFileSync(path, "garbage");
    assert.throws(
      () => readStateFile(path),
      new RegExp(`^SyntaxError: Cannot load control state from ${path}: not JSON`),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
