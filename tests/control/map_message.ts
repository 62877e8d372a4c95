/**
 * The server side of map-stream framing: a MapResponse as JSON, zstd-compressed when the client
 * asked `Compress: "zstd"` (with node:zlib, kept out of src/ so the node does not load it), then
 * length-prefixed. Like Headscale's encoder, the frame states its content size.
 *
 * @module
 */
import { zstdCompressSync, type ZstdOptions } from "node:zlib";
import { frameMapMessage } from "../../src/control/map_stream.ts";
import type { MapResponse } from "../../src/netmap/tailcfg.ts";

/** Frames a map message: u32 LE length then the JSON payload, zstd if asked. */
export function encodeMapMessage(resp: MapResponse, zstd: boolean): Uint8Array {
  let payload: Uint8Array = new TextEncoder().encode(JSON.stringify(resp));
  if (zstd) {
    // node:zlib takes pledgedSrcSize (so the frame states its size); Deno's types lack it.
    const options = { pledgedSrcSize: payload.length } as ZstdOptions;
    payload = new Uint8Array(zstdCompressSync(payload, options));
  }
  return frameMapMessage(payload);
}
