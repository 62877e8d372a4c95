/**
 * warren's zstd decoder (src/compress/zstd) on frames from Go's klauspost/compress encoder, the
 * one Headscale compresses map responses with (tests/testdata/go_zstd, built against Debian's
 * golang-github-klauspost-compress-dev): every encoder level, single-segment frames as
 * Headscale sends them and streamed frames without a content size, checksum on and off, on
 * Headscale's own map responses, a multi-MB netmap, text, random bytes and a long run.
 */
import assert from "node:assert/strict";
import { zstdDecompress } from "../src/compress/zstd/mod.ts";
import {
  bigNetmap,
  blockTypes,
  mapResponses,
  randomBytes,
  text,
} from "../src/compress/zstd/_test_util.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import { buildGoDebian, goPackageSkip } from "./_go.ts";

const SRC = new URL("./testdata/go_zstd/", import.meta.url).pathname;

async function goCompress(bin: string, data: Uint8Array, args: string[]): Promise<Uint8Array> {
  const child = new Deno.Command(bin, { args, stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(data);
  await w.close();
  const out = await child.output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return out.stdout;
}

testOrSkip(
  import.meta,
  goPackageSkip("github.com/klauspost/compress/zstd", "golang-github-klauspost-compress-dev"),
  {
    name:
      "zstdDecompress() reads klauspost/compress frames at every level, as Headscale sends them",
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "warren-go-zstd-" });
      try {
        const bin = await buildGoDebian(SRC, dir, "go_zstd");
        const inputs: [string, Uint8Array][] = [
          ["empty", new Uint8Array(0)],
          ["1 byte", Uint8Array.of(0x7b)],
          ["map responses", mapResponses().reduce((a, b) => concat(a, b))],
          ["netmap 3 MiB", bigNetmap(3 << 20)],
          ["text", text(400_000)],
          ["random", randomBytes(300_000)],
          ["run", new Uint8Array(500_000).fill(0x20)],
        ];
        const seen = new Set<number>();
        const refusedWindows = new Set<number>();
        for (const [name, data] of inputs) {
          for (const level of ["fastest", "default", "better", "best"]) {
            for (const mode of ["all", "stream"]) {
              for (const crc of ["crc", "nocrc"]) {
                const frame = await goCompress(bin, data, [level, mode, crc]);
                if (frame.length > 0) { for (const t of blockTypes(frame)) seen.add(t); }
                // Streamed "better" and "best" frames ask for 16 and 32 MiB windows, which
                // the default refuses when the frame does not state its size.
                const window = frame[4] & 0x20 ? 0 : 2 ** (10 + (frame[5] >>> 3));
                if (window > 8 << 20) {
                  assert.throws(() => zstdDecompress(frame, 64 << 20), RangeError);
                  refusedWindows.add(window);
                }
                const out = zstdDecompress(frame, 64 << 20, { maxWindowSize: 32 << 20 });
                const what = `${name} ${level} ${mode} ${crc}`;
                assert.equal(out.length, data.length, what);
                assert.ok(out.every((b, i) => b === data[i]), `${what}: bytes differ`);
              }
            }
          }
        }
        // Raw and compressed blocks came by (this encoder writes a long run as a compressed
        // block, not an RLE one).
        assert.ok(seen.has(0) && seen.has(2), `block types ${[...seen]}`);
        assert.deepEqual([...refusedWindows].sort(), [16 << 20, 32 << 20]);
        // Each Headscale map response on its own, as the control client gets them.
        for (const json of mapResponses()) {
          const frame = await goCompress(bin, json, ["fastest", "all", "crc"]);
          assert.equal(
            new TextDecoder().decode(zstdDecompress(frame, 1 << 20)),
            new TextDecoder().decode(json),
          );
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  },
);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
