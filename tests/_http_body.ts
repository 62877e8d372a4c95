/**
 * Test support around tests/testdata/http_body_server.ts: start it in a
 * namespace, and fetch through curl there with the body checksummed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { namespaceSupport, type Netns, run } from "../src/testbed/netns.ts";

const SERVER = new URL("./testdata/http_body_server.ts", import.meta.url).pathname;

/** A running body server. */
export interface BodyServer {
  /** SHA-256 (hex) of what `GET /body` answers. */
  sha: string;
  /** Stops it. */
  stop(): Promise<void>;
}

/**
 * Starts the body server in `ns` on each `HOST:PORT` of `listen`, serving
 * `bytes` (default the server's 20 MiB); resolves once it listens.
 */
export async function startBodyServer(
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
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await child.stdout.cancel().catch(() => {});
      await child.stderr.cancel().catch(() => {});
    },
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

/** Why a test driving curl in namespaces cannot run here, or null when it can. */
export async function curlTestSkip(): Promise<string | null> {
  return (await namespaceSupport()) ??
    ((await run(["sh", "-c", "command -v curl && command -v setpriv && command -v sha256sum"], {
        check: false,
      })).code !== 0
      ? "curl, setpriv (util-linux) or sha256sum is not installed"
      : null);
}
