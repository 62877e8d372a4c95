/**
 * The server side of the DERP handshake: send the server key, read and open
 * the client's ClientInfo, check a presented mesh key in constant time, and
 * ask the admission controller about everyone else. Failures carry a short
 * reason label for the handshake-failure counters.
 *
 * @module
 */

import { type DuplexConn, writeAll } from "./conn.ts";
import { FrameType, MAX_CLIENT_INFO_LEN } from "./constants.ts";
import { type Frame, type FrameReader, FrameTooLargeError } from "./frame.ts";
import { type ClientInfo, decodeClientInfo, encodeServerKey } from "./messages.ts";
import type { DerpMetrics } from "./metrics.ts";

/** Admission check: resolves if the client may connect, rejects with the reason otherwise. */
export type VerifyClient = (nodeKey: Uint8Array, sourceIp: string) => Promise<void>;

/** What the server brings to a handshake. */
export interface ServerHandshakeOptions {
  /** The server's node public key, sent first. */
  publicKey: Uint8Array;
  /** The server's node private key, to open ClientInfo. */
  privateKey: Uint8Array;
  /** Mesh pre-shared key; clients presenting it may mesh. */
  meshKey?: Uint8Array;
  /** Admission controller (mesh peers are exempt). */
  verify?: VerifyClient;
  /** Counts admission rejections. */
  metrics: DerpMetrics;
  /** The ServerKey frame, if already encoded (it is the same for every client). */
  serverKeyFrame?: Uint8Array;
}

/** A client that completed the handshake. */
export interface HandshakeResult {
  /** The client's node public key. */
  key: Uint8Array;
  /** What it said about itself. */
  info: ClientInfo;
  /** Whether it presented the right mesh key. */
  canMesh: boolean;
  /** The box key of the server and client pair, for the ServerInfo reply. */
  boxKey: Uint8Array;
}

/**
 * Runs the handshake on a fresh connection. Rejects with an error whose
 * {@linkcode handshakeReason} labels what failed.
 */
export async function serverHandshake(
  conn: DuplexConn,
  reader: FrameReader,
  remoteHost: string,
  opts: ServerHandshakeOptions,
): Promise<HandshakeResult> {
  await writeAll(conn, opts.serverKeyFrame ?? encodeServerKey(opts.publicKey));
  let f: Frame | null;
  try {
    f = await reader.readFrame(MAX_CLIENT_INFO_LEN);
  } catch (e) {
    if (e instanceof FrameTooLargeError) throw new HandshakeError("oversize", e.message);
    throw new HandshakeError("eof", (e as Error).message);
  }
  if (f === null) throw new HandshakeError("eof", "connection closed before ClientInfo");
  if (f.type !== FrameType.ClientInfo) {
    throw new HandshakeError(
      "bad_frame",
      `first frame is type 0x${f.type.toString(16)}, want ClientInfo`,
    );
  }
  let opened;
  try {
    opened = decodeClientInfo(f.payload, opts.privateKey);
  } catch (e) {
    const msg = (e as Error).message;
    const reason = msg.includes("does not open")
      ? "bad_box"
      : msg.includes("too short")
      ? "short"
      : "bad_json";
    throw new HandshakeError(reason, msg);
  }
  const canMesh = isMeshKey(opened.info.meshKey, opts.meshKey);
  if (opened.info.meshKey && !canMesh) {
    throw new HandshakeError("bad_mesh_key", "client presented a wrong mesh key");
  }
  if (!canMesh && opts.verify) {
    try {
      await opts.verify(opened.clientPublic, remoteHost);
    } catch (e) {
      opts.metrics.verifyRejects++;
      throw new HandshakeError("rejected", `admission denied: ${(e as Error).message}`);
    }
  }
  return { key: opened.clientPublic, info: opened.info, canMesh, boxKey: opened.boxKey };
}

/** The metrics label of a handshake failure: its reason, or "io" for any other error. */
export function handshakeReason(e: unknown): string {
  return e instanceof HandshakeError ? e.reason : "io";
}

/** A handshake failure with a short reason label for metrics. */
class HandshakeError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
    this.name = "HandshakeError";
  }
}

function isMeshKey(k: Uint8Array | undefined, meshKey: Uint8Array | undefined): boolean {
  if (!k || !meshKey || k.length !== meshKey.length) return false;
  let d = 0;
  for (let i = 0; i < k.length; i++) d |= k[i] ^ meshKey[i];
  return d === 0;
}
