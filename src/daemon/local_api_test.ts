import assert from "node:assert/strict";
import { callLocalApi, NodeNotRunningError, serveLocalApi } from "./local_api.ts";
import { listNodes, runtimeDirs, socketPath } from "./runtime_dir.ts";
import { skipRest } from "../testing/skip.ts";

const handlers = { status: () => ({ ok: "yes" }), down() {} };

Deno.test("runtimeDirs: root prefers /run, then XDG_RUNTIME_DIR, then its own /tmp directory", () => {
  const root = runtimeDirs((n) => n === "XDG_RUNTIME_DIR" ? "/run/user/0/" : undefined, 0);
  const ns = root[0].slice(root[0].lastIndexOf("/") + 1);
  assert.match(ns, /^net-/);
  assert.deepEqual(root, [
    `/run/warren/${ns}`,
    `/run/user/0/warren/${ns}`,
    `/tmp/warren-0/${ns}`,
  ]);
  assert.deepEqual(runtimeDirs(() => undefined, 65534), [`/tmp/warren-65534/${ns}`]);
  assert.deepEqual(runtimeDirs((n) => n === "XDG_RUNTIME_DIR" ? "/x" : undefined, 1000), [
    `/x/warren/${ns}`,
    `/tmp/warren-1000/${ns}`,
  ]);
});

Deno.test("serveLocalApi: a directory it cannot create is passed over, and the client finds the socket in the next", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${tmp}/file`, "");
    const dirs = [`${tmp}/file/warren/net-1`, `${tmp}/ok/warren/net-1`];
    const api = await serveLocalApi("userspace-networking", handlers, dirs);
    try {
      assert.equal(api.path, `${tmp}/ok/warren/net-1/userspace-networking.sock`);
      assert.equal(socketPath("userspace-networking", dirs), api.path);
      assert.deepEqual(listNodes(dirs), ["userspace-networking"]);
      const st = await callLocalApi("userspace-networking", "GET", "/warren/v0/status", dirs);
      assert.deepEqual(st, { ok: "yes" });
      assert.equal((await Deno.stat(api.path)).mode! & 0o777, 0o600);
    } finally {
      await api.close();
    }
    assert.deepEqual(listNodes(dirs), []);
    await assert.rejects(
      callLocalApi("userspace-networking", "GET", "/warren/v0/status", dirs),
      NodeNotRunningError,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("serveLocalApi: fails with every directory's reason when none will do", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${tmp}/file`, "");
    await assert.rejects(
      serveLocalApi("warren0", handlers, [`${tmp}/file/a`, `${tmp}/file/b`]),
      (e: Error) => e.message.includes(`${tmp}/file/a:`) && e.message.includes(`${tmp}/file/b:`),
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("callLocalApi: a stale socket in a preferred directory does not hide the live node", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const dirs = [`${tmp}/a`, `${tmp}/b`];
    await Deno.mkdir(dirs[0]);
    const stale = Deno.listen({ transport: "unix", path: `${dirs[0]}/warren0.sock` });
    stale.close(); // the file stays, nobody listens: a node that died
    await Deno.mkdir(dirs[1]);
    // The node itself could not use the first directory (say it became read-only).
    const api = await serveLocalApi("warren0", handlers, [dirs[1]]);
    try {
      assert.deepEqual(await callLocalApi("warren0", "GET", "/warren/v0/status", dirs), {
        ok: "yes",
      });
    } finally {
      await api.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("serveLocalApi: sockets of nodes that died are removed, live ones are left", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${tmp}/d`, { mode: 0o700 });
    const stale = Deno.listen({ transport: "unix", path: `${tmp}/d/wgone.sock` });
    stale.close(); // a SIGKILLed node's socket: the file stays, nobody listens
    const live = await serveLocalApi("wlive", handlers, [`${tmp}/d`]);
    const api = await serveLocalApi("warren0", handlers, [`${tmp}/d`]);
    try {
      const names = [...Deno.readDirSync(`${tmp}/d`)].map((e) => e.name).sort();
      assert.deepEqual(names, ["warren0.sock", "wlive.sock"]);
    } finally {
      await api.close();
      await live.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("serveLocalApi: a directory another user owns is not trusted", async (t) => {
  if (Deno.uid() !== 0) return skipRest(t, "making a directory another user owns needs root");
  const tmp = await Deno.makeTempDir();
  try {
    const theirs = `${tmp}/theirs`;
    await Deno.mkdir(theirs, { mode: 0o777 });
    await Deno.chown(theirs, 65534, 65534);
    const api = await serveLocalApi("warren0", handlers, [theirs, `${tmp}/mine`]);
    try {
      assert.equal(api.path, `${tmp}/mine/warren0.sock`);
    } finally {
      await api.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
