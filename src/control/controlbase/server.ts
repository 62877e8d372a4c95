/**
 * Server side of a TS2021 connection after the HTTP upgrade: open the
 * initiation, answer it, optionally send the early payload, and return the
 * established {@link NoiseConn}. Used by test control servers.
 *
 * @module
 */
import { acceptHandshake } from "./handshake.ts";
import { type ByteStream, NoiseConn, writeAll } from "./conn.ts";
import { encodeErrorFrame } from "./frame.ts";

/** Options for {@link serverAccept}. */
export interface ServerAcceptOptions {
  /** Plaintext to send right after the response, corked with it (the EarlyNoise payload). */
  earlyPayload?: Uint8Array;
  /** Bytes already read from the stream after the HTTP request. */
  buffered?: Uint8Array;
  /** Refuse versions below this with an error frame (Headscale: 113). */
  minVersion?: number;
}

/**
 * Accepts a client's initiation (from `X-Tailscale-Handshake`) on `stream`:
 * on failure it sends an error frame, closes the stream and throws.
 */
export async function serverAccept(
  stream: ByteStream,
  serverPrivateKey: Uint8Array,
  initiation: Uint8Array,
  opts: ServerAcceptOptions = {},
): Promise<NoiseConn> {
  let accepted;
  try {
    accepted = acceptHandshake(serverPrivateKey, initiation);
  } catch (err) {
    // The messages never echo client bytes, so they are safe to send back.
    await writeAll(stream, encodeErrorFrame((err as Error).message)).catch(() => {});
    stream.close();
    throw err;
  }
  if (opts.minVersion !== undefined && accepted.version < opts.minVersion) {
    const msg = `controlbase: protocol version ${accepted.version} is below ${opts.minVersion}`;
    await writeAll(stream, encodeErrorFrame(msg)).catch(() => {});
    stream.close();
    throw new RangeError(msg);
  }
  const conn = new NoiseConn(stream, accepted.keys, {
    buffered: opts.buffered,
    version: accepted.version,
    peerStatic: accepted.machinePublicKey,
  });
  await writeAll(stream, accepted.response);
  if (opts.earlyPayload !== undefined) await conn.write(opts.earlyPayload);
  return conn;
}
