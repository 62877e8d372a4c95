/**
 * Test helper, run inside a network namespace: opens a TUN in offload mode and plays a minimal
 * TCP peer behind it for one kernel TCP connection. The kernel sends `--bytes` through the TUN
 * (arriving as TSO super packets, split by `readBatch`); then the peer sends the same amount back
 * in batches of in-order segments (coalesced by `writeBatch`). Prints one JSON line of findings.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { TunDevice } from "../tun.ts";
import { parseIp } from "../libc.ts";
import {
  buildTcpPacket,
  parsePacket,
  TCP_ACK,
  TCP_SYN,
  verifyChecksums,
} from "../../src/net/packet.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { bytes: { type: "string", default: "300000" }, v6: { type: "boolean" } },
});
const BYTES = Number(values.bytes);
const V6 = values.v6 ?? false;
const MSS = 1300;
const OFF = 16;
const LOCAL = V6 ? "fd00:77::1" : "10.77.0.1";
const PEER = V6 ? "fd00:77::2" : "10.77.0.2";
const PORT = 5001;

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 8) + seed) & 0xff;
  return b;
}

const tun = TunDevice.open("wo%d", { offload: true });
tun.setMtu(1420);
tun.addAddress({ ip: parseIp(LOCAL)!, bits: V6 ? 64 : 24 });
tun.up();
if (V6) await new Promise((r) => setTimeout(r, 200)); // let DAD-free address settle

const bufs = Array.from({ length: 64 }, () => new Uint8Array(2048));
const sizes = new Array<number>(64).fill(0);
const peerIp = parseIp(PEER)!, localIp = parseIp(LOCAL)!;
const found = {
  offload: tun.offload,
  badChecksums: 0,
  segments: 0,
  outOfOrder: 0,
  superReads: 0,
  superWrites: 0,
  kernelToPeerOk: false,
  peerToKernelOk: false,
  error: "",
};

let kernelPort = 0;
let rcvNext = 0; // next kernel sequence number we expect
let sndNext = 0x10000000; // our sequence number

function send(pkts: Uint8Array[]): void {
  const out = pkts.map((p) => {
    const b = new Uint8Array(OFF + p.length + 32);
    b.set(p, OFF);
    return b;
  });
  tun.writeBatch(out, pkts.map((p) => p.length), OFF, pkts.length);
}

function segment(flags: number, payload?: Uint8Array, options?: Uint8Array): Uint8Array {
  return buildTcpPacket({
    src: peerIp,
    dst: localIp,
    srcPort: PORT,
    dstPort: kernelPort,
    seq: sndNext,
    ack: rcvNext,
    flags,
    window: 65535,
    payload,
    options,
  });
}

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => t = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms)),
    ]);
  } finally {
    clearTimeout(t);
  }
}

/** Reads TCP segments from the TUN and hands each parsed one to `fn` until it returns true. */
async function pump(fn: (pkt: Uint8Array) => boolean): Promise<void> {
  for (;;) {
    const n = tun.readBatch(bufs, sizes, OFF);
    if (n === 0) {
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    for (let i = 0; i < n; i++) {
      const pkt = bufs[i].slice(OFF, OFF + sizes[i]);
      const p = parsePacket(pkt);
      if (p.proto !== 6) continue;
      if (!verifyChecksums(pkt)) found.badChecksums++;
      if (fn(pkt)) return;
    }
  }
}

const conn = Deno.connect({ hostname: PEER, port: PORT });
try {
  // Handshake: SYN from the kernel, SYN-ACK with our MSS, then its ACK.
  await withDeadline(
    pump((pkt) => {
      const p = parsePacket(pkt);
      if (!(p.tcpFlags & TCP_SYN)) return false;
      kernelPort = p.srcPort;
      rcvNext = (new DataView(pkt.buffer).getUint32(p.l4Off + 4) + 1) >>> 0;
      return true;
    }),
    3000,
    "SYN",
  );
  send([segment(TCP_SYN | TCP_ACK, undefined, new Uint8Array([2, 4, MSS >> 8, MSS & 0xff]))]);
  sndNext++;
  const c = await withDeadline(conn, 3000, "connect");

  // Kernel → peer: TSO super packets, split in readBatch.
  const sent = pattern(BYTES, 1);
  const writing = (async () => {
    for (let at = 0; at < sent.length;) at += await c.write(sent.subarray(at));
  })();
  const got = new Uint8Array(BYTES);
  let have = 0;
  await withDeadline(
    pump((pkt) => {
      const p = parsePacket(pkt);
      const seq = new DataView(pkt.buffer).getUint32(p.l4Off + 4);
      const data = p.payload();
      if (data.length === 0) return false;
      found.segments++;
      if (seq !== rcvNext) {
        found.outOfOrder++;
      } else {
        got.set(data, have);
        have += data.length;
        rcvNext = (rcvNext + data.length) >>> 0;
      }
      send([segment(TCP_ACK)]);
      return have >= BYTES;
    }),
    10000,
    "kernel data",
  );
  await writing;
  found.kernelToPeerOk = got.every((x, i) => x === sent[i]);

  // Peer → kernel: batches of in-order segments, coalesced in writeBatch.
  const back = pattern(BYTES, 2);
  const reading = (async () => {
    const r = new Uint8Array(BYTES);
    let n = 0;
    while (n < BYTES) {
      const k = await c.read(r.subarray(n));
      if (k === null) break;
      n += k;
    }
    return n === BYTES && r.every((x, i) => x === back[i]);
  })();
  for (let at = 0; at < BYTES;) {
    const batch: Uint8Array[] = [];
    for (let j = 0; j < 24 && at < BYTES; j++) {
      const payload = back.subarray(at, Math.min(at + MSS, BYTES));
      batch.push(segment(TCP_ACK, payload));
      sndNext = (sndNext + payload.length) >>> 0;
      at += payload.length;
    }
    send(batch);
    // Let the kernel drain its receive queue (and drop its ACKs from the TUN queue).
    await new Promise((r) => setTimeout(r, 20));
    tun.readBatch(bufs, sizes, OFF);
  }
  found.peerToKernelOk = await withDeadline(reading, 10000, "peer data");
  c.close();
} catch (e) {
  found.error = e instanceof Error ? e.message : String(e);
} finally {
  found.superReads = tun.superReads;
  found.superWrites = tun.superWrites;
  tun.close();
}
console.log(JSON.stringify(found));
