import assert from "node:assert/strict";
import { backoffDelay, DerpLink } from "../src/derp/link.ts";
import type { DerpMessage } from "../src/derp/client.ts";
import { startTestServer, waitFor } from "../src/derp/testing.ts";
import { dialDerp } from "../src/derp/dial.ts";
import { generateNodePrivate } from "../src/key/node_key.ts";

Deno.test("backoffDelay() doubles from the minimum and is capped", () => {
  for (let i = 0; i < 50; i++) {
    const d0 = backoffDelay(0, 100, 5000);
    assert.ok(d0 >= 75 && d0 <= 125);
    const d3 = backoffDelay(3, 100, 5000);
    assert.ok(d3 >= 600 && d3 <= 1000);
    assert.ok(backoffDelay(40, 100, 5000) <= 6250);
  }
});

Deno.test("DerpLink sends NotePreferred, honours Restarting and reconnects to a new server", async () => {
  const serverKey = generateNodePrivate();
  let ts = startTestServer({ privateKey: serverKey });
  const port = ts.port;
  const msgs: DerpMessage[] = [];
  const link = new DerpLink({
    url: ts.url,
    privateKey: generateNodePrivate(),
    preferred: true,
    minBackoffMs: 20,
    maxBackoffMs: 100,
    onMessage: (m) => msgs.push(m),
  });
  link.start();
  try {
    await waitFor(() => link.connected && ts.server.gauges().home_clients === 1, "home link up");
    await ts.close({ reconnectInMs: 50, tryForMs: 2000 });
    await waitFor(() => msgs.some((m) => m.type === "restarting"), "Restarting seen");
    // A new server on the same port (same key, as after a restart).
    ts = startTestServer({ privateKey: serverKey, port });
    await waitFor(
      () => link.connects === 2 && ts.server.gauges().home_clients === 1,
      "reconnected",
      8000,
    );
    // It works: a peer can reach it.
    const peer = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
    await peer.send(link.client!.publicKey, new Uint8Array([42]));
    await waitFor(
      () => msgs.some((m) => m.type === "packet" && m.data[0] === 42),
      "packet via link",
    );
    assert.ok(link.send(peer.publicKey, new Uint8Array([1])));
    peer.close();
  } finally {
    await link.close();
    await ts.close();
  }
});
