/**
 * Top-level dispatch of `warren <command>`: finds the subcommand, runs it,
 * and turns expected failures into one line on stderr and an exit code.
 *
 * @module
 */
import { NodeNotRunningError } from "../daemon/local_api.ts";
import { demoCommand } from "./demo.ts";
import { derpCommand } from "./derp.ts";
import { downCommand } from "./down.ts";
import { installCommand, uninstallCommand } from "./install.ts";
import { netcheckCommand } from "./netcheck.ts";
import { pingCommand } from "./ping.ts";
import { statusCommand } from "./status.ts";
import { upCommand } from "./up.ts";
import { EXIT_USAGE, UsageError } from "./usage.ts";

/** Top-level usage. */
export const HELP = `warren — a Tailscale-compatible mesh VPN node and DERP relay in one file

Usage:
  warren tun up [--auth-key KEY] [--control-url URL]   join a tailnet (foreground)
  warren tun up --wg-config FILE [--tun NAME]   run a plain WireGuard node (foreground)
  warren tun up --config FILE                   every network a config file names, one process
  warren tun install [--config FILE]            run that as a systemd service (uninstall: remove)
  warren tun status [--peers] [--routes] [--json]
  warren tun ping PEER                          disco ping: path and round trip
  warren tun netcheck                           UDP, NAT mapping and DERP latency report
  warren tun down                               stop the running node
  warren tun derp [--port 3340] [...]           run a DERP relay (with STUN)
  warren demo                                   a local tailnet and plain WireGuard in namespaces (root)

Run "warren tun <command> --help" for a command's options.`;

type Command = (argv: string[]) => Promise<number>;

const TUN_COMMANDS: Record<string, Command> = {
  up: upCommand,
  status: statusCommand,
  down: downCommand,
  derp: derpCommand,
  ping: pingCommand,
  netcheck: netcheckCommand,
  install: installCommand,
  uninstall: uninstallCommand,
};

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
