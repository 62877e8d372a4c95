/**
 * A minimal TS2021 responder on loopback for this module's tests: `/key`,
 * `POST /ts2021` (upgrade, Noise, early payload) and HTTP/2 handlers
 * supplied by the test. The full test control server lives in tests/control.
 *
 * @module
 */
import http2 from "node:http2";
import { generatePrivateKey, publicKeyFrom } from "../crypto/x25519.ts";
import { formatMachinePublic } from "../key/node_key.ts";
import { serverAccept } from "./controlbase/server.ts";
import { writeAll } from "./controlbase/conn.ts";
import { noiseDuplex } from "./controlbase/noise_duplex.ts";
import { encodeEarlyPayload } from "./early_noise.ts";
import { findHeadEnd } from "./http_head.ts";
import { decodeBase64 } from "./_base64.ts";

/** A handler for one HTTP/2 request over Noise. */
export type H2Handler = (
  req: {
    path: string;
    headers: http2.IncomingHttpHeaders;
    body: Uint8Array;
    machineKey: Uint8Array;
  },
  stream: http2.ServerHttp2Stream,
) => void | Promise<void>;

/** Options for {@link startLoopbackServer}. */
export interface LoopbackServerOptions {
  /** Handles requests by path. */
  handler: H2Handler;
  /** Close the connection right after the handshake for versions below this. */
  minVersion?: number;
  /** Body for `/key` instead of the JSON. */
  keyBody?: string;
  /** Skip the early payload. */
  noEarly?: boolean;
}

/** A running responder. */
export interface LoopbackServer {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Server private key. */
  privateKey: Uint8Array;
  /** Server public key. */
  publicKey: Uint8Array;
  /** Number of TS2021 upgrades accepted. */
  upgrades: number;
  /** Drops every open connection (simulates a server restart). */
  dropAll(): void;
  /** Stops everything. */
  close(): Promise<void>;
}

/** Starts the responder on 127.0.0.1 with a random port. */
export function startLoopbackServer(opts: LoopbackServerOptions): LoopbackServer {
  const privateKey = generatePrivateKey();
  const publicKey = publicKeyFrom(privateKey);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const sessions = new Set<http2.Http2Session>();
  const h2 = http2.createServer();
  const state = {
    url: `http://127.0.0.1:${listener.addr.port}`,
    privateKey,
    publicKey,
    upgrades: 0,
    dropAll() {
      for (const s of sessions) s.destroy();
      for (const c of open) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      open.clear();
      sessions.clear();
    },
    async close() {
      listener.close();
      state.dropAll();
      h2.close();
      await loop.catch(() => {});
    },
  };
  h2.on("session", (s) => sessions.add(s));
  h2.on("stream", (stream, headers) => {
    const parts: Uint8Array[] = [];
    stream.on("data", (c: Uint8Array) => parts.push(c));
    stream.on("end", () => {
      const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let off = 0;
      for (const p of parts) {
        body.set(p, off);
        off += p.length;
      }
      // A stream can end after its session was torn down (the client went away): nothing to answer.
      const session = stream.session as unknown as { warrenMachineKey: Uint8Array } | undefined;
      if (!session || stream.destroyed) return;
      const machineKey = session.warrenMachineKey;
      Promise.resolve(
        opts.handler({ path: String(headers[":path"]), headers, body, machineKey }, stream),
      ).catch(() => stream.destroy());
    });
  });

  const serve = async (conn: Deno.Conn) => {
    open.add(conn);
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(4096);
    while (findHeadEnd(buf) < 0) {
      const n = await conn.read(chunk);
      if (n === null) return;
      const b = new Uint8Array(buf.length + n);
      b.set(buf);
      b.set(chunk.subarray(0, n), buf.length);
      buf = b;
    }
    const end = findHeadEnd(buf);
    const head = new TextDecoder().decode(buf.subarray(0, end));
    const rest = buf.slice(end);
    const [line, ...hdrs] = head.split("\r\n");
    const header = (name: string) =>
      hdrs.find((h) => h.toLowerCase().startsWith(name.toLowerCase() + ":"))?.slice(name.length + 1)
        .trim();
    const enc = new TextEncoder();
    if (line.startsWith("GET /key")) {
      const body = opts.keyBody ??
        JSON.stringify({
          legacyPublicKey: "mkey:" + "0".repeat(64),
          publicKey: formatMachinePublic(publicKey),
        });
      await writeAll(
        conn,
        enc.encode(
          `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        ),
      );
      conn.close();
      open.delete(conn);
      return;
    }
    if (!line.startsWith("POST /ts2021 ")) {
      await writeAll(conn, enc.encode("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
      conn.close();
      return;
    }
    const init = decodeBase64(header("X-Tailscale-Handshake") ?? "");
    await writeAll(
      conn,
      enc.encode(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: tailscale-control-protocol\r\n\r\n",
      ),
    );
    const early = opts.noEarly
      ? undefined
      : encodeEarlyPayload({ nodeKeyChallenge: "chalpub:" + "11".repeat(32) });
    const version = (init[0] << 8) | init[1];
    if (opts.minVersion !== undefined && version < opts.minVersion) {
      // Like Headscale: finish the handshake, then drop the connection.
      const nc = await serverAccept(conn, privateKey, init, { buffered: rest });
      nc.close();
      return;
    }
    const nc = await serverAccept(conn, privateKey, init, { buffered: rest, earlyPayload: early });
    state.upgrades++;
    const duplex = noiseDuplex(nc);
    (duplex as unknown as { warrenMachineKey: Uint8Array }).warrenMachineKey = nc.peerStatic!;
    h2.once("session", (s) => {
      (s as unknown as { warrenMachineKey: Uint8Array }).warrenMachineKey = nc.peerStatic!;
    });
    h2.emit("connection", duplex);
  };

  const loop = (async () => {
    for await (const conn of listener) {
      serve(conn).catch(() => {
        try {
          conn.close();
        } catch { /* already closed */ }
      });
    }
  })();
  return state;
}
