import assert from "node:assert/strict";
import { defaultStateDir, KeyState, STATE_FILE } from "./state.ts";
import { formatPrivate } from "./node_key.ts";

Deno.test("KeyState keeps the same identity across reopen, in a 0600 file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sub = `${dir}/nested/warren`;
    const a = await KeyState.open(sub);
    const b = await KeyState.open(sub);
    assert.deepEqual(b.machineKey, a.machineKey);
    assert.deepEqual(b.nodeKey, a.nodeKey);
    assert.equal(b.backendLogID, a.backendLogID);
    assert.match(a.backendLogID, /^[0-9a-f]{64}$/);
    assert.notDeepEqual(a.machineKey, a.nodeKey);
    assert.equal(a.nodeKey[0] & 7, 0, "node keys are clamped");
    const st = await Deno.stat(`${sub}/${STATE_FILE}`);
    assert.equal(st.mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(sub)).mode! & 0o777, 0o700);
    const text = await Deno.readTextFile(`${sub}/${STATE_FILE}`);
    assert.ok(text.includes(formatPrivate(a.machineKey)));
    assert.deepEqual([...Deno.readDirSync(sub)].map((e) => e.name), [STATE_FILE], "no temp left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KeyState.rotateNodeKey keeps the old key until commit, across a restart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = await KeyState.open(dir);
    const first = s.nodeKey;
    const { oldKey, newKey } = await s.rotateNodeKey();
    assert.deepEqual(oldKey, first);
    assert.deepEqual(s.nodeKey, newKey);
    // A second rotation before commit still reports the registered (first) key as old.
    const again = await s.rotateNodeKey();
    assert.deepEqual(again.oldKey, first);
    const reopened = await KeyState.open(dir);
    assert.deepEqual(reopened.oldNodeKey, first);
    assert.deepEqual(reopened.nodeKey, again.newKey);
    await reopened.commitNodeKey();
    assert.equal((await KeyState.open(dir)).oldNodeKey, null);
    assert.deepEqual(
      (await KeyState.open(dir)).machineKey,
      s.machineKey,
      "machine key never rotates",
    );
    await reopened.setExtra("controlUrl", "http://127.0.0.1:1");
    assert.equal((await KeyState.open(dir)).getExtra("controlUrl"), "http://127.0.0.1:1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KeyState 'mem:' writes nothing; corrupt files fail with the path in the message", async () => {
  const m1 = await KeyState.open("mem:");
  const m2 = await KeyState.open("mem:");
  assert.equal(m1.dir, null);
  assert.notDeepEqual(m1.machineKey, m2.machineKey);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/${STATE_FILE}`, "{nope");
    await assert.rejects(
      KeyState.open(dir),
      (e) => e instanceof SyntaxError && e.message.includes(dir),
    );
    await Deno.writeTextFile(
      `${dir}/${STATE_FILE}`,
      JSON.stringify({ version: 1, machineKey: "mkey:00", nodeKey: "x", backendLogID: "ab" }),
    );
    await assert.rejects(KeyState.open(dir), /machineKey is not a privkey/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("defaultStateDir: root, XDG_STATE_HOME, then ~/.local/state", () => {
  const env = (m: Record<string, string>) => (n: string) => m[n];
  assert.equal(defaultStateDir(env({ HOME: "/h" }), 0), "/var/lib/warren");
  assert.equal(defaultStateDir(env({ XDG_STATE_HOME: "/x", HOME: "/h" }), 1000), "/x/warren");
  assert.equal(defaultStateDir(env({ HOME: "/h" }), 1000), "/h/.local/state/warren");
  assert.throws(() => defaultStateDir(env({}), 1000), /HOME is not set/);
});
