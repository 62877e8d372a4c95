import assert from "node:assert/strict";

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/** The modules `entry` loads before it runs: its static import closure, per `deno info`. */
async function staticClosure(entry: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(entry, import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const mods = new Map<string, InfoModule>();
  for (const m of JSON.parse(new TextDecoder().decode(out.stdout)).modules as InfoModule[]) {
    mods.set(m.specifier, m);
  }
  const seen = new Set<string>();
  const walk = (spec: string) => {
    if (seen.has(spec)) return;
    seen.add(spec);
    for (const d of mods.get(spec)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) walk(d.code.specifier);
    }
  };
  walk(new URL(entry, import.meta.url).href);
  return seen;
}

Deno.test("start-up loads no command's module: each is imported when it runs", async () => {
  const loaded = [...await staticClosure("../../main.ts")].map((s) =>
    s.replace(/^.*\/src\//, "src/")
  );
  // A node must not compile the relay or the test bed, nor the relay the node.
  for (
    const heavy of ["src/cli/up.ts", "src/cli/derp.ts", "src/cli/demo.ts", "src/derp/server.ts"]
  ) {
    assert.ok(!loaded.includes(heavy), `main.ts statically loads ${heavy}`);
  }
  assert.ok(!loaded.some((s) => s.startsWith("src/testbed/")), "main.ts loads the test bed");
  assert.ok(loaded.length < 10, `main.ts statically loads ${loaded.length} modules`);
});

Deno.test("no command loads an npm package (npm's module machinery alone costs RSS)", async () => {
  for (const cmd of ["./up.ts", "./derp.ts", "./status.ts"]) {
    const npm = [...await staticClosure(cmd)].filter((s) => s.startsWith("npm:"));
    assert.deepEqual(npm, [], `${cmd} loads ${npm.join(", ")}`);
  }
});
