/**
 * What the periodic work of an idle node faults back into the deno binary's resident text
 * once its start-up pages are released (ffi/resident.ts): a child process releases them, then
 * does one kind of work at a time, and this process reads the child's /proc/PID/smaps after
 * each (from outside, so the measuring code itself faults nothing in the child).
 *
 *   deno run -A bench/_text_faults.ts
 *
 * @module
 */
import http2 from "node:http2";
import { zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { releaseStartupPages } from "../ffi/resident.ts";
import { v8FlagsArg, WARREN_DENO_FLAGS } from "../src/cli/v8_flags.ts";
import { smapsBreakdown } from "./_smaps.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const gc = (o: unknown) => (globalThis as { gc?: (o: unknown) => unknown }).gc?.(o);

async function child(): Promise<void> {
  const zst = zstdCompressSync(new TextEncoder().encode("x".repeat(5000)));
  const server = http2.createServer((_req, res) => res.end("ok"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as { port: number };
  const client = http2.connect(`http://127.0.0.1:${port}`);
  const request = () =>
    new Promise<void>((resolve) => {
      const req = client.request({ ":path": "/" });
      req.on("data", () => {});
      req.on("end", () => resolve());
      req.end();
    });
  // Everything runs once before the release, as a node's start-up does.
  zstdDecompressSync(zst);
  await request();
  gc({ type: "major", execution: "sync", flavor: "last-resort" });
  const steps: [string, () => unknown][] = [
    ["idle 5 s", () => sleep(5000)],
    ["20 timers", async () => {
      for (let i = 0; i < 20; i++) await sleep(5);
    }],
    ["zstd decompression", () => zstdDecompressSync(zst)],
    ["node:http2 request", request],
    ["the same again", request],
    ["minor GC", () => gc({ type: "minor" })],
    ["major GC", () => gc({ type: "major", execution: "sync" })],
    ["hot loop (JIT tiers)", () => {
      let x = 0;
      for (let i = 0; i < 20_000_000; i++) x = (x + i * 7) % 1_000_003;
      return x;
    }],
    ["20 MB of garbage (scavenges)", () => {
      let keep: unknown[] = [];
      for (let i = 0; i < 200_000; i++) keep.push({ i, s: `y${i}` });
      keep = [];
      return keep;
    }],
  ];
  releaseStartupPages();
  await sleep(1500);
  console.log("released");
  for (const [name, step] of steps) {
    await sleep(1500);
    await step();
    console.log(name);
  }
  await sleep(1500);
  client.close();
  server.close();
}

async function parent(): Promise<void> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...WARREN_DENO_FLAGS, v8FlagsArg(), new URL(import.meta.url).pathname],
    env: { WARREN_TEXT_FAULTS_CHILD: "1" },
    stdout: "piped",
  }).spawn();
  let last = 0, buf = "";
  const dec = new TextDecoder();
  console.log("resident text of the deno binary in the child (KiB), after each step");
  for await (const chunk of proc.stdout) {
    buf += dec.decode(chunk);
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const name = buf.slice(0, i);
      buf = buf.slice(i + 1);
      await sleep(700);
      const text = (await smapsBreakdown(proc.pid)).get("exe text") ?? 0;
      console.log(`${name.padEnd(32)} ${String(text).padStart(6)}  +${text - last}`);
      last = text;
    }
  }
  await proc.status;
}

if (import.meta.main) {
  await (Deno.env.get("WARREN_TEXT_FAULTS_CHILD") ? child() : parent());
}
