/**
 * Test inputs for the zstd decoder: Headscale's map responses (from shared/fixtures), netmap-like
 * JSON of any size built from them, text, random bytes; node:zlib's zstd as the reference
 * encoder; and a walker listing the block types of a frame, so a test can show it exercised
 * raw, RLE and compressed blocks.
 *
 * @module
 */
import { constants, zstdCompressSync, type ZstdOptions } from "node:zlib";
import { mulberry32 } from "../../testing/prng.ts";
import { parseFrameHeader } from "./_frame_header.ts";
import { ZSTD_MAGIC } from "./constants.ts";

const MAP_DIR = new URL(
  "../../../../shared/fixtures/headscale-0.28-mapresponses/",
  import.meta.url,
);

/** Every Headscale 0.28 MapResponse fixture, as bytes, in name order. */
export function mapResponses(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const nodes = [...Deno.readDirSync(MAP_DIR)].filter((e) => e.isDirectory).map((e) => e.name);
  for (const node of nodes.sort()) {
    const dir = new URL(`${node}/`, MAP_DIR);
    for (const f of [...Deno.readDirSync(dir)].map((e) => e.name).sort()) {
      if (f.endsWith(".json")) out.push(Deno.readFileSync(new URL(f, dir)));
    }
  }
  return out;
}

/**
 * A MapResponse-like JSON document of about `size` bytes: the fixtures' peers repeated with
 * distinct keys, names and addresses, as a big tailnet's netmap would hold.
 */
export function bigNetmap(size: number, seed = 1): Uint8Array {
  const rand = mulberry32(seed);
  const fixtures = mapResponses().map((b) => JSON.parse(new TextDecoder().decode(b)));
  const template = fixtures.find((f) => Array.isArray(f.Peers) && f.Peers.length > 0);
  const peer = template.Peers[0];
  const peers: unknown[] = [];
  const hex = () => Math.floor(rand() * 2 ** 32).toString(16).padStart(8, "0");
  let approx = 0;
  for (let i = 0; approx < size; i++) {
    const p = structuredClone(peer);
    p.ID = 1000 + i;
    p.Name = `node-${i}-${hex()}.tailnet.example.`;
    p.Key = `nodekey:${hex()}${hex()}${hex()}${hex()}${hex()}${hex()}${hex()}${hex()}`;
    p.DiscoKey = `discokey:${hex()}${hex()}${hex()}${hex()}${hex()}${hex()}${hex()}${hex()}`;
    p.Addresses = [`100.64.${(i >> 8) & 255}.${i & 255}/32`];
    p.Endpoints = [`192.0.2.${i & 255}:${41641 + (i % 100)}`];
    peers.push(p);
    approx += JSON.stringify(p).length;
  }
  return new TextEncoder().encode(JSON.stringify({ ...template, Peers: peers }));
}

/** `n` bytes from a seeded PRNG: incompressible, so zstd stores them as raw blocks. */
export function randomBytes(n: number, seed = 7): Uint8Array {
  const rand = mulberry32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

/** About `n` bytes of repetitive English-like text. */
export function text(n: number, seed = 3): Uint8Array {
  const words = ["peer", "node", "tailnet", "route", "derp", "key", "the", "of", "endpoint"];
  const rand = mulberry32(seed);
  let s = "";
  while (s.length < n) s += words[Math.floor(rand() * words.length)] + (rand() < 0.1 ? ".\n" : " ");
  return new TextEncoder().encode(s.slice(0, n));
}

/**
 * node:zlib's zstd (the reference C library) at `level`, with extra parameters. Its streaming
 * encoder states the content size only when told it up front: `sized` (default true) does.
 */
export function nodeZstd(
  data: Uint8Array,
  level: number,
  params: Record<number, number> = {},
  sized = true,
): Uint8Array {
  // pledgedSrcSize is node:zlib's (Deno's types lack it).
  const options = {
    params: { [constants.ZSTD_c_compressionLevel]: level, ...params },
    pledgedSrcSize: sized ? data.length : undefined,
  } as ZstdOptions;
  return new Uint8Array(zstdCompressSync(data, options));
}

/** The block types (0 raw, 1 RLE, 2 compressed) of the frame at the start of `frame`. */
export function blockTypes(frame: Uint8Array): number[] {
  const magic = new DataView(frame.buffer, frame.byteOffset).getUint32(0, true);
  if (magic !== ZSTD_MAGIC) throw new Error("not a zstd frame");
  let pos = parseFrameHeader(frame, 4).end;
  const types: number[] = [];
  for (;;) {
    const bh = frame[pos] | (frame[pos + 1] << 8) | (frame[pos + 2] << 16);
    const type = (bh >>> 1) & 3;
    types.push(type);
    pos += 3 + (type === 1 ? 1 : bh >>> 3);
    if (bh & 1) return types;
  }
}
