import assert from "node:assert/strict";
import { releasableMappings } from "../../ffi/resident.ts";
import { scheduleStartupRelease } from "./release_startup.ts";

const denoResidentKiB = () =>
  releasableMappings(Deno.readTextFileSync("/proc/self/smaps"))
    .filter((m) => m.path === Deno.execPath())
    .reduce((sum, m) => sum + m.rssKiB, 0);
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("scheduleStartupRelease: the timer releases the runtime's start-up pages", async () => {
  const before = denoResidentKiB();
  const lines: string[] = [];
  const cancel = scheduleStartupRelease((l) => lines.push(l), 0);
  await tick(50);
  cancel();
  assert.deepEqual(lines, []);
  assert.ok(denoResidentKiB() < before / 2, `${before} KiB before`);
});

Deno.test({
  name: "scheduleStartupRelease: a cancelled release never runs",
  // Without FFI a release that ran would log its failure.
  permissions: { read: true, env: true, ffi: false },
  fn: async () => {
    const lines: string[] = [];
    scheduleStartupRelease((l) => lines.push(l), 10)();
    await tick(50);
    assert.deepEqual(lines, []);
  },
});

Deno.test({
  name: "scheduleStartupRelease: without FFI it logs why, once, and the node runs on",
  permissions: { read: true, env: true, ffi: false },
  fn: async () => {
    const lines: string[] = [];
    const cancel = scheduleStartupRelease((l) => lines.push(l), 0);
    await tick(50);
    cancel();
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^cannot release start-up memory: /);
  },
});
