import assert from "node:assert/strict";
import { startTestServer, waitFor } from "../src/derp/testing.ts";
import { readHttpHead } from "../src/derp/http_head.ts";
import { FrameReader } from "../src/derp/frame.ts";
import { FrameType } from "../src/derp/constants.ts";
import { decodeServerInfo, decodeServerKey } from "../src/derp/messages.ts";
import { fromHex, toHex } from "../src/bytes/hex.ts";
import { parseNodePublic, parsePrivate } from "../src/key/node_key.ts";

const fixture = JSON.parse(
  await Deno.readTextFile(
    new URL(
      "../../shared/fixtures/derp-handshake-tailscaled-1.96.5-headscale-0.28.json",
      import.meta.url,
    ),
  ),
);

Deno.test("our server accepts tailscaled 1.96.5's captured upgrade, ClientInfo and NotePreferred", async () => {
  // Run with the captured server key, so the captured ClientInfo box opens.
  const ts = startTestServer({ privateKey: parsePrivate(fixture.server_private) });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: ts.port });
  try {
    const req = fixture.upgrade_request_headers.join("\r\n") + "\r\n\r\n";
    await conn.write(new TextEncoder().encode(req));
    const head = await readHttpHead(conn, 8192);
    assert.equal(head!.startLine[1], "101");
    // derper's bare form, not Headscale's prefixed one.
    assert.equal(head!.headers.get("derp-public-key"), fixture.server_public.slice(8));
    const reader = new FrameReader(conn, head!.rest);
    const sk = await reader.readFrame(1 << 20);
    assert.equal(sk!.type, FrameType.ServerKey);
    assert.equal(
      toHex(sk!.payload),
      fixture.server_key_frame_hex.slice(10),
    );
    assert.deepEqual(decodeServerKey(sk!.payload), parseNodePublic(fixture.server_public));
    for (const f of fixture.client_frames_hex) await conn.write(fromHex(f));
    const si = await reader.readFrame(1 << 20);
    assert.equal(si!.type, FrameType.ServerInfo);
    const info = decodeServerInfo(
      si!.payload,
      parsePrivate(fixture.client_node_private),
      parseNodePublic(fixture.server_public),
    );
    assert.deepEqual(info, { version: 2 });
    assert.ok(ts.server.isConnected(parseNodePublic(fixture.client_node_public)));
    await waitFor(() => ts.server.gauges().home_clients === 1, "NotePreferred applied");
  } finally {
    conn.close();
    await ts.close();
  }
});
