/**
 * Builds the one-entry bundle of main.ts that deno.json's `bundle` task makes (esbuild
 * through `deno bundle`, commands split into chunks loaded when they run), into a directory
 * of the caller's, so benchmarks and tests run the same build as the task.
 *
 * A node run from the bundle loads a few dozen chunks instead of ~190 modules, and Deno's
 * per-module records, kept for the process's life, go with them (`deno task bench:memory
 * --only bundle`).
 *
 * @module
 */
import { run } from "./netns.ts";

const ROOT = new URL("../../", import.meta.url);

/** The words of deno.json's `bundle` task with its `--outdir` pointed at `outdir`. */
export async function bundleCommand(outdir: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const words = String(config.tasks.bundle).split(/\s+/);
  const at = words.indexOf("--outdir");
  if (words[0] !== "deno" || at < 0) {
    throw new Error(`deno.json's bundle task is not a deno bundle --outdir command`);
  }
  words[at + 1] = outdir;
  return [Deno.execPath(), ...words.slice(1).map((w) => w.endsWith(".ts") ? ROOT.pathname + w : w)];
}

/** Runs the bundle task into `outdir`; returns the path of the entry module to run. */
export async function bundleWarren(outdir: string): Promise<string> {
  await run(await bundleCommand(outdir));
  return `${outdir}/main.js`;
}
