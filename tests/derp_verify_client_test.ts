import assert from "node:assert/strict";
import { dialDerp } from "../src/derp/dial.ts";
import { verifyClientUrl } from "../src/derp/verify_client.ts";
import { recvType, startTestServer } from "../src/derp/testing.ts";
import { formatNodePublic, generateNodePrivate, publicFromPrivate } from "../src/key/node_key.ts";

Deno.test("--verify-client-url admits allowed keys, denies others, fails closed", async () => {
  const allowed = generateNodePrivate();
  const seen: unknown[] = [];
  const ac = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    seen.push(body);
    return Response.json({
      Allow: body.NodePublic === formatNodePublic(publicFromPrivate(allowed)),
    });
  });
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (dead.addr as Deno.NetAddr).port;
  dead.close(); // nothing listens there now
  const ts = startTestServer({
    verifyClient: verifyClientUrl(`http://127.0.0.1:${ac.addr.port}/admit`),
  });
  const ts2 = startTestServer({
    verifyClient: verifyClientUrl(`http://127.0.0.1:${deadPort}/admit`, 1000),
  });
  try {
    const ok = await dialDerp(ts.url, { privateKey: allowed });
    assert.equal((await recvType(ok, "serverInfo")).type, "serverInfo");
    ok.close();
    assert.deepEqual(seen[0], {
      NodePublic: formatNodePublic(publicFromPrivate(allowed)),
      Source: "127.0.0.1",
    });
    const no = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
    assert.equal(await no.recv(), null);
    no.close();
    assert.equal(ts.server.metrics.verifyRejects, 1);
    const unreachable = await dialDerp(ts2.url, { privateKey: allowed });
    assert.equal(await unreachable.recv(), null);
    unreachable.close();
    assert.equal(ts2.server.metrics.handshakeFailures.get("rejected"), 1);
  } finally {
    await ts.close();
    await ts2.close();
    await ac.shutdown();
  }
});
