/**
 * Network namespaces as throwaway test hosts for the demo, the interop tests
 * and the benchmarks: create them, wire them with veth, run commands inside,
 * and always remove them again.
 *
 * @module
 */

import { v8FlagsArg, WARREN_DENO_FLAGS } from "../cli/v8_flags.ts";

/** Output of a finished command. */
export interface RunResult {
  /** Exit code. */
  code: number;
  /** Standard output as text. */
  stdout: string;
  /** Standard error as text. */
  stderr: string;
}

/** Runs `cmd` to completion; throws with its stderr when `check` and it fails. */
export async function run(cmd: string[], opts: { check?: boolean } = {}): Promise<RunResult> {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const res = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if ((opts.check ?? true) && res.code !== 0) {
    throw new Error(`${cmd.join(" ")} failed (exit ${res.code}): ${res.stderr.trim()}`);
  }
  return res;
}

/** Why namespaces can't be used here, or null if they can. */
export async function namespaceSupport(): Promise<string | null> {
  if (Deno.build.os !== "linux") return "network namespaces need Linux";
  if (Deno.uid() !== 0) return "network namespaces and TUN devices need root";
  try {
    await run(["ip", "-V"]);
  } catch {
    return "the ip command (iproute2) is not installed";
  }
  try {
    Deno.statSync("/dev/net/tun");
  } catch {
    return "no /dev/net/tun";
  }
  return null;
}

/** A network namespace this process created. */
export class Netns {
  /** The namespace name. */
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /** Creates a namespace with loopback up. */
  static async create(prefix: string): Promise<Netns> {
    const name = `${prefix}-${crypto.randomUUID().slice(0, 6)}`;
    await run(["ip", "netns", "add", name]);
    const ns = new Netns(name);
    await ns.exec(["ip", "link", "set", "lo", "up"]);
    return ns;
  }

  /** The argv prefix that runs a command in this namespace. */
  wrap(cmd: string[]): string[] {
    return ["ip", "netns", "exec", this.name, ...cmd];
  }

  /** Runs a command in this namespace to completion. */
  exec(cmd: string[], opts: { check?: boolean } = {}): Promise<RunResult> {
    return run(this.wrap(cmd), opts);
  }

  /** Starts a long-running command in this namespace. */
  spawn(cmd: string[], opts: { stdout?: "piped" | "null" | "inherit" } = {}): Deno.ChildProcess {
    const argv = this.wrap(cmd);
    return new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: opts.stdout ?? "piped",
      stderr: "piped",
    }).spawn();
  }

  /** Deletes the namespace (and every interface in it). */
  async delete(): Promise<void> {
    await run(["ip", "netns", "del", this.name], { check: false });
  }
}

/** One end of a veth pair: namespace, interface name, addresses with prefix length. */
export interface VethEnd {
  /** The namespace this end lives in. */
  ns: Netns;
  /** Interface name (≤ 15 characters). */
  ifname: string;
  /** Addresses to put on it, e.g. "10.0.0.1/24"; IPv6 ones get no DAD so they work at once. */
  addrs: string[];
}

/** Creates a veth pair between two namespaces, addresses both ends and brings them up. */
export async function veth(a: VethEnd, b: VethEnd): Promise<void> {
  await run([
    "ip",
    "link",
    "add",
    a.ifname,
    "netns",
    a.ns.name,
    "type",
    "veth",
    "peer",
    b.ifname,
    "netns",
    b.ns.name,
  ]);
  for (const end of [a, b]) {
    for (const addr of end.addrs) {
      const nodad = addr.includes(":") ? ["nodad"] : [];
      await end.ns.exec(["ip", "addr", "add", addr, "dev", end.ifname, ...nodad]);
    }
    await end.ns.exec(["ip", "link", "set", end.ifname, "up"]);
  }
}

/**
 * Connects two namespaces with a veth pair carrying `a4`/`b4` (IPv4 /24) and
 * `a6`/`b6` (IPv6 /64).
 */
export async function linkPair(
  a: Netns,
  b: Netns,
  addrs: { a4: string; b4: string; a6: string; b6: string },
): Promise<void> {
  await veth(
    { ns: a, ifname: `va-${a.name.slice(-6)}`, addrs: [`${addrs.a4}/24`, `${addrs.a6}/64`] },
    { ns: b, ifname: `vb-${b.name.slice(-6)}`, addrs: [`${addrs.b4}/24`, `${addrs.b6}/64`] },
  );
}

/** A namespace's own resolv.conf (see {@link netnsResolvConf}). */
export interface NetnsResolvConf {
  /** The file on the host: /etc/netns/NAME/resolv.conf. */
  path: string;
  /** Deletes it (and /etc/netns, if this created it). */
  remove(): Promise<void>;
}

/**
 * Gives ns its own resolv.conf: `ip netns exec` (so every {@link Netns.exec}) bind-mounts
 * /etc/netns/NAME/resolv.conf over /etc/resolv.conf, much as a container runtime mounts one.
 */
export async function netnsResolvConf(ns: Netns, text: string): Promise<NetnsResolvConf> {
  const etcExisted = await Deno.stat("/etc/netns").then(() => true, () => false);
  const dir = `/etc/netns/${ns.name}`;
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/resolv.conf`;
  await Deno.writeTextFile(path, text);
  return {
    path,
    async remove() {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      if (!etcExisted) await Deno.remove("/etc/netns").catch(() => {});
    },
  };
}

/** Two linked namespaces, a scratch directory, and cleanups to run at the end. */
export interface LinkedPair {
  /** The first namespace: 10.241.0.1/24, fd00:241::1/64. */
  a: Netns;
  /** The second namespace: 10.241.0.2/24, fd00:241::2/64. */
  b: Netns;
  /** A scratch directory, removed at the end. */
  dir: string;
  /** Registers a cleanup; they run in reverse order, before the namespaces go. */
  defer(f: () => Promise<unknown>): void;
}

/**
 * Runs fn with two fresh namespaces joined by a veth pair (see {@link LinkedPair}), then runs
 * the deferred cleanups and deletes both namespaces and the directory, even when fn fails.
 */
export async function withLinkedPair(
  prefix: string,
  fn: (p: LinkedPair) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: `warren-${prefix}-` });
  const spaces: Netns[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const a = await Netns.create(`${prefix}-a`);
    spaces.push(a);
    const b = await Netns.create(`${prefix}-b`);
    spaces.push(b);
    await linkPair(a, b, {
      a4: "10.241.0.1",
      b4: "10.241.0.2",
      a6: "fd00:241::1",
      b6: "fd00:241::2",
    });
    await fn({ a, b, dir, defer: (f) => cleanups.push(f) });
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    for (const ns of spaces) await ns.delete();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * The argv that runs this warren (compiled binary, or `deno run` of main.ts). `main` runs
 * another entry point with deno instead of main.ts, such as a bundle of it
 * (`deno task bundle`); a compiled binary ignores it.
 */
export function warrenArgv(main?: string): string[] {
  const exe = Deno.execPath();
  if (/(^|\/)deno$/.test(exe)) {
    const entry = main ?? new URL("../../main.ts", import.meta.url).pathname;
    return [exe, "run", "-A", ...WARREN_DENO_FLAGS, v8FlagsArg(), entry];
  }
  return [exe];
}

/** Polls `probe` every 50 ms until it returns true or `ms` pass. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean> | boolean,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
}

/**
 * Reads a child's stdout up to its first newline (a server's "listening …" line) and lets go
 * of the stream, so the rest can still be read or cancelled; "" if it ends first.
 */
export async function firstLine(child: Deno.ChildProcess): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  return text;
}
