/**
 * Bulk HTTP transfers for the end-to-end tests and benchmarks: the body
 * server (tests/testdata/http_body_server.ts) in a namespace, and curl in
 * another fetching from it with the body piped through a SHA-256 (openssl's,
 * several times sha256sum's speed, where it is installed), so a download is
 * checked without holding it and the check is not what limits its speed.
 *
 * @module
 */
import { toHex } from "../bytes/hex.ts";
import { mulberry32 } from "../testing/prng.ts";
import { firstLine, type Netns } from "./netns.ts";

const SERVER = new URL("../../tests/testdata/http_body_server.ts", import.meta.url).pathname;

/** A running body server. */
export interface BodyServer {
  /** SHA-256 (hex) of the body `GET /body` answers. */
  readonly sha: string;
  /** Stops the server. */
  stop(): Promise<void>;
}

/**
 * Starts the body server in `ns` on each `HOST:PORT` of `listen`, serving
 * `bytes` pseudo-random bytes (default the server's 20 MiB); resolves once
 * it listens.
 *
 * @throws {Error} if the server exits first
 */
export async function startBodyServer(
  ns: Netns,
  listen: string[],
  bytes?: number,
): Promise<BodyServer> {
  const env = bytes === undefined ? [] : ["env", `WARREN_BODY_BYTES=${bytes}`];
  const child = ns.spawn([...env, Deno.execPath(), "run", "-A", SERVER, ...listen]);
  const text = await firstLine(child);
  if (!text.includes("\n")) {
    throw new Error(`body server exited: ${await new Response(child.stderr).text()}`);
  }
  const m = /^listening ([0-9a-f]{64})/.exec(text);
  if (!m) throw new Error(`body server said: ${text}`);
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

/** What {@linkcode curlSha} fetched. */
export interface CurlResult {
  /** SHA-256 (hex) of the body. */
  sha: string;
  /** Body bytes. */
  bytes: number;
  /** curl's own time for the whole transfer (connect to last byte), in seconds. */
  seconds: number;
}

/**
 * Runs curl in `ns` with `args` (`--fail`, at most `maxSeconds`), the body
 * piped through a SHA-256.
 *
 * @throws {Error} if curl fails
 */
export async function curlSha(ns: Netns, args: string[], maxSeconds = 120): Promise<CurlResult> {
  const quoted = args.map((a) => `'${a}'`).join(" ");
  const r = await ns.exec([
    "bash",
    "-c",
    "set -o pipefail; curl -sS --fail --max-time " + maxSeconds +
    ` -w '%{stderr}curl-stat %{size_download} %{time_total}\\n' ${quoted} | ` +
    "{ if command -v openssl >/dev/null; then openssl dgst -sha256 -r; else sha256sum; fi; }",
  ], { check: false });
  const stat = /curl-stat (\d+) ([\d.]+)/.exec(r.stderr);
  if (r.code !== 0 || !stat) throw new Error(`curl ${args.join(" ")}: ${r.stderr}`);
  return { sha: r.stdout.split(" ")[0], bytes: Number(stat[1]), seconds: Number(stat[2]) };
}

/**
 * POSTs `bytes` seeded pseudo-random bytes to `url` with curl in `ns` (the body written to a
 * file in `dir` first) and returns what the server answered, trimmed, beside the body's own
 * `"<bytes> <sha256>"` — the line a `/sha` endpoint of the tests' servers answers.
 *
 * @throws {Error} if curl fails
 */
export async function curlUploadSha(
  ns: Netns,
  dir: string,
  url: string,
  bytes: number,
  seed: number,
): Promise<{ answer: string; expected: string }> {
  const data = new Uint8Array(bytes);
  const r = mulberry32(seed);
  for (let i = 0; i < data.length; i++) data[i] = (r() * 256) | 0;
  await Deno.writeFile(`${dir}/up`, data);
  const sha = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
  const sent = await ns.exec([
    "curl",
    "-sS",
    "--fail",
    "--max-time",
    "60",
    "--data-binary",
    `@${dir}/up`,
    url,
  ], { check: false });
  if (sent.code !== 0) throw new Error(`curl POST ${url}: ${sent.stderr}`);
  return { answer: sent.stdout.trim(), expected: `${bytes} ${sha}` };
}
