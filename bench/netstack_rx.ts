/**
 * The userspace stack's receive path alone, without WireGuard, sockets or a
 * second process: a scripted peer feeds one accepted connection full-size
 * in-order segments (with timestamps, as Linux sends them) in batches like
 * the data plane's, keeping to the window the stack announces, and the
 * application takes the bytes in place (`source`, as the SOCKS relay does).
 * Prints the CPU time per segment, the figure that `deno task
 * bench:userspace` can only show through a noisy two-process download.
 *
 *   deno run -A bench/netstack_rx.ts [--mib 256] [--batch 64] [--iss 1000] [--verify] [--no-coalesce]
 *
 * `--iss` is the scripted peer's initial sequence number: a real peer's is random, and one at or
 * above 2^31 is a heap number to V8 unless the stack keeps it as an int32 (src/netstack/tcp_seq.ts).
 * `--verify` checks transport checksums as for input not authenticated
 * by WireGuard (and so takes segments one by one); `--no-coalesce` hands the stack each segment
 * alone, as before the device merged a batch's in-order segments; `--heap-profile` lists where the JS heap allocations come
 * from (V8's sampling heap profiler, through node:inspector).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Session } from "node:inspector/promises";
import { IpInput } from "../src/netstack/ip_input.ts";
import { NetstackDevice } from "../src/netstack/device.ts";
import { TcpStack } from "../src/netstack/tcp_stack.ts";
import { packetFor } from "../src/netstack/tcp_packet.ts";
import {
  decodeTcpSegment,
  TCP_ACK,
  TCP_SYN,
  type TcpSegment,
} from "../src/netstack/tcp_segment.ts";
import { writeChecksums } from "../src/net/packet.ts";
import { systemClock } from "../src/netstack/types.ts";
import { cpuSeconds } from "./_proc.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mib: { type: "string", default: "256" },
    batch: { type: "string", default: "64" },
    iss: { type: "string", default: "1000" },
    verify: { type: "boolean", default: false },
    "no-coalesce": { type: "boolean", default: false },
    "heap-profile": { type: "boolean", default: false },
  },
});
const TOTAL = Number(values.mib) * 1024 * 1024;
const BATCH = Number(values.batch);
const MSS = 1228;
const US = new Uint8Array([100, 64, 0, 2]), PEER = new Uint8Array([100, 64, 0, 1]);

/** The stack's output, read as the peer: its ISN, the latest ACK and the window's right edge. */
let acked = 0, rightEdge = 0, shift = 0, ourSeq = -1, ourPort = 0;
const out = (p: Uint8Array) => {
  const s = decodeTcpSegment(p.subarray(20), US, PEER)!;
  if (s.flags & TCP_SYN) {
    ourSeq = (s.seq + 1) >>> 0;
    ourPort = s.srcPort;
    shift = s.options.wscale ?? 0;
  }
  acked = s.ack;
  rightEdge = (s.ack + s.window * 2 ** ((s.flags & TCP_SYN) ? 0 : shift)) >>> 0;
};
const ip = new IpInput({
  clock: systemClock,
  out,
  addresses: [US],
  verifyChecksums: values.verify,
});
const stack = new TcpStack({
  ip,
  device: { room: 1 << 20, setDrainHandler() {} },
  clock: systemClock,
});

const seg = (
  seq: number,
  ack: number,
  flags: number,
  payload: Uint8Array,
  opts: TcpSegment["options"],
): Uint8Array =>
  packetFor(
    {
      srcPort: 8000,
      dstPort: ourPort,
      seq,
      ack,
      flags,
      window: 0xffff,
      urgent: 0,
      options: opts,
      payload,
    },
    PEER,
    US,
  );

// The stack dials, as the SOCKS proxy does; the scripted peer answers its SYN.
const iss = Number(values.iss) >>> 0;
const ts = () => ({ val: Math.floor(performance.now()) >>> 0, ecr: 0 });
const dialled = stack.dial(PEER, 8000);
await new Promise((r) => setTimeout(r, 0));
if (ourSeq < 0) throw new Error("no SYN from the stack");
ip.input(seg(iss, ourSeq, TCP_SYN | TCP_ACK, new Uint8Array(0), {
  mss: MSS,
  wscale: 7,
  sackPermitted: true,
  ts: ts(),
}));
const conn = await dialled;

let got = 0;
const reader = (async () => {
  const src = (conn as Partial<typeof conn>).source;
  if (src === undefined) {
    // A stack from before `source` (to compare): the readable, as the relay used then.
    for await (const b of conn.readable) got += b.length;
    return;
  }
  for (let v = await src.peek(); v !== null; v = await src.peek()) {
    got += v.length;
    src.consume(v.length);
  }
})();
/** A macrotask turn without a timer's delay, as the data plane's next poll. */
const channel = new MessageChannel();
let wake: (() => void) | null = null;
channel.port1.onmessage = () => wake?.();
const turn = () =>
  new Promise<void>((r) => {
    wake = r;
    channel.port2.postMessage(0);
  });

// Distinct bytes per segment would only cost the generator: one payload, many sequence numbers.
const payload = new Uint8Array(MSS).map((_, i) => i);
/**
 * Premade packets, re-stamped per use (the peer's cost stays out of the figures), each 16
 * bytes into a buffer of its own as the data plane hands them over after decryption.
 */
const AT = 16;
const ring = Array.from({ length: BATCH }, () => {
  const p = seg(0, ourSeq, TCP_ACK, payload, { ts: ts() });
  const b = new Uint8Array(AT + p.length + 16);
  b.set(p, AT);
  return b;
});
const sizes = ring.map((b) => b.length - AT - 16);
// Coalescing rewrites a merged packet's headers in place (as it may: the data plane's buffers
// are refilled by the next read); each use starts from the headers as made.
const headers = ring[0].slice(AT, AT + 20 + 32);
// The netstack's side of the data plane: packets go in through it, as in a node.
const device = new NetstackDevice({
  mtu: 1280,
  waker: { fd: -1, signal() {}, clear() {}, close() {} },
  // As a node's userspace link has it, unless checksums are to be verified.
  coalesce: !values.verify && !values["no-coalesce"],
});
device.setInput((p) => ip.input(p));
const cpu = () => cpuSeconds("self");
let seq = (iss + 1) >>> 0, sent = 0, turns = 0, waits = 0;
const inspector = values["heap-profile"] ? new Session() : null;
inspector?.connect();
await inspector?.post("HeapProfiler.startSampling", {
  samplingInterval: 4096,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
const t0 = performance.now(), c0 = cpu();
while (sent < TOTAL) {
  let n = 0;
  for (; n < BATCH && sent < TOTAL; n++) {
    if (((rightEdge - seq) | 0) < MSS) break;
    const p = ring[n];
    p.set(headers, AT);
    p[AT + 24] = seq >>> 24;
    p[AT + 25] = (seq >>> 16) & 0xff;
    p[AT + 26] = (seq >>> 8) & 0xff;
    p[AT + 27] = seq & 0xff;
    // The checksum is stale unless --verify asks for it (then the peer's cost is counted too).
    if (values.verify) writeChecksums(p.subarray(AT, AT + sizes[n]));
    seq = (seq + MSS) >>> 0;
    sent += MSS;
  }
  device.writeBatch(ring, sizes, AT, n);
  if (n === 0) waits++;
  turns++;
  // A data-plane turn: the stack runs, the reader takes the bytes.
  await turn();
}
const wall = performance.now() - t0, cpuS = cpu() - c0;
if (inspector !== null) {
  printHeapProfile(await inspector.post("HeapProfiler.stopSampling"), sent / MSS);
}
while (got < sent) await turn();
const segs = sent / MSS;
console.log(
  `${(sent / 1e6).toFixed(0)} MB in ${segs} segments of ${MSS} B, batches of ${BATCH}` +
    `${values.verify ? ", checksums verified" : ""}: ` +
    `${(cpuS * 1e9 / segs).toFixed(0)} ns CPU per segment (${
      (sent / 1e6 / cpuS).toFixed(0)
    } MB/s ` +
    `of CPU), ` +
    `${stack.counters.packetsOut} packets out, ${waits} of ${turns} turns window-limited, ` +
    `wall ${(wall / 1000).toFixed(2)} s, acked ${acked >>> 0 === seq >>> 0 ? "all" : "not all"}`,
);
conn.close();
await reader.catch(() => {});
channel.port1.close();
stack.close();

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/** The allocation sites that took the most bytes, with their callers' chain shortened. */
function printHeapProfile(r: { profile: { head: HeapNode } }, segments: number): void {
  const sites = new Map<string, number>();
  let total = 0;
  const walk = (n: HeapNode, path: string[]) => {
    const f = n.callFrame;
    const here = `${f.functionName || "(anon)"} ${f.url.replace(/^.*\/(src|bench)\//, "$1/")}:${
      f.lineNumber + 1
    }`;
    const p = [...path, here];
    if (n.selfSize > 0) {
      const key = p.slice(-3).join(" < ");
      sites.set(key, (sites.get(key) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c, p);
  };
  walk(r.profile.head, []);
  console.log(
    `JS heap allocated (sampled): ${(total / 1e6).toFixed(1)} MB, ` +
      `${(total / segments).toFixed(0)} B per segment`,
  );
  for (const [k, v] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    console.log(
      `${(100 * v / total).toFixed(1).padStart(5)}%  ${k.split(" < ").reverse().join(" < ")}`,
    );
  }
}
