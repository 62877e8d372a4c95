import assert from "node:assert/strict";
import { findDenoPid, parseProcStatus, readRss } from "./_rss.ts";

Deno.test("parseProcStatus reads VmRSS, VmHWM and RssAnon in KiB", () => {
  const text = "Name:\tdeno\nVmPeak:\t  999 kB\nVmHWM:\t   86016 kB\nVmRSS:\t   75000 kB\n" +
    "RssAnon:\t   30000 kB\nRssFile:\t   45000 kB\n";
  assert.deepEqual(parseProcStatus(text), { rssKiB: 75000, hwmKiB: 86016, anonKiB: 30000 });
});

Deno.test("parseProcStatus refuses a status without memory lines (a zombie)", () => {
  assert.throws(() => parseProcStatus("Name:\tdeno\nState:\tZ (zombie)\n"), /No VmRSS/);
});

Deno.test("readRss of this process is plausible and findDenoPid sees through a shell", async () => {
  const own = await readRss(Deno.pid);
  assert.ok(own.rssKiB > 1000 && own.hwmKiB >= own.rssKiB);
  assert.equal(await findDenoPid(Deno.pid), Deno.pid);
  // The shell must fork (a trailing command keeps it from exec'ing the last one).
  const child = new Deno.Command("sh", {
    args: ["-c", `"${Deno.execPath()}" eval "setTimeout(() => {}, 5000)"; true`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let found = -1;
  try {
    for (let i = 0; i < 100 && found < 0; i++) {
      found = await findDenoPid(child.pid).catch(() => -1);
      if (found < 0) await new Promise((r) => setTimeout(r, 50));
    }
    assert.notEqual(found, child.pid);
    assert.equal(await Deno.readLink(`/proc/${found}/exe`), Deno.execPath());
  } finally {
    if (found > 0) Deno.kill(found, "SIGKILL");
    await child.status;
  }
});
