/**
 * The LocalAPI: HTTP over a unix socket (mode 0600). warren's own CLI talks
 * to a running node under `/warren/v0/` (status in warren's shape, ping,
 * netcheck, down); everything else goes to the node's tailscaled-compatible
 * handler (`src/localapi/`), so the stock `tailscale` CLI and LocalAPI
 * clients work on the same socket.
 *
 * @module
 */
import { ensureOwnDir, runtimeDirs, socketPath } from "./runtime_dir.ts";

/** What a node exposes to the LocalAPI. */
export interface LocalApiHandlers {
  /** The node's status as JSON-able data (or a promise of it). */
  status(): unknown;
  /** Starts an orderly shutdown; resolves when it is under way. */
  down(): void;
  /** Disco-pings a peer (name or IP) once: tailnet nodes only. */
  ping?(peer: string): Promise<unknown>;
  /** Runs a netcheck report: tailnet nodes only. */
  netcheck?(): Promise<unknown>;
  /** tailscaled's LocalAPI (`/localapi/v0/…`): tailnet nodes only. */
  tailscale?(req: Request): Promise<Response>;
}

/** Where warren's own CLI endpoints live on the socket, apart from tailscaled's. */
export const WARREN_API = "/warren/v0";

/** A listening LocalAPI. */
export interface LocalApiServer {
  /** The socket path. */
  readonly path: string;
  /** Stops listening and removes the socket. */
  close(): Promise<void>;
}

/**
 * Listens on the socket for interface `tun`, in the first of `dirs` (see
 * {@linkcode runtimeDirs}) where it can: a directory this user cannot
 * create or bind in is passed over for the next. A stale socket there (a
 * node that died) is replaced.
 */
export async function serveLocalApi(
  tun: string,
  h: LocalApiHandlers,
  dirs: string[] = runtimeDirs(),
): Promise<LocalApiServer> {
  const failures: string[] = [];
  for (const dir of dirs) {
    try {
      return await listenIn(dir, tun, h);
    } catch (e) {
      failures.push(`${dir}: ${e instanceof Error ? e.message : e}`);
    }
  }
  throw new Error(`Cannot create the LocalAPI socket for ${tun} (${failures.join("; ")})`);
}

async function listenIn(dir: string, tun: string, h: LocalApiHandlers): Promise<LocalApiServer> {
  await ensureOwnDir(dir);
  await removeStaleSockets(dir);
  return await serveLocalApiAt(`${dir}/${tun}.sock`, h, { removeDir: true });
}

/**
 * Removes the sockets of nodes that died without cleaning up (SIGKILL, a crash): nobody
 * accepts on them. Left alone, a namespace created later with the same inode number would
 * find them and `tun status` would report nodes that are not there.
 */
async function removeStaleSockets(dir: string): Promise<void> {
  for (const e of Deno.readDirSync(dir)) {
    if (!e.name.endsWith(".sock")) continue;
    const path = `${dir}/${e.name}`;
    try {
      (await Deno.connect({ transport: "unix", path })).close();
    } catch (err) {
      if (err instanceof Deno.errors.ConnectionRefused) await Deno.remove(path).catch(() => {});
    }
  }
}

/**
 * Listens on the socket at `path` (tailscaled's `--socket`, e.g.
 * /var/run/tailscale/tailscaled.sock, so the stock `tailscale` CLI finds the node); its
 * directory is created if missing. A stale socket there is replaced.
 */
export async function serveLocalApiAt(
  path: string,
  h: LocalApiHandlers,
  opts: { removeDir?: boolean } = {},
): Promise<LocalApiServer> {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  try {
    await Deno.remove(path); // a stale socket of a node that died
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const server = Deno.serve({ path, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (!url.pathname.startsWith(`${WARREN_API}/`) && h.tailscale) return h.tailscale(req);
    if (url.pathname === `${WARREN_API}/status` && req.method === "GET") {
      return Response.json(await h.status());
    }
    try {
      if (url.pathname === `${WARREN_API}/ping` && req.method === "POST" && h.ping) {
        return Response.json(await h.ping(url.searchParams.get("peer") ?? ""));
      }
      if (url.pathname === `${WARREN_API}/netcheck` && req.method === "GET" && h.netcheck) {
        return Response.json(await h.netcheck());
      }
    } catch (e) {
      return Response.json({ error: e instanceof Error ? e.message : String(e) }, { status: 400 });
    }
    if (url.pathname === `${WARREN_API}/down` && req.method === "POST") {
      queueMicrotask(() => h.down());
      return Response.json({ ok: true });
    }
    return Response.json({ error: `no such endpoint ${req.method} ${url.pathname}` }, {
      status: 404,
    });
  });
  try {
    await Deno.chmod(path, 0o600);
  } catch (e) {
    await server.shutdown();
    throw e;
  }
  return {
    path,
    async close() {
      await server.shutdown();
      await Deno.remove(path).catch(() => {}); // the server may have removed it already
      // The directory is per network namespace: leave nothing behind once its last node stops.
      if (opts.removeDir) {
        await Deno.remove(dir).catch(() => {
          // another node of this namespace still has its socket there
        });
      }
    },
  };
}

/** Raised when no node answers on the socket. */
export class NodeNotRunningError extends Error {
  /**
   * Names the interface and the socket path that had no listener.
   *
   * @param tun the interface whose node was asked for
   * @param dirs the directories searched (default: this user's)
   */
  constructor(tun: string, dirs: string[] = runtimeDirs()) {
    super(`No warren node is running for ${tun} (nothing listening on ${socketPath(tun, dirs)})`);
    this.name = "NodeNotRunningError";
  }
}

/**
 * Sends one request to the node of `tun` and returns its JSON body. Looks
 * for its socket in each of `dirs` in turn, past stale ones nobody listens on.
 */
export async function callLocalApi(
  tun: string,
  method: "GET" | "POST",
  path: string,
  dirs: string[] = runtimeDirs(),
): Promise<unknown> {
  const { status, body } = await requestLocalApi(tun, method, path, undefined, dirs);
  const json = JSON.parse(body);
  if (status !== 200) throw new Error(`LocalAPI ${path}: ${json.error ?? status}`);
  return json;
}

/**
 * Sends one request (with an optional JSON body) to the node of `tun` and returns the
 * status and body text, whatever the status. The Host is the one tailscale's clients send,
 * so `/localapi/v0/` accepts it as well as warren's `/warren/v0/`.
 */
export async function requestLocalApi(
  tun: string,
  method: string,
  path: string,
  body?: unknown,
  dirs: string[] = runtimeDirs(),
): Promise<{ status: number; body: string }> {
  let conn: Deno.UnixConn | null = null;
  for (const dir of dirs) {
    try {
      conn = await Deno.connect({ transport: "unix", path: `${dir}/${tun}.sock` });
      break;
    } catch {
      // No socket, a stale one, or a directory we may not enter: look in the next.
    }
  }
  if (conn === null) throw new NodeNotRunningError(tun, dirs);
  try {
    const payload = new TextEncoder().encode(body === undefined ? "" : JSON.stringify(body));
    const head = `${method} ${path} HTTP/1.1\r\nHost: local-tailscaled.sock\r\n` +
      (body === undefined ? "" : "Content-Type: application/json\r\n") +
      `Content-Length: ${payload.length}\r\nConnection: close\r\n\r\n`;
    const req = new Uint8Array([...new TextEncoder().encode(head), ...payload]);
    for (let off = 0; off < req.length;) off += await conn.write(req.subarray(off));
    const raw = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
    const split = raw.indexOf("\r\n\r\n");
    const headers = raw.slice(0, split);
    let text = raw.slice(split + 4);
    if (/^transfer-encoding:\s*chunked/im.test(headers)) text = dechunk(text);
    return { status: Number(headers.split(" ")[1]), body: text };
  } finally {
    try {
      conn.close();
    } catch {
      // the readable stream may have closed it already
    }
  }
}

function dechunk(s: string): string {
  let out = "";
  for (;;) {
    const nl = s.indexOf("\r\n");
    const n = parseInt(s.slice(0, nl), 16);
    if (!(n > 0)) return out;
    out += s.slice(nl + 2, nl + 2 + n);
    s = s.slice(nl + 4 + n);
  }
}
