/**
 * Benchmark worker process for bench/derp.ts: holds idle DERP connections, floods
 * packets between client pairs, or measures relay round trips.
 *
 * Usage: deno run -A bench/_derp_worker.ts idle URL N [BATCH]
 *        deno run -A bench/_derp_worker.ts flood URL PAIRS SECONDS SIZE
 *        deno run -A bench/_derp_worker.ts latency URL COUNT SIZE
 *
 * @module
 */

import { dialDerp } from "../src/derp/dial.ts";
import type { DerpClient } from "../src/derp/client.ts";
import { recvType } from "../src/derp/testing.ts";
import { generateNodePrivate } from "../src/key/node_key.ts";

const [mode, url, ...rest] = Deno.args;

// For a TLS server: its sha256-raw: pin, from bench/derp.ts.
const certName = Deno.env.get("WARREN_BENCH_CERT_NAME") || undefined;

async function connect(): Promise<DerpClient> {
  const c = await dialDerp(url, {
    privateKey: generateNodePrivate(),
    connectTimeoutMs: 30_000,
    certName,
  });
  await recvType(c, "serverInfo", 30_000);
  return c;
}

/** Holds n connections, opened `batch` at a time (each batch waits for the one before). */
async function idle(n: number, batch: number): Promise<void> {
  const clients: DerpClient[] = [];
  for (let i = 0; i < n; i += batch) {
    const got = await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => connect()));
    clients.push(...got);
  }
  // Keep reading so keep-alives are consumed; nothing else happens.
  for (const c of clients) {
    (async () => {
      while (await c.recv().catch(() => null));
    })();
  }
  console.log(`ready ${clients.length}`);
  await new Promise<void>((r) => Deno.addSignalListener("SIGTERM", () => r()));
  for (const c of clients) c.close();
}

async function flood(pairs: number, seconds: number, size: number): Promise<void> {
  const senders: DerpClient[] = [];
  const receivers: DerpClient[] = [];
  for (let i = 0; i < pairs; i++) {
    senders.push(await connect());
    receivers.push(await connect());
  }
  let received = 0, counting = false, running = true;
  for (const r of receivers) {
    (async () => {
      for (;;) {
        const m = await r.recv().catch(() => null);
        if (m === null) return;
        if (m.type === "packet" && counting) received++;
      }
    })();
  }
  const pkt = new Uint8Array(size).fill(0x42);
  let sent = 0;
  const loops = senders.map(async (s, i) => {
    const dst = receivers[i].publicKey;
    while (running) {
      for (let k = 0; k < 31; k++) s.send(dst, pkt).catch(() => {});
      await s.send(dst, pkt).catch(() => {});
      sent += 32;
    }
  });
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  counting = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  await Promise.all(loops);
  console.log(JSON.stringify({ received, sent, seconds: elapsed, size }));
  for (const c of [...senders, ...receivers]) c.close();
}

async function latency(count: number, size: number): Promise<void> {
  const a = await connect();
  const b = await connect();
  (async () => {
    for (;;) {
      const m = await b.recv().catch(() => null);
      if (m === null) return;
      if (m.type === "packet") b.send(m.src, m.data).catch(() => {});
    }
  })();
  const rtts: number[] = [];
  const pkt = new Uint8Array(size);
  for (let i = 0; i < count + 100; i++) {
    new DataView(pkt.buffer).setUint32(0, i);
    const t0 = performance.now();
    await a.send(b.publicKey, pkt);
    for (;;) {
      const m = await a.recv();
      if (m === null) throw new Error("connection closed");
      if (
        m.type === "packet" && new DataView(m.data.buffer, m.data.byteOffset).getUint32(0) === i
      ) break;
    }
    if (i >= 100) rtts.push(performance.now() - t0); // first 100 are warm-up
    if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  console.log(JSON.stringify({ rtts }));
  a.close();
  b.close();
}

if (mode === "idle") await idle(Number(rest[0]), Number(rest[1] ?? 100));
else if (mode === "flood") await flood(Number(rest[0]), Number(rest[1]), Number(rest[2]));
else if (mode === "latency") await latency(Number(rest[0]), Number(rest[1]));
else throw new TypeError(`Unknown worker mode "${mode}"`);
Deno.exit(0);
