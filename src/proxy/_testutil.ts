/**
 * Fixtures for the proxy tests: a local HTTP origin, a UDP echo server, curl,
 * a minimal SOCKS5 client and fake dialers. Never dials the internet.
 *
 * @module
 */

import dgram from "node:dgram";
import type { ProxyConn, ProxyDatagram, ProxyDatagramSocket, ProxyDialer } from "./types.ts";

/** A local HTTP server answering `origin <method> <path>` (and echoing a POST body). */
export interface Origin extends AsyncDisposable {
  /** Its port on 127.0.0.1. */
  port: number;
}

/** Starts the origin on 127.0.0.1:0. */
export function startOrigin(): Origin {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/big") return new Response(new Uint8Array(1 << 20).fill(97));
    const body = req.method === "POST" ? ` body=${await req.text()}` : "";
    const hop = req.headers.get("proxy-authorization") ?? req.headers.get("proxy-connection");
    return new Response(
      `origin ${req.method} ${url.pathname}${url.search}${body}${hop ? " LEAKED" : ""}`,
      { headers: { "Keep-Alive": "timeout=5", "X-Origin": "1" } },
    );
  });
  return {
    port: server.addr.port,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** Result of a curl run. */
export interface CurlResult {
  /** Exit code (0 = success; 97 = SOCKS5 auth failed; 7 = failed to connect). */
  code: number;
  /** Response body (or what -i / -w printed). */
  stdout: string;
  /** Error text. */
  stderr: string;
}

/** Runs curl with a 10 s cap. */
export async function curl(...args: string[]): Promise<CurlResult> {
  const out = await new Deno.Command("curl", {
    args: ["-sS", "--max-time", "10", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** A UDP echo server on 127.0.0.1 that replies `echo:<payload>`. */
export async function startUdpEcho(): Promise<{ port: number; close(): void }> {
  const s = dgram.createSocket("udp4");
  s.on("message", (m: Uint8Array, r: dgram.RemoteInfo) => {
    s.send(new Uint8Array([...new TextEncoder().encode("echo:"), ...m]), r.port, r.address);
  });
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  return { port: s.address().port, close: () => s.close() };
}

/** A raw TCP client: connect, write, read until close or `until` says stop. */
export async function rawExchange(port: number, bytes: Uint8Array): Promise<Uint8Array> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(bytes);
    const chunks: number[] = [];
    const buf = new Uint8Array(4096);
    while (true) {
      const n = await c.read(buf).catch(() => null);
      if (n === null) break;
      chunks.push(...buf.subarray(0, n));
    }
    return new Uint8Array(chunks);
  } finally {
    c.close();
  }
}

/** Reads exactly `n` bytes from `c` (throws at EOF). */
export async function readN(c: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await c.read(out.subarray(off));
    if (got === null) throw new Error(`EOF after ${off} of ${n} bytes`);
    off += got;
  }
  return out;
}

/** A dialer that records what it was asked and fails every dial. */
export function recordingDialer(name: string, log: string[]): ProxyDialer {
  return {
    dialTcp(host: string, port: number): Promise<ProxyConn> {
      log.push(`${name} tcp ${host}:${port}`);
      return Promise.reject(new Error(`${name} fake does not dial`));
    },
    openUdp(): Promise<ProxyDatagramSocket> {
      log.push(`${name} udp`);
      const sock: ProxyDatagramSocket = {
        send(_data, hostname, port) {
          log.push(`${name} udp send ${hostname}:${port}`);
          return Promise.resolve();
        },
        receive: () => new Promise(() => {}),
        close() {},
      };
      return Promise.resolve(sock);
    },
  };
}

/**
 * The next datagram on `sock`; a lost one fails the test after 5 s instead of
 * hanging it (a guard against hangs, not a measurement).
 */
export async function receiveOrFail(sock: ProxyDatagramSocket): Promise<ProxyDatagram> {
  let guard: ReturnType<typeof setTimeout> | undefined;
  const lost = new Promise<never>((_, reject) => {
    guard = setTimeout(() => reject(new Error("No datagram arrived")), 5_000);
  });
  try {
    const d = await Promise.race([sock.receive(), lost]);
    if (d === null) throw new Error("The socket closed before a datagram arrived");
    return d;
  } finally {
    clearTimeout(guard);
  }
}
