/**
 * Top-level dispatch of `warren <command>`: finds the subcommand, runs it,
 * and turns expected failures into one line on stderr and an exit code.
 *
 * @module
 */
import { NodeNotRunningError } from "../daemon/local_api.ts";
import { EXIT_USAGE, UsageError } from "./usage.ts";

/** Top-level usage. */
export const HELP = `warren — a Tailscale-compatible mesh VPN node and DERP relay in one file

Usage:
  warren tun up [--auth-key KEY] [--control-url URL]   join a tailnet (foreground)
  warren tun up --wg-config FILE [--tun NAME]   run a plain WireGuard node (foreground)
  warren tun up --config FILE                   every network a config file names, one process
  warren tun install [--config FILE]            run that as a systemd service (uninstall: remove)
  warren tun status [--peers] [--routes] [--json]
  warren tun set [--hostname NAME] [...]        change a running node's settings live
  warren tun ping PEER                          disco ping: path and round trip
  warren tun netcheck                           UDP, NAT mapping and DERP latency report
  warren tun down                               stop the running node
  warren tun derp [--port 3340] [...]           run a DERP relay (with STUN)
  warren demo                                   a local tailnet and plain WireGuard in namespaces (root)

Run "warren tun <command> --help" for a command's options.`;

type Command = (argv: string[]) => Promise<number>;

// Each command's module is imported when it runs, not at start-up: a static import of all of
// them made every process load and compile the whole tree (the DERP server in a node, the node
// and the namespace test bed in the relay), about 6 MB of resident memory for code it never runs
// (`deno task bench:memory`). The specifiers stay literal so `deno compile` still embeds them.
const TUN_COMMANDS: Record<string, Command> = {
  up: async (a) => (await import("./up.ts")).upCommand(a),
  status: async (a) => (await import("./status.ts")).statusCommand(a),
  down: async (a) => (await import("./down.ts")).downCommand(a),
  set: async (a) => (await import("./set.ts")).setCommand(a),
  derp: async (a) => (await import("./derp.ts")).derpCommand(a),
  ping: async (a) => (await import("./ping.ts")).pingCommand(a),
  netcheck: async (a) => (await import("./netcheck.ts")).netcheckCommand(a),
  install: async (a) => (await import("./install.ts")).installCommand(a),
  uninstall: async (a) => (await import("./install.ts")).uninstallCommand(a),
};
const demoCommand: Command = async (a) => (await import("./demo.ts")).demoCommand(a);

/** Runs warren with `argv` (without the program name); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [first, second, ...rest] = argv;
  let name = first;
  let run: Command | undefined;
  let args = rest;
  if (first === "tun") {
    name = `tun ${second ?? ""}`.trim();
    run = second === undefined ? undefined : TUN_COMMANDS[second];
  } else if (first === "demo") {
    run = demoCommand;
    args = argv.slice(1);
  } else if (first === undefined || first === "help" || first === "--help" || first === "-h") {
    console.log(HELP);
    return first === undefined ? EXIT_USAGE : 0;
  }
  if (run === undefined) {
    console.error(`warren: unknown command "${name}"\n\n${HELP}`);
    return EXIT_USAGE;
  }
  try {
    return await run(args);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`warren ${name}: ${e.message}`);
      return EXIT_USAGE;
    }
    if (e instanceof NodeNotRunningError) {
      console.error(`warren ${name}: ${e.message}`);
      return 1;
    }
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`warren ${name}: ${msg}`);
    return 1;
  }
}
