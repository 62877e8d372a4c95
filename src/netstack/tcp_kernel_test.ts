/**
 * warren's TCP against the Linux kernel's: a TUN in a throwaway namespace,
 * tcp_kernel_server.ts answering on 10.77.0.2:8080 behind it, and curl in
 * the namespace uploading and downloading 50 MB through it, checked by
 * SHA-256 both ways; then 200 connections at once from the kernel's TCP
 * (tcp_kernel_clients.ts), each checked.
 */
import { testOrSkip } from "../testing/skip.ts";
import { sha256 } from "./tcp_conn_testing.ts";
import assert from "node:assert/strict";
import { needsRoot, run, withNetns } from "../../ffi/testdata/netns.ts";
import { mulberry32 } from "../testing/prng.ts";
import { replyPattern } from "./testdata/reply_pattern.ts";

const SERVER = new URL("./testdata/tcp_kernel_server.ts", import.meta.url).pathname;
const CLIENTS = new URL("./testdata/tcp_kernel_clients.ts", import.meta.url).pathname;
const FLOOD = new URL("./testdata/syn_flood.ts", import.meta.url).pathname;
const skip = needsRoot() ?? ((await run(["which", "curl"])).code !== 0 ? "needs curl" : null);

/** Drops `permille`/1000 of the packets each way on the namespace's TUN, by nftables' numgen. */
async function nftLoss(ns: string, permille: number): Promise<void> {
  const rules = `table inet warren_test_loss {
  chain in { type filter hook prerouting priority -300; iifname "wtcp*" numgen random mod 1000 < ${permille} counter drop; }
  chain out { type filter hook output priority -300; oifname "wtcp*" numgen random mod 1000 < ${permille} counter drop; }
}`;
  const r = await run(["ip", "netns", "exec", ns, "sh", "-c", `printf '%s' '${rules}' | nft -f -`]);
  assert.equal(r.code, 0, `nft: ${r.stderr}`);
}

/** Packets nftables dropped in the loss table (both chains). */
async function nftDropped(ns: string): Promise<number> {
  const r = await run([
    "ip",
    "netns",
    "exec",
    ns,
    "nft",
    "list",
    "table",
    "inet",
    "warren_test_loss",
  ]);
  return [...r.stdout.matchAll(/counter packets (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}

async function startServer(
  ns: string,
  opts: { backlog?: number; delayMs?: number; reorder?: number } = {},
) {
  // No duplicate address detection, so fd77::1 is usable at once.
  await run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0"]);
  await run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"]);
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", ns, Deno.execPath(), "run", "-A", SERVER],
    env: {
      WARREN_TCP_BACKLOG: String(opts.backlog ?? 128),
      WARREN_TCP_DELAY_MS: String(opts.delayMs ?? 0),
      WARREN_TCP_REORDER: String(opts.reorder ?? 0),
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) {
      throw new Error(`Server exited before ready: ${await new Response(child.stderr).text()}`);
    }
    seen += value;
  }
  reader.releaseLock();
  return {
    async stop(): Promise<string> {
      await child.stdin.close();
      const [status, err] = await Promise.all([child.status, new Response(child.stderr).text()]);
      await child.stdout.cancel().catch(() => {});
      assert.equal(status.code, 0, `server failed: ${err}`);
      return err;
    },
  };
}

/** The server's final stats line (printed on stderr as it stops). */
// deno-lint-ignore no-explicit-any
type ServerStats = any;

/**
 * One case against the kernel: a namespace with the server (`opts`), `body` run with it and a
 * scratch directory, then `check` on the server's final stats, whatever `body` did.
 */
function kernelCase(
  name: string,
  opts: Parameters<typeof startServer>[1],
  body: (ns: string, dir: string) => Promise<void>,
  check: (stats: ServerStats) => void = () => {},
): void {
  testOrSkip(import.meta, skip, {
    name,
    sanitizeResources: false,
    fn: () =>
      withNetns(async (ns) => {
        await run(["ip", "-n", ns, "link", "set", "lo", "up"]);
        const server = await startServer(ns, opts);
        const dir = await Deno.makeTempDir();
        try {
          await body(ns, dir);
        } finally {
          const log = await server.stop();
          await Deno.remove(dir, { recursive: true });
          check(JSON.parse(log.trim().split("\n").pop()!));
        }
      }),
  });
}

/** Runs a Deno script of testdata/ in the namespace. */
function denoIn(ns: string, script: string, ...args: string[]) {
  return run(["ip", "netns", "exec", ns, Deno.execPath(), "run", "-A", script, ...args]);
}

/** `n` seeded pseudo-random bytes. */
function randomBytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  const r = mulberry32(seed);
  for (let i = 0; i < b.length; i++) b[i] = (r() * 256) | 0;
  return b;
}

kernelCase(
  "the kernel's curl uploads and downloads 50 MB through warren's TCP, intact both ways, and 200 connections at once all complete",
  {},
  async (ns, dir) => {
    const up = randomBytes(50 << 20, 77);
    await exchange(ns, dir, "http://10.77.0.2:8080/", up, 50 << 20, 60);
    // 200 at once: the listener's SYN backlog (128) overflows into SYN cookies, and every
    // connection's 64 KiB each way must still arrive whole and to the right peer.
    const res = await denoIn(ns, CLIENTS, "200", "10.77.0.2", "8080", `${64 << 10}`, `${64 << 10}`);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), { ok: 200, failures: [] });
  },
  (stats) => {
    assert.equal(stats.rejects.badChecksum, 0, "the kernel's checksums all verified");
    const l = stats.listener;
    assert.equal(l.synAccepted + l.cookiesAccepted, 201, JSON.stringify(l));
  },
);

/** One curl exchange: uploads `up`, asks for `downBytes`, checks both SHA-256s. */
async function exchange(
  ns: string,
  dir: string,
  url: string,
  up: Uint8Array,
  downBytes: number,
  maxTimeS = 120,
) {
  await Deno.writeFile(`${dir}/up`, up);
  const res = await run([
    "ip",
    "netns",
    "exec",
    ns,
    "curl",
    "-sS",
    "--max-time",
    `${maxTimeS}`,
    "-H",
    `X-Reply-Bytes: ${downBytes}`,
    "-H",
    "Expect:",
    "--data-binary",
    `@${dir}/up`,
    "-D",
    `${dir}/headers`,
    "-o",
    `${dir}/down`,
    url,
  ]);
  assert.equal(res.code, 0, `curl ${url} failed: ${res.stderr}`);
  const headers = await Deno.readTextFile(`${dir}/headers`);
  const m = /x-body-sha256: *([0-9a-f]{64})/i.exec(headers);
  assert.ok(m, headers);
  assert.equal(m[1], await sha256(up), `the upload to ${url} arrived intact`);
  const down = await Deno.readFile(`${dir}/down`);
  assert.equal(down.length, downBytes);
  assert.equal(
    await sha256(down),
    await sha256(replyPattern(downBytes)),
    `the download from ${url}`,
  );
}

kernelCase(
  "over IPv4 and IPv6 with 3 % loss each way (nftables numgen) the kernel and warren's TCP recover and agree",
  {},
  async (ns, dir) => {
    await nftLoss(ns, 30);
    const up = randomBytes(1 << 20, 78);
    await exchange(ns, dir, "http://10.77.0.2:8080/", up, 1 << 20);
    await exchange(ns, dir, "http://[fd77::2]:8080/", up, 1 << 20);
    assert.ok(await nftDropped(ns) > 0, "nftables dropped packets");
  },
  (stats) => {
    assert.equal(stats.rejects.badChecksum, 0, "the kernel's checksums all verified");
    assert.ok(stats.totals.retransmits > 0, `warren retransmitted: ${JSON.stringify(stats)}`);
  },
);

kernelCase(
  "with no SYN backlog the kernel's connections complete through SYN cookies",
  { backlog: 0 },
  async (ns, dir) => {
    const up = new Uint8Array(512 * 1024).map((_, i) => (i * 13) & 0xff);
    await exchange(ns, dir, "http://10.77.0.2:8080/", up, 512 * 1024);
    await exchange(ns, dir, "http://[fd77::2]:8080/", up, 512 * 1024);
  },
  (stats) => {
    assert.equal(stats.listener.synAccepted, 0);
    assert.equal(stats.listener.cookiesAccepted, 2, JSON.stringify(stats));
  },
);

kernelCase(
  "through an impairing link (10 ms each way, 3 % of packets held back and overtaken) the kernel and warren's TCP agree",
  { delayMs: 10, reorder: 0.03 },
  async (ns, dir) => {
    const up = randomBytes(2 << 20, 79);
    await exchange(ns, dir, "http://10.77.0.2:8080/", up, 2 << 20);
    await exchange(ns, dir, "http://[fd77::2]:8080/", up, 2 << 20);
  },
  (stats) => {
    assert.ok(stats.totals.reordered > 100, `the link reordered: ${JSON.stringify(stats)}`);
    assert.equal(stats.rejects.badChecksum, 0);
  },
);

kernelCase(
  "under a flood of 20,000 spoofed SYNs (raw socket) warren's listener stays bounded and the kernel's real connection still completes",
  {},
  async (ns, dir) => {
    const flood = denoIn(ns, FLOOD, "10.77.0.2", "8080", "20000");
    const up = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
    await exchange(ns, dir, "http://10.77.0.2:8080/", up, 1 << 20);
    const f = await flood;
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stdout, /^sent 20000/);
    await exchange(ns, dir, "http://[fd77::2]:8080/", up, 1 << 20);
  },
  (stats) => {
    const l = stats.listener;
    // Past the 128-entry backlog the flood gets SYN cookies: no state is kept for it. (The
    // kernel's TUN queue drops part of a burst this fast before warren sees it.)
    assert.ok(l.synAccepted <= 128 + 2, `half-open state stayed bounded: ${JSON.stringify(l)}`);
    assert.ok(l.cookiesSent > 1000, `cookies answered the flood: ${JSON.stringify(l)}`);
    assert.ok(l.synAccepted + l.cookiesSent + l.synDropped <= 20_002, JSON.stringify(l));
  },
);
