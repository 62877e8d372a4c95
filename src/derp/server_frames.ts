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
import type { PushConn, PushSink } from "./push_conn.ts";
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
function handleClientFrame(c: ServerClient, f: Frame, ctx: FrameContext): void {
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

/** The server side of a {@link ClientSession}. */
export interface SessionHost {
  /** What frames act on. */
  readonly frames: FrameContext;
  /** Called once when a client's frames stop; why is for the log. */
  finished(c: ServerClient, why: string): void;
}

/**
 * One client's incoming side after the handshake: handles its frames and reports once when
 * they stop. For a push connection it is also the connection's sink and its frame assembler,
 * so an idle client costs this one object rather than a set of closures.
 */
export class ClientSession extends FrameAssembler implements PushSink {
  /** The client whose frames these are. */
  readonly client: ServerClient;
  readonly #host: SessionHost;
  #finished = false;

  /** A session for c, reporting to host. */
  constructor(client: ServerClient, host: SessionHost) {
    super();
    this.client = client;
    this.#host = host;
  }

  /**
   * Push delivery (push_conn.ts): frames are handled as bytes arrive, so an idle client
   * holds no pending read. Bytes the reader buffered during the handshake come first.
   */
  start(conn: PushConn, reader: FrameReader): void {
    const early = reader.takeBuffered();
    if (early.length > 0) this.pushed(early);
    conn.push(this);
  }

  /** Handles one frame; false once the client is closed (stops the assembler). */
  frame(f: Frame): boolean | void {
    if (this.client.closed) return false;
    handleClientFrame(this.client, f, this.#host.frames);
  }

  /** A chunk from the connection (see {@link PushSink.pushed}). */
  pushed(chunk: Uint8Array): void {
    if (this.client.closed) return;
    try {
      this.push(chunk, MAX_SERVER_FRAME_LEN, this.frame, this);
    } catch (e) {
      this.fail(e as Error);
    }
  }

  /** The end of the connection's stream (see {@link PushSink.ended}). */
  ended(err?: Error): void {
    if (err) this.fail(err);
    else if (this.partial && !this.client.closed) {
      this.fail(new Error("DERP stream ended inside a frame"));
    } else this.finish("closed by client");
  }

  /** The frames stopped with an error: a protocol error unless the client was closed. */
  fail(e: Error): void {
    if (this.client.closed) return this.finish("closed by client");
    this.#host.frames.metrics.protocolErrors++;
    this.finish(e.message);
  }

  /** The frames stopped; the host hears of it once. */
  finish(why: string): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#host.finished(this.client, why);
  }
}
