/**
 * Test helpers: a DERP server on loopback, and small waits. Used by tests and the
 * benchmark; not part of the production path.
 *
 * @module
 */

import { DerpServer, type DerpServerOptions } from "./server.ts";
import { type DerpHttpOptions, DerpHttpServer } from "./http_server.ts";
import { listenPlainDerp } from "./ffi_listener.ts";
import { listenTlsDerp } from "./ffi_tls_listener.ts";
import type { DerpClient, DerpMessage } from "./client.ts";
import { generateNodePrivate } from "../key/node_key.ts";

/** A running loopback server. */
export interface TestServer {
  /** The DERP core. */
  server: DerpServer;
  /** The HTTP front end. */
  http: DerpHttpServer;
  /** `http(s)://127.0.0.1:port/derp`. */
  url: string;
  /** The TCP port. */
  port: number;
  /** Log lines collected. */
  logs: string[];
  /** Stops everything. */
  close(restarting?: { reconnectInMs: number; tryForMs: number }): Promise<void>;
}

/** Starts a DERP server on 127.0.0.1 with an ephemeral port. */
export function startTestServer(
  opts: Partial<DerpServerOptions> & {
    http?: Partial<DerpHttpOptions>;
    tls?: { cert: string; key: string };
    port?: number;
  } = {},
): TestServer {
  const logs: string[] = [];
  const server = new DerpServer({
    privateKey: opts.privateKey ?? generateNodePrivate(),
    logf: (l) => logs.push(l),
    ...opts,
  });
  const http = new DerpHttpServer({ server, logf: (l) => logs.push(l), ...opts.http });
  const listener = opts.tls
    ? listenTlsDerp("127.0.0.1", opts.port ?? 0, opts.tls.cert, opts.tls.key)
    : listenPlainDerp("127.0.0.1", opts.port ?? 0);
  const port = (listener.addr as Deno.NetAddr).port;
  const serving = http.serve(listener);
  return {
    server,
    http,
    port,
    url: `${opts.tls ? "https" : "http"}://127.0.0.1:${port}/derp`,
    logs,
    async close(restarting) {
      http.closeListeners();
      await server.close(restarting, 500);
      http.closeAll();
      await serving;
    },
  };
}

/** Resolves after ms. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls cond every 10 ms until true, failing after timeoutMs. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * Receives until a message of the given type arrives (skipping others), failing
 * after timeoutMs.
 */
export async function recvType<T extends DerpMessage["type"]>(
  c: DerpClient,
  type: T,
  timeoutMs = 5000,
): Promise<Extract<DerpMessage, { type: T }>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`Timed out waiting for a ${type} message`)), timeoutMs);
  });
  try {
    for (;;) {
      const m = await Promise.race([c.recv(), timeout]);
      if (m === null) throw new Error(`Connection closed while waiting for a ${type} message`);
      if (m.type === type) return m as Extract<DerpMessage, { type: T }>;
    }
  } finally {
    clearTimeout(timer);
  }
}
