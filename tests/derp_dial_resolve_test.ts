import assert from "node:assert/strict";
import { dialDerp } from "../src/derp/dial.ts";
import { recvType, startTestServer } from "../src/derp/testing.ts";
import { generateNodePrivate } from "../src/key/node_key.ts";

Deno.test("dialDerp() dials the address its resolveHost gives for the server's name", async () => {
  const srv = startTestServer();
  const asked: string[] = [];
  try {
    const c = await dialDerp(`http://derp.tailnet.invalid:${srv.port}/derp`, {
      privateKey: generateNodePrivate(),
      resolveHost: (host) => {
        asked.push(host);
        return Promise.resolve("127.0.0.1");
      },
    });
    await recvType(c, "serverInfo");
    c.close();
    assert.deepEqual(asked, ["derp.tailnet.invalid"]);
    // A resolver that knows nothing falls back to the system resolver, which fails for .invalid.
    await assert.rejects(
      dialDerp(`http://derp.tailnet.invalid:${srv.port}/derp`, {
        privateKey: generateNodePrivate(),
        resolveHost: () => Promise.resolve(null),
        connectTimeoutMs: 2000,
      }),
      /derp dial http:\/\/derp\.tailnet\.invalid/,
    );
  } finally {
    await srv.close();
  }
});
