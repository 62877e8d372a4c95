/**
 * `TestControlServer`: a small Headscale-like control server for end-to-end
 * tests — `/key`, the `/ts2021` Noise upgrade carrying HTTP/2 register and map
 * endpoints, and a plain-HTTP admin API, all on one listener.
 *
 * @module
 */

import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { generatePrivateKey, publicKeyFrom } from "../../src/crypto/x25519.ts";
import { formatKey } from "../../src/key/node_key.ts";
import type { FilterRule, OverTLSPublicKeyResponse } from "../../src/netmap/tailcfg.ts";
import { handleAdmin, readRequestBytes } from "./admin.ts";
import { PING_RESPONSE_PATH, type PingAnswer, PingBook, type PingSpec } from "./pings.ts";
import { resolveConfig, type TailnetOptions } from "./config.ts";
import { NOISE_CAPABILITY_VERSION, ZERO_MACHINE_KEY } from "./constants.ts";
import { ControlApp } from "./control_app.ts";
import { goTime, homeDerpOf, isExpired } from "./mapper.ts";
import { nodeFqdn } from "./names.ts";
import { Tailnet } from "./tailnet.ts";
import { type ControlState, readStateFile, writeStateFile } from "./state_file.ts";
import { acceptTs2021, rawHttpError } from "./ts2021.ts";
import type { Logf, PreAuthKey, PreAuthKeySpec } from "./types.ts";

/** Options of {@link TestControlServer.start}. */
export interface TestControlServerOptions extends TailnetOptions {
  /** Address to listen on (default 127.0.0.1). */
  hostname?: string;
  /** Port (default 0 = any free port). */
  port?: number;
  /**
   * Noise static private key. Default: the one in {@link stateFile} if there
   * is one, else fresh. Given explicitly, it wins over the stored key (and
   * replaces it in the file).
   */
  serverPrivateKey?: Uint8Array;
  /**
   * Keep the tailnet in this file (as Headscale keeps it in its database):
   * loaded on start when it exists, rewritten atomically (mode 0600) after
   * every change that matters, so a killed server can be started again and
   * its nodes reconnect with the same identity, addresses and names.
   * Pending interactive logins, policy and DNS settings are not kept.
   */
  stateFile?: string;
  /** Pre-auth keys to create: plain strings are reusable, non-ephemeral. */
  authKeys?: (string | PreAuthKeySpec)[];
  /** One line per event (default: silent). */
  logf?: Logf;
}

/** A node as the admin API lists it. */
export interface AdminNode {
  /** Node ID. */
  id: number;
  /** Unique DNS label. */
  givenName: string;
  /** Reported hostname. */
  hostname: string;
  /** MagicDNS FQDN with trailing dot. */
  fqdn: string;
  /** `nodekey:` text. */
  nodeKey: string;
  /** `mkey:` text. */
  machineKey: string;
  /** `discokey:` text or "". */
  discoKey: string;
  /** Tailnet IPv4. */
  ipv4: string;
  /** Tailnet IPv6. */
  ipv6: string;
  /** UDP endpoints. */
  endpoints: string[];
  /** Home DERP region, 0 if none. */
  homeDerp: number;
  /** Online (has an open map stream, or closed one within the grace period). */
  online: boolean;
  /** Open map streams. */
  streams: number;
  /** Ephemeral node. */
  ephemeral: boolean;
  /** Key expired / logged out. */
  expired: boolean;
  /** Registration time (RFC 3339). */
  created: string;
}

/**
 * The server. Start it, point clients at {@link url}, drive it through the
 * methods below (or the admin API at the same URL), close it.
 *
 * @example
 * ```ts ignore
 * const srv = await TestControlServer.start({ authKeys: ["k"], derp: { urls: ["http://127.0.0.1:3340"] } });
 * try { console.log(srv.url, srv.publicKey); } finally { await srv.close(); }
 * ```
 */
export class TestControlServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The server's Noise public key in `mkey:` form. */
  readonly publicKey: string;
  /** The tailnet state, for direct inspection. */
  readonly tailnet: Tailnet;
  readonly #app: ControlApp;
  readonly #http: http.Server;
  readonly #logf: Logf;
  readonly #sockets = new Set<Duplex>();
  readonly #pings: PingBook;
  #refuseUntil = 0;

  private constructor(
    url: string,
    privateKey: Uint8Array,
    tailnet: Tailnet,
    app: ControlApp,
    httpServer: http.Server,
    logf: Logf,
    pings: PingBook,
  ) {
    this.url = url;
    this.publicKey = formatKey("machine", publicKeyFrom(privateKey));
    this.tailnet = tailnet;
    this.#app = app;
    this.#http = httpServer;
    this.#logf = logf;
    this.#pings = pings;
  }

  /**
   * Starts listening and resolves once the port is bound. With a state file,
   * a file that cannot be read or parsed rejects with a one-line Error
   * (`Cannot load control state from <path>: <why>`) before anything listens.
   */
  static async start(opts: TestControlServerOptions = {}): Promise<TestControlServer> {
    const logf = opts.logf ?? (() => {});
    const stored = opts.stateFile === undefined ? null : readStateFile(opts.stateFile);
    const privateKey = opts.serverPrivateKey ?? stored?.privateKey ?? generatePrivateKey();
    const httpServer = http.createServer();
    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(opts.port ?? 0, opts.hostname ?? "127.0.0.1", () => resolve());
    });
    const addr = httpServer.address() as AddressInfo;
    const host = addr.family === "IPv6" || addr.address.includes(":")
      ? `[${addr.address}]`
      : addr.address;
    const url = `http://${host}:${addr.port}`;
    const tailnet = new Tailnet(resolveConfig(opts, url), logf);
    try {
      if (stored) restoreTailnet(tailnet, stored, opts.stateFile!);
      for (const k of opts.authKeys ?? []) {
        const spec = typeof k === "string" ? { key: k } : k;
        // A restarted server is given the same keys again; the stored one keeps its used flag.
        if (spec.key === undefined || !tailnet.hasPreAuthKey(spec.key)) tailnet.addPreAuthKey(spec);
      }
      if (opts.stateFile !== undefined) {
        const path = opts.stateFile;
        const save = () => writeStateFile(path, { privateKey, tailnet: tailnet.snapshot() });
        // The first write proves the file is writable and keeps the key from now on.
        save();
        tailnet.setPersistHook(() => {
          try {
            save();
          } catch (e) {
            logf(`state: cannot write ${path}: ${(e as Error).message}`);
          }
        });
      }
    } catch (e) {
      tailnet.close();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      if (e instanceof Error && e.message.startsWith("Cannot load control state")) throw e;
      throw new Error(
        `Cannot keep control state in ${opts.stateFile}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const pings = new PingBook();
    const app = new ControlApp(tailnet, logf, pings);
    const srv = new TestControlServer(url, privateKey, tailnet, app, httpServer, logf, pings);
    httpServer.on("connection", (s: Duplex) => {
      srv.#sockets.add(s);
      s.on("close", () => srv.#sockets.delete(s));
    });
    httpServer.on("request", (req, res) => {
      srv.#onRequest(req, res).catch((e) => {
        logf(`http: ${req.method} ${req.url} failed: ${(e as Error).message}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    httpServer.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Uint8Array) => {
      const path = (req.url ?? "").split("?")[0];
      if (path !== "/ts2021") {
        rawHttpError(socket, 404, "404 page not found");
        return;
      }
      if (Date.now() < srv.#refuseUntil) {
        rawHttpError(socket, 503, "control outage (test)");
        return;
      }
      acceptTs2021(req, socket, head, privateKey, app, logf);
    });
    logf(`control listening on ${url} key ${srv.publicKey}`);
    if (opts.stateFile !== undefined) {
      logf(
        stored
          ? `state loaded from ${opts.stateFile}: ${stored.tailnet.nodes.length} nodes, ` +
            `${stored.tailnet.preAuthKeys.length} pre-auth keys`
          : `state kept in ${opts.stateFile} (new)`,
      );
    }
    return srv;
  }

  /** Every node, by ID. */
  nodes(): AdminNode[] {
    return this.tailnet.listNodes().map((n) => ({
      id: n.id,
      givenName: n.givenName,
      hostname: n.hostname,
      fqdn: nodeFqdn(n.givenName, this.tailnet.config.baseDomain),
      nodeKey: n.nodeKey,
      machineKey: n.machineKey,
      discoKey: n.discoKey,
      ipv4: n.ipv4,
      ipv6: n.ipv6,
      endpoints: [...n.endpoints],
      homeDerp: homeDerpOf(n),
      online: n.online === true,
      streams: n.sessions,
      ephemeral: n.ephemeral,
      expired: isExpired(n),
      created: goTime(n.created),
    }));
  }

  /** Deletes a node (peers get `PeersRemoved`, its own streams end); false if unknown. */
  deleteNode(id: number): boolean {
    return this.tailnet.deleteNode(id);
  }

  /** Approves a pending interactive registration by auth ID (the last path segment of the AuthURL). */
  approve(authId: string): boolean {
    return this.tailnet.approve(authId);
  }

  /** Creates a pre-auth key. */
  createPreAuthKey(spec: PreAuthKeySpec = {}): PreAuthKey {
    const k = this.tailnet.addPreAuthKey(spec);
    this.#logf(
      `pre-auth key ${k.id} created${k.reusable ? " reusable" : ""}${
        k.ephemeral ? " ephemeral" : ""
      }`,
    );
    return k;
  }

  /** Sets the packet filter (undefined = allow all) and pushes it to every stream. */
  setFilter(rules: FilterRule[] | undefined): void {
    this.tailnet.setFilter(rules);
  }

  /**
   * Simulates a control outage: drops every control connection (and so every
   * map stream); with refuseMs, new `/ts2021` upgrades get 503 for that long.
   * Returns how many map streams were open.
   */
  killAllStreams(refuseMs = 0): number {
    const n = this.#app.streamCount;
    this.#refuseUntil = Date.now() + refuseMs;
    this.#app.closeAll();
    this.#logf(`killed ${n} map streams${refuseMs > 0 ? `, refusing for ${refuseMs} ms` : ""}`);
    return n;
  }

  /**
   * Sends one node a PingRequest (as Headscale's debug ping and HA prober do) and
   * waits for its answer; null if none came within timeoutMs.
   */
  async ping(nodeId: number, spec: PingSpec, timeoutMs = 10_000): Promise<PingAnswer | null> {
    const { request, answer } = this.#pings.create(this.tailnet.config.serverUrl, spec, timeoutMs);
    this.tailnet.emit({ reason: "ping", ping: { node: nodeId, request } });
    return await answer;
  }

  /** Stops listening and drops every connection and timer. */
  async close(): Promise<void> {
    this.#app.closeAll();
    this.tailnet.close();
    const closed = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/key" && (req.method === "GET" || req.method === "HEAD")) {
      const v = Number(url.searchParams.get("v") ?? "0");
      if (!(v >= NOISE_CAPABILITY_VERSION)) {
        res.writeHead(200);
        res.end();
        return;
      }
      const body: OverTLSPublicKeyResponse = {
        legacyPublicKey: ZERO_MACHINE_KEY,
        publicKey: this.publicKey,
      };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
      return;
    }
    if (url.pathname === "/ts2021") {
      // An upgrade request comes through the "upgrade" event; this one lacks the header.
      res.writeHead(400, { "content-type": "text/plain; charset=utf-8" });
      res.end("missing next protocol\n");
      return;
    }
    if (url.pathname.startsWith("/register/") && req.method === "GET") {
      const id = url.pathname.slice("/register/".length);
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      res.end(
        `Registration ${id} is waiting. Approve it with: POST ${this.url}/admin/approve/${id}\n`,
      );
      return;
    }
    if (url.pathname === PING_RESPONSE_PATH && (req.method === "HEAD" || req.method === "POST")) {
      const body = await readRequestBytes(req);
      const ok = this.#pings.complete(req.url ?? "", req.method, false, body);
      res.writeHead(ok ? 200 : 404, { "content-type": "text/plain; charset=utf-8" });
      res.end(ok ? "" : "unknown or expired ping\n");
      return;
    }
    if (url.pathname.startsWith("/admin/")) {
      await handleAdmin(this, req, res);
      return;
    }
    if (url.pathname === "/health") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"status":"pass"}\n');
      return;
    }
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end("404 page not found\n");
  }
}

function restoreTailnet(tailnet: Tailnet, stored: ControlState, path: string): void {
  try {
    tailnet.restore(stored.tailnet);
  } catch (e) {
    throw new SyntaxError(`Cannot load control state from ${path}: ${(e as Error).message}`);
  }
}
