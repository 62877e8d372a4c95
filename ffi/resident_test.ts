import assert from "node:assert/strict";
import { releasableMappings, releaseStartupPages } from "./resident.ts";

const SMAPS = [
  "55d0a0000000-55d0a1000000 r--p 00000000 08:01 1234 /usr/bin/deno",
  "Rss:                1024 kB",
  "Anonymous:             0 kB",
  "Locked:                0 kB",
  "55d0a1000000-55d0a3000000 r-xp 01000000 08:01 1234 /usr/bin/deno",
  "Rss:                8192 kB",
  "Anonymous:             0 kB",
  "Locked:                0 kB",
  // Relocated RELRO: a private copy that madvise would throw away.
  "55d0a3000000-55d0a3001000 r--p 03000000 08:01 1234 /usr/bin/deno",
  "Rss:                   4 kB",
  "Anonymous:             4 kB",
  "Locked:                0 kB",
  "55d0a3001000-55d0a3100000 rw-p 03001000 08:01 1234 /usr/bin/deno",
  "Rss:                 900 kB",
  "Anonymous:           900 kB",
  "Locked:                0 kB",
  "55d0a4000000-55d0a5000000 rw-p 00000000 00:00 0 [heap]",
  "Rss:                4096 kB",
  "Anonymous:          4096 kB",
  "Locked:                0 kB",
  "7f0000000000-7f0000001000 r-xp 00000000 00:00 0 ",
  "Rss:                   4 kB",
  "Anonymous:             4 kB",
  "Locked:                0 kB",
  "7f0000100000-7f0000200000 r-xp 00000000 08:01 99 /usr/lib/libc.so.6",
  "Rss:                 700 kB",
  "Anonymous:             0 kB",
  "Locked:              700 kB",
  "7f0000300000-7f0000400000 r--s 00000000 08:01 77 /root/.cache/deno/v8_code_cache_v2",
  "Rss:                 300 kB",
  "Anonymous:             0 kB",
  "Locked:                0 kB",
  "7ffff7ff0000-7ffff7ff2000 r-xp 00000000 00:00 0 [vdso]",
  "Rss:                   8 kB",
  "Anonymous:             0 kB",
  "Locked:                0 kB",
  "",
].join("\n");

Deno.test("releasableMappings: only clean read-only file mappings, never a written or locked one", () => {
  assert.deepEqual(
    releasableMappings(SMAPS).map((m) => [m.start.toString(16), m.path, m.rssKiB]),
    [
      ["55d0a0000000", "/usr/bin/deno", 1024],
      ["55d0a1000000", "/usr/bin/deno", 8192],
      ["7f0000300000", "/root/.cache/deno/v8_code_cache_v2", 300],
    ],
  );
});

const residentKiB = () =>
  releasableMappings(Deno.readTextFileSync("/proc/self/smaps"))
    .filter((m) => m.path === Deno.execPath())
    .reduce((sum, m) => sum + m.rssKiB, 0);

Deno.test("releaseStartupPages: the runtime's pages leave this process, and it runs on", () => {
  const before = residentKiB();
  const report = releaseStartupPages();
  const after = residentKiB();
  assert.ok(report.mappings > 0 && report.filePagesKiB >= before, JSON.stringify(report));
  assert.ok(after < before / 2, `deno's resident pages ${before} KiB -> ${after} KiB`);
  // Code that was resident before runs again from the page cache.
  assert.equal(JSON.stringify({ a: [1, 2] }), '{"a":[1,2]}');
  assert.ok(residentKiB() > 0);
});

Deno.test("releaseStartupPages: collect runs once, after smaps is read and before the drop", () => {
  let calls = 0, residentAtCollect = 0;
  releaseStartupPages(() => {
    calls++;
    residentAtCollect = residentKiB();
  });
  assert.equal(calls, 1);
  // Nothing was dropped yet when it ran: the binary's pages were still resident.
  assert.ok(residentAtCollect > 0);
});
