/**
 * The `POST /ts2021` upgrade (protocol doc §2.2–2.5): validate the request,
 * switch protocols, answer the Noise IK initiation with the server key, refuse
 * capability versions below 113 right after the handshake (as Headscale does),
 * send the EarlyNoise challenge, then hand the connection to HTTP/2.
 *
 * @module
 */

import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { serverAccept } from "../../src/control/controlbase/server.ts";
import { noiseDuplex } from "../../src/control/controlbase/noise_duplex.ts";
import { encodeEarlyPayload } from "../../src/control/early_noise.ts";
import { generatePrivateKey, publicKeyFrom } from "../../src/crypto/x25519.ts";
import { toHex } from "../../src/bytes/hex.ts";
import { formatKey } from "../../src/key/node_key.ts";
import { HANDSHAKE_HEADER, MIN_CAPABILITY_VERSION, UPGRADE_PROTOCOL } from "./constants.ts";
import type { ControlApp } from "./control_app.ts";
import { SocketByteStream } from "./socket_stream.ts";
import type { Logf } from "./types.ts";

/** A reason to refuse the upgrade with HTTP 400 before switching, or null if it is fine. */
export function checkUpgradeRequest(
  headers: IncomingMessage["headers"],
): { error: string } | { initiation: Uint8Array } {
  const upgrade = String(headers.upgrade ?? "");
  if (upgrade === "") return { error: "missing next protocol" };
  if (upgrade.toLowerCase() !== UPGRADE_PROTOCOL) return { error: "unknown next protocol" };
  const hs = headers[HANDSHAKE_HEADER];
  if (typeof hs !== "string" || hs === "") return { error: "missing Tailscale handshake header" };
  try {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(hs)) throw new SyntaxError("not base64");
    return { initiation: Uint8Array.from(atob(hs), (c) => c.charCodeAt(0)) };
  } catch {
    return { error: "invalid tailscale handshake header" };
  }
}

/** Writes a plain HTTP/1.1 error on a raw socket and closes it. */
export function rawHttpError(socket: Duplex, status: number, text: string): void {
  const reason = status === 400 ? "Bad Request" : status === 404 ? "Not Found" : "Error";
  const body = text + "\n";
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${
        new TextEncoder().encode(body).length
      }\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Completes a TS2021 upgrade on a socket node:http handed over. Never throws:
 * failures close that one connection.
 */
export async function acceptTs2021(
  req: IncomingMessage,
  socket: Duplex,
  head: Uint8Array,
  serverPrivateKey: Uint8Array,
  app: ControlApp,
  logf: Logf,
): Promise<void> {
  const checked = checkUpgradeRequest(req.headers);
  if ("error" in checked) {
    logf(`ts2021 refused from ${req.socket.remoteAddress}: ${checked.error}`);
    rawHttpError(socket, 400, checked.error);
    return;
  }
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${UPGRADE_PROTOCOL}\r\nConnection: upgrade\r\n\r\n`,
  );
  const stream = new SocketByteStream(socket, head, req.socket);
  let conn;
  try {
    conn = await serverAccept(stream, serverPrivateKey, checked.initiation);
  } catch (e) {
    logf(`ts2021 handshake failed: ${(e as Error).message}`);
    return;
  }
  const machineKey = formatKey("machine", conn.peerStatic!);
  if (conn.version < MIN_CAPABILITY_VERSION) {
    // Headscale's early-write hook fails for old clients and the connection closes.
    logf(`ts2021 ${machineKey.slice(0, 13)} refused: capability version ${conn.version} < 113`);
    conn.close();
    return;
  }
  const challenge = publicKeyFrom(generatePrivateKey());
  try {
    await conn.write(encodeEarlyPayload({ nodeKeyChallenge: `chalpub:${toHex(challenge)}` }));
  } catch (e) {
    logf(`ts2021 early payload failed: ${(e as Error).message}`);
    conn.close();
    return;
  }
  logf(`ts2021 connection from ${machineKey} version ${conn.version}`);
  app.serveConnection(noiseDuplex(conn), machineKey);
}
