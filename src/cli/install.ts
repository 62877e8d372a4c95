/**
 * `warren tun install [--config FILE]` and `warren tun uninstall`: warren as
 * a systemd service. Install checks the config whole (a bad one is exit 2
 * and installs nothing), copies this binary to /usr/local/bin/warren, writes
 * the unit `src/config/systemd_unit.ts` derives from the config (only what
 * its networks need), creates the directories the sandboxed service may
 * write, and enables and starts it. Uninstall stops, disables and removes
 * the unit and the binary, and leaves the state directory — the node keys —
 * where it is. `--root DIR` does all of it inside an image or a test tree
 * (systemctl --root), without starting anything.
 *
 * @module
 */
import {
  INSTALL_BINARY,
  loadNetworksConfig,
  NetworksConfigError,
  SERVICE_STATE_DIR,
  systemdUnit,
  UNIT_NAME,
  UNIT_PATH,
  unitNeeds,
} from "../config/mod.ts";
import { parseFlags, UsageError } from "./usage.ts";

/** Usage text. */
export const INSTALL_HELP = `Usage: warren tun install [--config FILE] [--root DIR] [--binary FILE]
       warren tun uninstall [--root DIR]

install: checks FILE (default /etc/warren/networks.json; see "tun up --config"),
copies this binary to ${INSTALL_BINARY}, writes ${UNIT_PATH} running
"warren tun up --config FILE" with only the privileges its networks need, and
enables and starts it. uninstall stops, disables and removes both; the state
directory ${SERVICE_STATE_DIR} (the node keys) stays.

  --root DIR     install into the tree at DIR (an image); nothing is started
  --binary FILE  the warren binary to install (default: this executable)`;

const DEFAULT_CONFIG = "/etc/warren/networks.json";

/** Runs `tun install`; returns the exit code. */
export async function installCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    config: { type: "string" },
    root: { type: "string" },
    binary: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(INSTALL_HELP);
    return 0;
  }
  const root = (values.root ?? "").replace(/\/+$/, "");
  const file = values.config ?? DEFAULT_CONFIG;
  if (!file.startsWith("/")) {
    throw new UsageError(`--config ${file}: give an absolute path (the service reads it later)`);
  }
  let config;
  try {
    config = loadNetworksConfig(file, {
      readText: (p) => Deno.readTextFileSync(root + p),
      stateRoot: SERVICE_STATE_DIR,
    });
  } catch (e) {
    if (e instanceof NetworksConfigError) throw new UsageError(e.message);
    throw e;
  }
  let unit: string, writes: string[];
  try {
    unit = systemdUnit({ configFile: file, config });
    writes = unitNeeds(file, config).writes;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const binary = values.binary ?? Deno.execPath();
  if (values.binary === undefined && /(^|\/)deno$/.test(binary)) {
    throw new UsageError(
      "running from source: install needs the compiled binary (deno task compile, then ./warren tun install) or --binary FILE",
    );
  }
  await Deno.mkdir(`${root}/usr/local/bin`, { recursive: true });
  await Deno.copyFile(binary, `${root}${INSTALL_BINARY}.new`);
  await Deno.chmod(`${root}${INSTALL_BINARY}.new`, 0o755);
  await Deno.rename(`${root}${INSTALL_BINARY}.new`, `${root}${INSTALL_BINARY}`);
  await Deno.mkdir(`${root}/etc/systemd/system`, { recursive: true });
  await Deno.writeTextFile(`${root}${UNIT_PATH}`, unit);
  for (const dir of writes) await Deno.mkdir(`${root}${dir}`, { recursive: true, mode: 0o700 });
  if (root) {
    await systemctl(["--root", root, "enable", UNIT_NAME]);
    console.log(`installed ${UNIT_NAME} in ${root} (enabled; starts when that system boots)`);
  } else {
    await systemctl(["daemon-reload"]);
    await systemctl(["enable", "--now", UNIT_NAME]);
    console.log(`installed and started ${UNIT_NAME}: warren tun up --config ${file}`);
  }
  return 0;
}

/** Runs `tun uninstall`; returns the exit code. */
export async function uninstallCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    root: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(INSTALL_HELP);
    return 0;
  }
  const root = (values.root ?? "").replace(/\/+$/, "");
  const there = await Deno.stat(`${root}${UNIT_PATH}`).then(() => true, () => false);
  if (!there) throw new Error(`${UNIT_NAME} is not installed (no ${root}${UNIT_PATH})`);
  await systemctl(root ? ["--root", root, "disable", UNIT_NAME] : ["disable", "--now", UNIT_NAME]);
  await Deno.remove(`${root}${UNIT_PATH}`);
  await Deno.remove(`${root}${INSTALL_BINARY}`).catch(() => {});
  if (!root) await systemctl(["daemon-reload"]);
  console.log(`removed ${UNIT_NAME} and ${INSTALL_BINARY}; ${SERVICE_STATE_DIR} (node keys) kept`);
  return 0;
}

async function systemctl(args: string[]): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("systemctl", { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    throw new Error(`cannot run systemctl: ${e instanceof Error ? e.message : e}`);
  }
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    throw new Error(`systemctl ${args.join(" ")} failed: ${why}`);
  }
}
