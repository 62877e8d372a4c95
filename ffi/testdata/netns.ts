/**
 * Test helpers: throwaway network namespaces, `ip -j` queries inside them, and a handle on
 * `driver.ts` running in one.
 *
 * @module
 */

import { cString, fail, libc, O_CLOEXEC } from "../libc.ts";

const DRIVER = new URL("./driver.ts", import.meta.url).pathname;

/** Why a test that needs root cannot run here, or null if it can. */
export function needsRoot(): string | null {
  return Deno.uid() === 0 ? null : "needs root (network namespaces and /dev/net/tun)";
}

/** Runs a command to completion; returns exit code and output. */
export async function run(
  cmd: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Creates `warren-t-<random>`, runs `fn` with its name, and deletes it afterwards. */
export async function withNetns(fn: (ns: string) => Promise<void>): Promise<void> {
  const ns = `warren-t-${crypto.randomUUID().slice(0, 8)}`;
  const add = await run(["ip", "netns", "add", ns]);
  if (add.code !== 0) throw new Error(`Cannot create netns ${ns}: ${add.stderr.trim()}`);
  try {
    await fn(ns);
  } finally {
    await run(["ip", "netns", "del", ns]);
  }
}

/**
 * Runs `code` with `deno eval` inside `ns` (a netlink socket belongs to the namespace of the
 * process that opens it) and parses the JSON it prints; throws with its stderr if it fails.
 */
export async function evalJsonInNetns(ns: string, code: string): Promise<unknown> {
  const r = await run(["ip", "netns", "exec", ns, Deno.execPath(), "eval", code]);
  if (r.code !== 0) throw new Error(`deno eval in ${ns} exited ${r.code}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout);
}

/** `ip -j <args>` inside `ns`, parsed; throws with ip's message if it fails. */
export async function ipJson(ns: string, ...args: string[]): Promise<unknown> {
  const r = await run(["ip", "netns", "exec", ns, "ip", "-j", ...args]);
  if (r.code !== 0) throw new Error(`ip ${args.join(" ")} failed: ${r.stderr.trim()}`);
  return r.stdout.trim() === "" ? [] : JSON.parse(r.stdout);
}

/** One reply from the driver. */
export interface Reply {
  /** Whether the command succeeded; when false, `error` says why. */
  ok: boolean;
  /** The command's return value (`null` when it returned nothing); set only on success. */
  result?: unknown;
  /** The thrown error's message; set only on failure. */
  error?: string;
  /** The errno, when the failure was a `SysError`. */
  errno?: number;
  /** The errno's symbolic name (such as `"EPERM"`), when the failure was a `SysError`. */
  code?: string;
  /** The libc call that failed, when the failure was a `SysError`. */
  syscall?: string;
}

/** `driver.ts` running in a namespace (optionally behind a prefix such as setpriv). */
export class Driver {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;
  #stderr: Promise<string>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = lines(child.stdout)[Symbol.asyncIterator]();
    this.#stderr = new Response(child.stderr).text();
  }

  /** Starts the driver inside `ns`. */
  static start(ns: string, prefix: string[] = [], env?: Record<string, string>): Driver {
    const args = ["netns", "exec", ns, ...prefix, Deno.execPath(), "run", "-A", DRIVER];
    const child = new Deno.Command("ip", {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env,
    }).spawn();
    return new Driver(child);
  }

  /** Sends one command and waits (at most `timeoutMs`) for its reply. */
  async call(op: string, args: Record<string, unknown> = {}, timeoutMs = 20000): Promise<Reply> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify({ op, ...args }) + "\n"));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`driver op ${op} timed out`)), timeoutMs);
    });
    try {
      const next = await Promise.race([this.#lines.next(), timeout]);
      if (next.done) throw new Error(`driver exited during ${op}: ${await this.#stderr}`);
      return JSON.parse(next.value) as Reply;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Like {@link call} but throws unless the driver reports success. */
  async ok(op: string, args: Record<string, unknown> = {}, timeoutMs?: number): Promise<unknown> {
    const r = await this.call(op, args, timeoutMs);
    if (!r.ok) throw new Error(`driver op ${op} failed: ${r.error}`);
    return r.result;
  }

  /** Closes stdin (the driver closes its devices and exits) and waits for it. */
  async stop(): Promise<number> {
    try {
      await this.#writer.close();
    } catch {
      // already closed
    }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 10000);
    try {
      while (!(await this.#lines.next()).done) { /* drain */ }
      await this.#stderr;
      return (await this.#child.status).code;
    } finally {
      clearTimeout(timer);
    }
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncIterable<string> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, nl);
      pending = pending.slice(nl + 1);
    }
  }
  if (pending !== "") yield pending;
}

const CLONE_NEWNET = 0x40000000;

/**
 * Runs `fn` with this thread in network namespace `ns` (one `ip netns add` made), then moves it
 * back: sockets `fn` opens stay in `ns`. All FFI calls run on this thread, so sync code only.
 */
export function inNetns<T>(ns: string, fn: () => T): T {
  const c = libc();
  const home = c.open(cString("/proc/thread-self/ns/net"), O_CLOEXEC, 0);
  if (home < 0) fail("Cannot open this thread's netns", "open");
  try {
    const there = c.open(cString(`/run/netns/${ns}`), O_CLOEXEC, 0);
    if (there < 0) fail(`Cannot open netns ${ns}`, "open");
    try {
      if (c.setns(there, CLONE_NEWNET) < 0) fail(`Cannot enter netns ${ns}`, "setns");
    } finally {
      c.close(there);
    }
    try {
      return fn();
    } finally {
      if (c.setns(home, CLONE_NEWNET) < 0) fail("Cannot return to this thread's netns", "setns");
    }
  } finally {
    c.close(home);
  }
}
