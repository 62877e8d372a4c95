import assert from "node:assert/strict";
import { parseSmaps, smapsBreakdown, smapsCategory } from "./_smaps.ts";

const EXE = "/usr/bin/deno";
const SMAPS = [
  `55d0c0000000-55d0c0400000 r--p 00000000 08:01 7 ${EXE}`,
  "Rss:                1024 kB",
  "Anonymous:             0 kB",
  `55d0c0400000-55d0c0c00000 r-xp 00400000 08:01 7 ${EXE}`,
  "Rss:                2048 kB",
  "Anonymous:             0 kB",
  `55d0c0c00000-55d0c0d00000 rw-p 00c00000 08:01 7 ${EXE}`,
  "Rss:                 512 kB",
  "Anonymous:           512 kB",
  "55d0c1000000-55d0c1800000 rw-p 00000000 00:00 0 [heap]",
  "Rss:                4096 kB",
  "Anonymous:          4096 kB",
  "7f0000000000-7f0000040000 rw-p 00000000 00:00 0 ",
  "Rss:                 256 kB",
  "Anonymous:           256 kB",
  "7f0000100000-7f0000200000 r-xp 00000000 08:01 9 /usr/lib/libc.so.6",
  "Rss:                 300 kB",
  "Anonymous:             0 kB",
].join("\n");

Deno.test("parseSmaps reads each mapping's size, permissions, path, Rss and Anonymous", () => {
  const maps = parseSmaps(SMAPS);
  assert.equal(maps.length, 6);
  assert.deepEqual(maps[3], {
    start: "55d0c1000000",
    sizeKiB: 8192,
    perms: "rw-p",
    path: "[heap]",
    rssKiB: 4096,
    anonKiB: 4096,
  });
  assert.equal(maps[4].path, "");
});

Deno.test("smapsCategory splits the executable from malloc, anonymous memory and libraries", () => {
  const cats = parseSmaps(SMAPS).map((e) => smapsCategory(e, EXE));
  assert.deepEqual(cats, [
    "exe rodata",
    "exe text",
    "exe data (rw, relro)",
    "malloc main heap",
    "anon",
    "libs",
  ]);
});

Deno.test("smapsBreakdown of this process sums to about its VmRSS", async () => {
  const by = await smapsBreakdown(Deno.pid);
  const total = [...by.values()].reduce((a, b) => a + b, 0);
  const status = await Deno.readTextFile("/proc/self/status");
  const rss = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]);
  assert.ok((by.get("exe text") ?? 0) > 1024, "some of deno's text is resident");
  assert.ok(Math.abs(total - rss) < rss * 0.2, `smaps ${total} KiB against VmRSS ${rss} KiB`);
});
