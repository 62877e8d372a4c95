/**
 * The server behind `warren tun status --web`: the live status page of every
 * network in the process, on 127.0.0.1 by default.
 *
 * - `GET /` the page, rendered on the server (it works without JavaScript);
 * - `GET /events` Server-Sent Events, one `{"networks": …}` frame per change
 *   and a keep-alive comment every 15 s;
 * - `GET /status.json` the same JSON once.
 *
 * The status is polled only while a browser listens on `/events`.
 *
 * @module
 */
import type { NodeStatus } from "../daemon/status.ts";
import { hostAllowed } from "./host_guard.ts";
import { PAGE_CSP, renderPage } from "./page.ts";
import { escapeHtml, renderNetworks, type StatusDocument } from "./render.ts";
import { SseHub } from "./sse.ts";

/** Listen address when none is given. */
export const DEFAULT_STATUS_HOSTNAME = "127.0.0.1";
/** Listen port when none is given. */
export const DEFAULT_STATUS_PORT = 8384;

/** Options of {@link serveStatusPage}. */
export interface StatusPageOptions {
  /** Listen address; default 127.0.0.1. */
  hostname?: string;
  /** Listen port; default 8384, 0 for any free one. */
  port?: number;
  /** One status per network name; called once per poll and per page load. */
  statuses: () => Promise<Record<string, NodeStatus>>;
  /** How often the status is polled while a browser listens, ms; default 1000. */
  intervalMs?: number;
  /** How often an idle event stream gets a comment, ms; default 15000. */
  keepAliveMs?: number;
  /** Event streams open at once; more get 503. Default 8. */
  maxClients?: number;
  /** Frames queued for one event stream before it is dropped; default 16. */
  queueLimit?: number;
  /** Shuts the server down when aborted. */
  signal?: AbortSignal;
}

/** A running status page. */
export interface StatusPageServer {
  /** The bound address (the real port when 0 was asked for). */
  readonly addr: Deno.NetAddr;
  /** The page's URL, e.g. `http://127.0.0.1:8384/`. */
  readonly url: string;
  /** Resolves once the server has shut down. */
  readonly finished: Promise<void>;
  /** Event streams open now. */
  clients(): number;
  /** Event streams dropped so far because they stopped reading. */
  droppedClients(): number;
  /** Ends every event stream and stops listening. */
  shutdown(): Promise<void>;
  /** Same as {@link StatusPageServer.shutdown}. */
  [Symbol.asyncDispose](): Promise<void>;
}

const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Starts the status page server.
 *
 * @example
 * ```ts ignore
 * import { serveStatusPage } from "./status_page.ts";
 * const page = serveStatusPage({ statuses: async () => ({ corp: await nodeStatus() }) });
 * console.log(`status page on ${page.url}`);
 * await page.finished;
 * ```
 */
export function serveStatusPage(opts: StatusPageOptions): StatusPageServer {
  const hostname = opts.hostname ?? DEFAULT_STATUS_HOSTNAME;
  const intervalMs = opts.intervalMs ?? 1000;
  const hub = new SseHub({ maxClients: opts.maxClients ?? 8, queueLimit: opts.queueLimit ?? 16 });
  let closed = false;
  let polling = false;
  let wake: (() => void) | null = null;

  const load = async (): Promise<StatusDocument> => ({ networks: await opts.statuses() });

  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      while (hub.size > 0 && !closed) {
        try {
          hub.publish(JSON.stringify(await load()));
        } catch (e) {
          hub.publish(
            JSON.stringify({ error: `Cannot read status: ${errorText(e)}` }),
            "unavailable",
          );
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, intervalMs);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = null;
      }
    } finally {
      polling = false;
      hub.forget();
    }
  };

  const handler = async (req: Request): Promise<Response> => {
    if (!hostAllowed(req.headers.get("host"), { hostname, port: server.addr.port })) {
      return new Response("Forbidden: the Host header does not name this server\n", {
        status: 403,
        headers: SECURITY_HEADERS,
      });
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("Method not allowed\n", {
        status: 405,
        headers: { ...SECURITY_HEADERS, allow: "GET, HEAD" },
      });
    }
    const path = new URL(req.url).pathname;
    if (path === "/") {
      const headers = {
        ...SECURITY_HEADERS,
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": PAGE_CSP,
      };
      try {
        const body = renderPage(renderNetworks(await load(), Date.now()));
        return new Response(body, { headers });
      } catch (e) {
        const body = renderPage(
          `<p class="error">${escapeHtml(`Cannot read status: ${errorText(e)}`)}</p>`,
        );
        return new Response(body, { status: 503, headers });
      }
    }
    if (path === "/status.json") {
      try {
        return Response.json(await load(), { headers: SECURITY_HEADERS });
      } catch (e) {
        return Response.json({ error: `Cannot read status: ${errorText(e)}` }, {
          status: 503,
          headers: SECURITY_HEADERS,
        });
      }
    }
    if (path === "/events") {
      const stream = closed ? null : hub.open();
      if (stream === null) {
        return new Response("Too many status page clients\n", {
          status: 503,
          headers: { ...SECURITY_HEADERS, "retry-after": "5" },
        });
      }
      poll();
      return new Response(stream, {
        headers: { ...SECURITY_HEADERS, "content-type": "text/event-stream; charset=utf-8" },
      });
    }
    return new Response("Not found\n", { status: 404, headers: SECURITY_HEADERS });
  };

  const server = Deno.serve({
    hostname,
    port: opts.port ?? DEFAULT_STATUS_PORT,
    onListen() {},
    // Deno reports here the error a dropped or shut-down event stream ends
    // with; that is the intended end of the stream, and a library prints nothing.
    onError: () => new Response("Internal error\n", { status: 500, headers: SECURITY_HEADERS }),
  }, handler);
  const keepAlive = setInterval(() => hub.keepAlive(), opts.keepAliveMs ?? 15_000);

  const shutdown = async () => {
    if (!closed) {
      closed = true;
      clearInterval(keepAlive);
      opts.signal?.removeEventListener("abort", onAbort);
      hub.close();
      wake?.();
    }
    await server.shutdown();
  };
  const onAbort = () => void shutdown();
  if (opts.signal?.aborted) queueMicrotask(onAbort);
  else opts.signal?.addEventListener("abort", onAbort);

  const addr = server.addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return {
    addr,
    url: `http://${host}:${addr.port}/`,
    finished: server.finished,
    clients: () => hub.size,
    droppedClients: () => hub.dropped,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
