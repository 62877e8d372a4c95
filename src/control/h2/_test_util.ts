/**
 * Test helpers for the HTTP/2 client: a node:http2 server on loopback (the
 * independent peer) with a TCP transport to it, and a scripted transport that
 * replays raw server bytes and records what the client wrote.
 *
 * @module
 */
import http2 from "node:http2";
import type { H2Transport } from "./connection.ts";
import { FrameReader } from "./frame.ts";

/** A transport over a Deno TCP connection. */
export function tcpTransport(conn: Deno.Conn): H2Transport {
  const buf = new Uint8Array(16384);
  let chain = Promise.resolve();
  return {
    async read() {
      const n = await conn.read(buf).catch(() => null);
      return n === null ? null : buf.slice(0, n);
    },
    write(p) {
      chain = chain.then(async () => {
        let off = 0;
        while (off < p.length) off += await conn.write(p.subarray(off));
      });
      return chain;
    },
    close() {
      try {
        conn.close();
      } catch { /* already closed */ }
    },
  };
}

/** A node:http2 server on 127.0.0.1 and one client transport connected to it. */
export async function nodeServer(
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
  settings: http2.Settings = {},
): Promise<{
  transport: H2Transport;
  sessions: http2.ServerHttp2Session[];
  close(): Promise<void>;
}> {
  const server = http2.createServer({ settings });
  const sessions: http2.ServerHttp2Session[] = [];
  server.on("session", (s) => {
    sessions.push(s);
    s.on("error", () => {});
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    onStream(stream, headers);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  return {
    transport: tcpTransport(conn),
    sessions,
    async close() {
      for (const s of sessions) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A transport that plays `script` (then EOF, or hangs when `hang`) and records writes. */
export function scriptedTransport(script: Uint8Array[], hang = false): H2Transport & {
  written: Uint8Array[];
  closedCalls: number;
  frames(): Array<{ type: number; flags: number; streamId: number; payload: Uint8Array }>;
} {
  const queue = [...script];
  const written: Uint8Array[] = [];
  let wake: (() => void) | null = null;
  const t = {
    written,
    closedCalls: 0,
    async read(): Promise<Uint8Array | null> {
      await Promise.resolve();
      const next = queue.shift();
      if (next !== undefined) return next;
      if (!hang || t.closedCalls > 0) return null;
      await new Promise<void>((r) => wake = r);
      return null;
    },
    write(p: Uint8Array): Promise<void> {
      written.push(p.slice());
      return Promise.resolve();
    },
    close() {
      t.closedCalls++;
      wake?.();
    },
    frames() {
      const all = new Uint8Array(written.reduce((n, w) => n + w.length, 0));
      let off = 0;
      for (const w of written) {
        all.set(w, off);
        off += w.length;
      }
      const r = new FrameReader();
      r.push(all.subarray(24)); // past the preface
      const out = [];
      for (let f = r.next(1 << 24); f !== null; f = r.next(1 << 24)) out.push(f);
      return out;
    },
  };
  return t;
}
