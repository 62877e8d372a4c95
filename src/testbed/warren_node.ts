/**
 * A `warren tun up --wg-config` process inside a namespace, for the demo,
 * tests and benchmarks.
 *
 * @module
 */
import { type Netns, type RunResult, waitFor, warrenArgv } from "./netns.ts";

/** A running warren node. */
export class WarrenNode {
  /** The `warren tun up` process. */
  readonly proc: Deno.ChildProcess;
  /** Its namespace. */
  readonly ns: Netns;
  /** Its interface name. */
  readonly tun: string;
  #stderr: Promise<string>;

  private constructor(proc: Deno.ChildProcess, ns: Netns, tun: string) {
    this.proc = proc;
    this.ns = ns;
    this.tun = tun;
    this.#stderr = new Response(proc.stderr).text();
  }

  /**
   * Starts `warren tun up` in `ns` from the config text, with `env` added to its environment,
   * and waits until its LocalAPI answers.
   */
  static async start(
    ns: Netns,
    tun: string,
    configText: string,
    dir: string,
    extraArgs: string[] = [],
    env: Record<string, string> = {},
  ): Promise<WarrenNode> {
    const file = `${dir}/${tun}.conf`;
    await Deno.writeTextFile(file, configText, { mode: 0o600 });
    const setEnv = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const proc = ns.spawn(
      [
        ...(setEnv.length ? ["env", ...setEnv] : []),
        ...warrenArgv(),
        "tun",
        "up",
        "--wg-config",
        file,
        "--tun",
        tun,
        ...extraArgs,
      ],
      { stdout: "null" },
    );
    const node = new WarrenNode(proc, ns, tun);
    let exited = false;
    proc.status.then(() => exited = true);
    try {
      await waitFor(`warren ${tun} to come up`, async () => {
        if (exited) throw new Error(`warren ${tun} exited: ${await node.#stderr}`);
        return (await node.cli(["status"], false)).code === 0;
      }, 20_000);
    } catch (e) {
      await node.stop();
      throw e;
    }
    return node;
  }

  /** Runs `warren tun <args> --tun NAME` in the node's namespace. */
  cli(args: string[], check = true): Promise<RunResult> {
    return this.ns.exec([...warrenArgv(), "tun", ...args, "--tun", this.tun], { check });
  }

  /** Sends SIGTERM and waits for exit; returns the exit code and what it logged. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<{ code: number; log: string }> {
    try {
      this.proc.kill(signal);
    } catch {
      // already gone
    }
    const { code } = await this.proc.status;
    return { code, log: await this.#stderr };
  }

  /** The process's peak resident set size in KiB (VmHWM), while it runs. */
  async peakRssKiB(): Promise<number> {
    const st = await Deno.readTextFile(`/proc/${this.proc.pid}/status`);
    return Number(/VmHWM:\s+(\d+)/.exec(st)?.[1] ?? NaN);
  }
}
