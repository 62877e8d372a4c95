/**
 * Running a test's warren with less than root: without `CAP_NET_ADMIN`, or
 * as an unprivileged user, through `setpriv` (util-linux) as a command
 * prefix. An unprivileged Deno needs a cache directory of its own (root's
 * is under /root), seeded with the npm packages so it never downloads.
 *
 * @module
 */
import { run } from "./netns.ts";

/** CAP_NET_ADMIN's bit in the capability sets. */
export const CAP_NET_ADMIN = 12;

/** A prefix that runs a command as root but with CAP_NET_ADMIN gone from every set. */
export const WITHOUT_NET_ADMIN: readonly string[] = [
  "setpriv",
  "--bounding-set=-net_admin",
  "--inh-caps=-net_admin",
  "--ambient-caps=-net_admin",
];

/** A scratch home for an unprivileged user and the prefix that runs commands as that user. */
export interface Unprivileged extends AsyncDisposable {
  /** `setpriv` to the user, then `env` with HOME, DENO_DIR and XDG_RUNTIME_DIR in the scratch home. */
  readonly wrapper: string[];
  /** The scratch home (the user owns it). */
  readonly home: string;
  /** The user's XDG_RUNTIME_DIR, where its nodes put their LocalAPI sockets. */
  readonly runtimeDir: string;
}

/**
 * Makes a scratch home owned by `uid` (default nobody) with a Deno cache
 * holding this process's npm packages, and returns the prefix that runs
 * a command as that user with no supplementary groups. Removed on dispose.
 */
export async function unprivileged(uid = 65534, gid = uid): Promise<Unprivileged> {
  const home = await Deno.makeTempDir({ prefix: "warren-user-" });
  await Deno.chmod(home, 0o755);
  const denoDir = `${home}/deno`;
  const runtimeDir = `${home}/run`;
  await Deno.mkdir(denoDir);
  await Deno.mkdir(runtimeDir, { mode: 0o700 });
  const info = JSON.parse((await run([Deno.execPath(), "info", "--json"])).stdout);
  const npm = `${info.denoDir}/npm`;
  try {
    await Deno.stat(npm);
    await run(["cp", "-r", npm, `${denoDir}/npm`]);
  } catch {
    // No npm cache (a compiled warren needs none).
  }
  await run(["chown", "-R", `${uid}:${gid}`, home]);
  return {
    home,
    runtimeDir,
    wrapper: [
      "setpriv",
      `--reuid=${uid}`,
      `--regid=${gid}`,
      "--clear-groups",
      "env",
      `HOME=${home}`,
      `DENO_DIR=${denoDir}`,
      `XDG_RUNTIME_DIR=${runtimeDir}`,
    ],
    async [Symbol.asyncDispose]() {
      await Deno.remove(home, { recursive: true }).catch(() => {});
    },
  };
}

/** A process's user id and effective capabilities, from /proc. */
export async function processCredentials(pid: number): Promise<{ uid: number; capEff: bigint }> {
  const st = await Deno.readTextFile(`/proc/${pid}/status`);
  const uid = Number(/^Uid:\s+(\d+)/m.exec(st)?.[1] ?? NaN);
  const cap = /^CapEff:\s+([0-9a-f]+)/m.exec(st)?.[1];
  if (cap === undefined) throw new Error(`No CapEff in /proc/${pid}/status`);
  return { uid, capEff: BigInt(`0x${cap}`) };
}

/** Whether a capability set (as {@linkcode processCredentials} reads it) holds capability `bit`. */
export function hasCap(set: bigint, bit: number): boolean {
  return (set >> BigInt(bit) & 1n) === 1n;
}
