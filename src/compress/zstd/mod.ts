/**
 * A Zstandard (RFC 8878) decoder of warren's own, so that the tailnet node does not load
 * `node:zlib` (and its native zstd) just to read compressed map responses.
 *
 * @module
 */
export { zstdDecompress, type ZstdDecompressOptions } from "./decompress.ts";
