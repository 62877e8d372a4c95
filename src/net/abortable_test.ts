import assert from "node:assert/strict";
import { closeOnAbort, deadline, raceAbort } from "./abortable.ts";

Deno.test("raceAbort() closes a connection that completes just after the deadline fired", async () => {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const ctl = new AbortController();
    const connecting = Deno.connect({
      hostname: "127.0.0.1",
      port: (ln.addr as Deno.NetAddr).port,
    });
    const waited = raceAbort(connecting, ctl.signal);
    ctl.abort(new Error("deadline"));
    await assert.rejects(waited, /deadline/);
    // The connect itself still completes; the server must then see it closed, not held open.
    const server = await ln.accept();
    const n = await server.read(new Uint8Array(8)).catch(() => null);
    server.close();
    assert.equal(n, null);
  } finally {
    ln.close();
  }
});

Deno.test("raceAbort() hands a value that arrives after an abort to dispose", async () => {
  const ctl = new AbortController();
  let resolve!: (v: string) => void;
  const disposed: string[] = [];
  const waited = raceAbort(new Promise<string>((r) => resolve = r), ctl.signal, (v) => {
    disposed.push(v);
  });
  ctl.abort(new Error("gone"));
  await assert.rejects(waited, /gone/);
  resolve("late");
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual(disposed, ["late"]);
});

Deno.test("raceAbort() passes a value through and disposes nothing when in time", async () => {
  const disposed: number[] = [];
  const v = await raceAbort(Promise.resolve(7), new AbortController().signal, (x) => {
    disposed.push(x);
  });
  assert.equal(v, 7);
  assert.deepEqual(disposed, []);
});

Deno.test("deadline() aborts when its parent does, and says whether its own timer fired", () => {
  const parent = new AbortController();
  using d = deadline(60_000, parent.signal);
  assert.equal(d.signal.aborted, false);
  parent.abort(new Error("parent"));
  assert.equal(d.signal.aborted, true);
  assert.equal(d.expired, false);
});

Deno.test("closeOnAbort() closes while held and not after release", () => {
  const ctl = new AbortController();
  let closed = 0;
  const c = { close: () => void closed++ };
  {
    using _ = closeOnAbort(c, ctl.signal);
  }
  ctl.abort();
  assert.equal(closed, 0);
  const ctl2 = new AbortController();
  using _g = closeOnAbort(c, ctl2.signal);
  ctl2.abort();
  assert.equal(closed, 1);
});
