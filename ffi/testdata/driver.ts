/**
 * Test helper: drives TunDevice, routes and Poller inside a network namespace. Reads one JSON
 * command per line on stdin and answers one JSON line on stdout, so a test outside the
 * namespace can act and then check the result with `ip`.
 *
 * @module
 */

import { TunDevice } from "../tun.ts";
import { removeTunAddress } from "../tun_address.ts";
import { addRoute, deleteRoute, RouteTable } from "../route.ts";
import { Poller } from "../poll.ts";
import { parseIp, SysError } from "../libc.ts";

const devices = new Map<string, TunDevice>();
const table = new RouteTable();
const poller = new Poller();
let tun: TunDevice | null = null;

function ip(s: string): Uint8Array {
  const b = parseIp(s);
  if (b === null) throw new SyntaxError(`bad ip ${s}`);
  return b;
}

function checksum(b: Uint8Array, start: number, end: number, init = 0): number {
  let sum = init;
  for (let i = start; i < end; i += 2) sum += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Turns an ICMP/ICMPv6 echo request in `p[off, off+len)` into the matching reply, in place. */
function toEchoReply(p: Uint8Array, off: number, len: number): string | null {
  const v = p[off] >> 4;
  if (v === 4) {
    const ihl = (p[off] & 0xf) * 4;
    if (p[off + 9] !== 1 || p[off + ihl] !== 8) return null;
    const src = p.slice(off + 12, off + 16);
    p.copyWithin(off + 12, off + 16, off + 20);
    p.set(src, off + 16);
    p[off + 10] = p[off + 11] = 0;
    const hc = checksum(p, off, off + ihl);
    p[off + 10] = hc >> 8;
    p[off + 11] = hc & 0xff;
    const t = off + ihl;
    p[t] = 0; // echo reply
    p[t + 2] = p[t + 3] = 0;
    const c = checksum(p, t, off + len);
    p[t + 2] = c >> 8;
    p[t + 3] = c & 0xff;
    return "icmp4";
  }
  if (v === 6) {
    if (p[off + 6] !== 58 || p[off + 40] !== 128) return null;
    const src = p.slice(off + 8, off + 24);
    p.copyWithin(off + 8, off + 24, off + 40);
    p.set(src, off + 24);
    const t = off + 40;
    p[t] = 129; // echo reply
    p[t + 2] = p[t + 3] = 0;
    const plen = len - 40;
    // Pseudo-header: src, dst, upper-layer length, next header.
    let sum = 0;
    for (let i = off + 8; i < off + 40; i += 2) sum += (p[i] << 8) | p[i + 1];
    sum += plen + 58;
    const c = checksum(p, t, off + len, sum);
    p[t + 2] = c >> 8;
    p[t + 3] = c & 0xff;
    return "icmp6";
  }
  return null;
}

const OFFSET = 16;
const bufs = Array.from({ length: 8 }, () => new Uint8Array(2048));
const sizes = new Array<number>(8).fill(0);

async function echo(timeoutMs: number, want: number) {
  const deadline = Date.now() + timeoutMs;
  let replied = 0;
  const kinds: string[] = [];
  while (replied < want && Date.now() < deadline) {
    const [ready] = await poller.wait([tun!.fd], deadline - Date.now());
    if (!ready) continue;
    const n = tun!.readBatch(bufs, sizes, OFFSET);
    let out = 0;
    const outBufs: Uint8Array[] = [];
    const outSizes: number[] = [];
    for (let i = 0; i < n; i++) {
      const kind = toEchoReply(bufs[i], OFFSET, sizes[i]);
      if (kind === null) continue;
      kinds.push(kind);
      outBufs.push(bufs[i]);
      outSizes.push(sizes[i]);
      out++;
    }
    replied += tun!.writeBatch(outBufs, outSizes, OFFSET, out);
  }
  return { replied, kinds };
}

async function handle(cmd: Record<string, unknown>): Promise<unknown> {
  const a = cmd as Record<string, never>;
  switch (cmd.op) {
    case "open": {
      const d = TunDevice.open(a.name);
      devices.set(d.name, d);
      tun ??= d;
      return { name: d.name, index: d.index, fd: d.fd };
    }
    case "mtu":
      return tun!.setMtu(a.mtu);
    case "addr":
      return tun!.addAddress({ ip: ip(a.ip), bits: a.bits });
    case "unaddr":
      return removeTunAddress(tun!.name, { ip: ip(a.ip), bits: a.bits });
    case "up":
      return tun!.up();
    case "route_add":
      return addRoute({ ip: ip(a.ip), bits: a.bits }, a.dev ?? tun!.name, { metric: a.metric });
    case "route_del":
      return deleteRoute({ ip: ip(a.ip), bits: a.bits }, a.dev ?? tun!.name, { metric: a.metric });
    case "table_add":
      return table.add({ ip: ip(a.ip), bits: a.bits }, tun!.name, { metric: a.metric });
    case "table_remove_all":
      return table.removeAll();
    case "echo":
      return await echo(a.timeoutMs, a.count);
    case "close": {
      const d = devices.get(a.name ?? tun!.name)!;
      d.close();
      devices.delete(d.name);
      if (d === tun) tun = null;
      return null;
    }
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

const decoder = new TextDecoder();
let pending = "";
for await (const chunk of Deno.stdin.readable) {
  pending += decoder.decode(chunk, { stream: true });
  let nl: number;
  while ((nl = pending.indexOf("\n")) >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    let reply: unknown;
    try {
      reply = { ok: true, result: (await handle(JSON.parse(line))) ?? null };
    } catch (e) {
      reply = e instanceof SysError
        ? { ok: false, error: e.message, errno: e.errno, code: e.code, syscall: e.syscall }
        : { ok: false, error: String(e) };
    }
    console.log(JSON.stringify(reply));
  }
}
for (const d of devices.values()) d.close();
poller.close();
