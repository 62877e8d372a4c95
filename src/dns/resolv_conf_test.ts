import assert from "node:assert/strict";
import {
  installResolvConf,
  parseNameservers,
  readBaseNameservers,
  renderResolvConf,
  restoreResolvConf,
} from "./resolv_conf.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "warren-resolv-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const OURS = renderResolvConf(["100.100.100.100"], ["tslab.test.", "example.com"]);

Deno.test("renderResolvConf() lists servers and search domains without trailing dots", () => {
  assert.match(OURS, /^# Written by warren/);
  assert.ok(OURS.includes("nameserver 100.100.100.100\n"));
  assert.ok(OURS.endsWith("search tslab.test example.com\n"));
  assert.ok(!renderResolvConf(["1.1.1.1"], []).includes("search"));
  assert.throws(() => renderResolvConf([], []), RangeError);
});

Deno.test("install then restore gives back the original file, even after a second install", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/resolv.conf`;
    const original = "nameserver 192.168.1.1\noptions edns0\n";
    await Deno.writeTextFile(path, original);
    await installResolvConf(OURS, { path });
    assert.equal(await Deno.readTextFile(path), OURS);
    // A second install (e.g. after a crash) must not back up our own file.
    await installResolvConf(OURS + "# again\n", { path });
    assert.equal(await restoreResolvConf({ path }), true);
    assert.equal(await Deno.readTextFile(path), original);
    assert.equal(await restoreResolvConf({ path }), false);
  });
});

Deno.test("a symlinked resolv.conf is replaced by a file and the link restored", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/resolv.conf`;
    await Deno.writeTextFile(`${dir}/stub-resolv.conf`, "nameserver 127.0.0.53\n");
    await Deno.symlink(`${dir}/stub-resolv.conf`, path);
    await installResolvConf(OURS, { path });
    assert.equal((await Deno.lstat(path)).isSymlink, false);
    assert.equal(await Deno.readTextFile(`${dir}/stub-resolv.conf`), "nameserver 127.0.0.53\n");
    await restoreResolvConf({ path });
    assert.equal(await Deno.readLink(path), `${dir}/stub-resolv.conf`);
  });
});

Deno.test("a missing resolv.conf is removed again on restore; a foreign backup is refused", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/resolv.conf`;
    await installResolvConf(OURS, { path });
    assert.equal(await Deno.readTextFile(path), OURS);
    await restoreResolvConf({ path });
    await assert.rejects(() => Deno.lstat(path), Deno.errors.NotFound);
    await Deno.writeTextFile(`${path}.warren-backup`, "not json");
    await assert.rejects(() => restoreResolvConf({ path }), SyntaxError);
  });
});

Deno.test("parseNameservers() reads nameserver lines in order, skipping comments and scoped addresses", () => {
  const text = "# comment\nnameserver 192.0.2.53\n  nameserver 2001:db8::53 # v6\n" +
    ";nameserver 10.9.9.9\nnameserver fe80::1%eth0\nsearch a.test\nnameserver 198.51.100.1\n";
  assert.deepEqual(parseNameservers(text), ["192.0.2.53", "2001:db8::53", "198.51.100.1"]);
});

Deno.test("readBaseNameservers() names the servers from before warren's install, never quad-100", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/resolv.conf`;
    // Before install: the current file (quad-100 on it is not a base server).
    await Deno.writeTextFile(path, "nameserver 192.0.2.53\nnameserver 100.100.100.100\n");
    assert.deepEqual(await readBaseNameservers({ path }), ["192.0.2.53"]);
    // After install: the backup, not our file.
    await installResolvConf(OURS, { path });
    assert.deepEqual(await readBaseNameservers({ path }), ["192.0.2.53"]);
    await restoreResolvConf({ path });
    // Our own file with no backup (a lost backup) names nothing, rather than quad-100.
    await Deno.writeTextFile(path, OURS);
    assert.deepEqual(await readBaseNameservers({ path }), []);
    // A symlinked original (systemd-resolved): its target is read.
    await Deno.writeTextFile(`${dir}/stub.conf`, "nameserver 127.0.0.53\n");
    await Deno.remove(path);
    await Deno.symlink("stub.conf", path);
    await installResolvConf(OURS, { path });
    assert.deepEqual(await readBaseNameservers({ path }), ["127.0.0.53"]);
    await restoreResolvConf({ path });
  });
});
