/**
 * A DERP server client's incoming frames: the pull loop for ordinary
 * connections, push delivery for push_conn.ts connections, and what each
 * frame type does.
 *
 * @module
 */

import { FrameType, KEY_LEN, MAX_SERVER_FRAME_LEN } from "./constants.ts";
import type { Frame, FrameReader } from "./frame.ts";
import { FrameAssembler } from "./frame_assembler.ts";
import { decodeNotePreferred, decodePing } from "./messages.ts";
import type { DerpMetrics } from "./metrics.ts";
import type { PushConn } from "./push_conn.ts";
import type { ServerClient } from "./server_client.ts";
import type { ClientRegistry } from "./server_registry.ts";
import type { PacketRouter } from "./server_routing.ts";

/** What a client's frames act on. */
export interface FrameContext {
  /** Clients, watchers and mesh routes. */
  registry: ClientRegistry;
  /** Packet delivery. */
  router: PacketRouter;
  /** Counters. */
  metrics: DerpMetrics;
}

/** Handles one frame from a client; throws to close it for a protocol error. */
export function handleClientFrame(c: ServerClient, f: Frame, ctx: FrameContext): void {
  ctx.registry.noteWriter(c);
  switch (f.type) {
    case FrameType.SendPacket:
      ctx.router.sendPacket(c, f.payload);
      break;
    case FrameType.ForwardPacket:
      ctx.router.forwardPacket(c, f.payload);
      break;
    case FrameType.NotePreferred:
      c.preferred = decodeNotePreferred(f.payload);
      break;
    case FrameType.Ping:
      ctx.metrics.pings++;
      c.enqueuePong(decodePing(f.payload));
      break;
    case FrameType.WatchConns:
      if (f.payload.length !== 0) throw new Error("WatchConns frame has a payload");
      if (!c.canMesh) throw new Error("WatchConns without the mesh key");
      ctx.registry.addWatcher(c);
      break;
    case FrameType.ClosePeer:
      if (f.payload.length !== KEY_LEN) throw new Error("ClosePeer frame has the wrong size");
      if (!c.canMesh) throw new Error("ClosePeer without the mesh key");
      ctx.registry.closePeer(c, f.payload);
      break;
    default:
      ctx.metrics.unknownFrames++;
  }
}

/** Reads frames until the client closes or the stream ends; rejects on a protocol error. */
export async function readClientFrames(
  c: ServerClient,
  reader: FrameReader,
  onFrame: (f: Frame) => void,
): Promise<void> {
  while (!c.closed) {
    const f = reader.tryFrame(MAX_SERVER_FRAME_LEN);
    if (f === null) {
      if (!(await reader.fill())) return;
      continue;
    }
    onFrame(f);
  }
}

/**
 * Push delivery (push_conn.ts): frames are handled as bytes arrive, so an idle client
 * holds no pending read. Returns at once; finish or fail runs when the stream ends.
 */
export function pushClientFrames(
  c: ServerClient,
  conn: PushConn,
  reader: FrameReader,
  onFrame: (f: Frame) => void,
  fail: (e: Error) => void,
  finish: (why: string) => void,
): Promise<void> {
  const asm = new FrameAssembler();
  const deliver = (f: Frame) => {
    if (c.closed) return false;
    onFrame(f);
  };
  const feed = (chunk: Uint8Array) => {
    if (c.closed) return;
    try {
      asm.push(chunk, MAX_SERVER_FRAME_LEN, deliver);
    } catch (e) {
      fail(e as Error);
    }
  };
  // Bytes that arrived with the handshake come first.
  const early = reader.takeBuffered();
  if (early.length > 0) feed(early);
  conn.push(feed, (err) => {
    if (err) fail(err);
    else if (asm.partial && !c.closed) fail(new Error("DERP stream ended inside a frame"));
    else finish("closed by client");
  });
  return Promise.resolve();
}
