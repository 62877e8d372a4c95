/**
 * Two `warren tun derp` processes meshed with each other (as a region's
 * servers are): a client on each reaches the client on the other.
 */
import assert from "node:assert/strict";
import { toHex } from "../src/bytes/hex.ts";
import { dialDerp } from "../src/derp/dial.ts";
import { recvType } from "../src/derp/testing.ts";
import { generateNodePrivate } from "../src/key/node_key.ts";
import { warrenArgv } from "../src/testbed/netns.ts";

const te = new TextEncoder();

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test({
  name: "two meshed warren tun derp processes relay between their clients",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const meshKey = toHex(crypto.getRandomValues(new Uint8Array(32)));
    const [p1, p2] = [freePort(), freePort()];
    const spawn = (port: number, other: number) =>
      new Deno.Command(warrenArgv()[0], {
        args: [
          ...warrenArgv().slice(1),
          "tun",
          "derp",
          "--address",
          "127.0.0.1",
          "--port",
          `${port}`,
          "--no-stun",
          "--mesh-key",
          meshKey,
          "--mesh-with",
          `127.0.0.1:${other}`,
        ],
        stdout: "null",
        stderr: "piped",
        stdin: "null",
      }).spawn();
    const s1 = spawn(p1, p2), s2 = spawn(p2, p1);
    // Collect each server's log as it comes, to see when its mesh link is up.
    const seen = ["", ""];
    const logs = [s1, s2].map(async (s, i) => {
      for await (const chunk of s.stderr.pipeThrough(new TextDecoderStream())) seen[i] += chunk;
      return seen[i];
    });
    let a, b;
    try {
      const dial = async (port: number) => {
        for (let i = 0; i < 100; i++) {
          try {
            return await dialDerp(`http://127.0.0.1:${port}/derp`, {
              privateKey: generateNodePrivate(),
            });
          } catch {
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        throw new Error(`derp on ${port} never came up`);
      };
      a = await dial(p1);
      b = await dial(p2);
      await recvType(a, "serverInfo");
      await recvType(b, "serverInfo");
      const deadline = Date.now() + 10_000;
      while (!seen.every((l) => /derp mesh .*: connected/.test(l))) {
        if (Date.now() > deadline) throw new Error(`mesh links never came up: ${seen.join("")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // WatchConns delivers the other server's clients right after the link comes up.
      await new Promise((r) => setTimeout(r, 300));
      await a.send(b.publicKey, te.encode("across the mesh"));
      const got = await recvType(b, "packet");
      assert.deepEqual(got.src, a.publicKey);
      assert.equal(new TextDecoder().decode(got.data), "across the mesh");
    } finally {
      a?.close();
      b?.close();
      s1.kill("SIGTERM");
      s2.kill("SIGTERM");
      await s1.status;
      await s2.status;
      await Promise.all(logs);
    }
  },
});
