/**
 * Helpers of the userspace-networking end-to-end tests: a node's address by
 * family, the body server (tests/testdata/http_body_server.ts) in a
 * namespace, and curl piped through sha256sum.
 *
 * @module
 */
import assert from "node:assert/strict";
import { namespaceSupport, type Netns, run } from "../src/testbed/netns.ts";
import type { Tailnet } from "../src/testbed/tailnet.ts";

const SERVER = new URL("./testdata/http_body_server.ts", import.meta.url).pathname;
const UDP_ECHO = new URL("./testdata/udp_echo.ts", import.meta.url).pathname;

/** tailscaled's `--tun` value for warren's own stack. */
export const USERSPACE = "userspace-networking";

/** Why the userspace end-to-end tests cannot run here (no namespaces, curl, setpriv), or null. */
export async function userspaceSkip(): Promise<string | null> {
  return (await namespaceSupport()) ??
    ((await run(["sh", "-c", "command -v curl && command -v setpriv && command -v sha256sum"], {
        check: false,
      })).code !== 0
      ? "curl, setpriv (util-linux) or sha256sum is not installed"
      : null);
}

/** Stops a helper process started with `Netns.spawn` and releases its pipes. */
export async function stopChild(child: Deno.ChildProcess): Promise<void> {
  child.kill("SIGTERM");
  await child.status;
  await child.stdout.cancel().catch(() => {});
  await child.stderr.cancel().catch(() => {});
}

/** Starts tests/testdata/udp_echo.ts in `ns` on `listen` (`host:port`); resolves once bound. */
export async function startUdpEcho(ns: Netns, listen: string): Promise<{ stop(): Promise<void> }> {
  const echo = ns.spawn([Deno.execPath(), "run", "-A", UDP_ECHO, listen]);
  const er = echo.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = (await er.read()).value ?? "";
  er.releaseLock();
  if (!/listening/.test(first)) {
    await stopChild(echo);
    throw new Error(`UDP echo did not start: ${first}`);
  }
  return { stop: () => stopChild(echo) };
}

/** A node's status as `tun status --json` gives it. */
export type Status = Awaited<ReturnType<Tailnet["status"]>>;

/** The node's tailnet address of family `v`, without the prefix length. */
export const addrOf = (st: Status, v: 4 | 6): string =>
  (st.addresses as string[]).find((a) => (v === 4) !== a.includes(":"))!.split("/")[0];

/** A running body server. */
export interface BodyServer {
  /** SHA-256 (hex) of the body `GET /body` answers. */
  sha: string;
  /** Stops it. */
  stop(): Promise<void>;
}

/**
 * Starts the body server in `ns` on each of `listen` (`host:port`); `bytes`
 * sets the body size (default the server's 20 MiB).
 */
export async function startServer(
  ns: Netns,
  listen: string[],
  bytes?: number,
): Promise<BodyServer> {
  const env = bytes === undefined ? [] : ["env", `WARREN_BODY_BYTES=${bytes}`];
  const child = ns.spawn([...env, Deno.execPath(), "run", "-A", SERVER, ...listen]);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`body server exited: ${await new Response(child.stderr).text()}`);
    text += value;
  }
  reader.releaseLock();
  const m = /^listening ([0-9a-f]{64})/.exec(text);
  assert.ok(m, text);
  return {
    sha: m[1],
    stop: () => stopChild(child),
  };
}

/** Runs curl in `ns` with `args`, piping the body through sha256sum; returns "<sha>" and seconds. */
export async function curlSha(
  ns: Netns,
  args: string[],
): Promise<{ sha: string; seconds: number }> {
  const quoted = args.map((a) => `'${a}'`).join(" ");
  const t0 = performance.now();
  const r = await ns.exec(
    ["bash", "-c", `set -o pipefail; curl -sS --fail --max-time 120 ${quoted} | sha256sum`],
    { check: false },
  );
  const seconds = (performance.now() - t0) / 1000;
  assert.equal(r.code, 0, `curl ${args.join(" ")}: ${r.stderr}`);
  return { sha: r.stdout.split(" ")[0], seconds };
}
