import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { decodeFrames } from "./frame.ts";
import { FrameType, MAGIC, PeerGoneReason, PeerPresentFlags } from "./constants.ts";
import {
  clientInfoJson,
  decodeClientInfo,
  decodeForwardPacket,
  decodeHealth,
  decodeKeyedPacket,
  decodeNotePreferred,
  decodePeerGone,
  decodePeerPresent,
  decodePing,
  decodePong,
  decodeRestarting,
  decodeServerInfo,
  decodeServerKey,
  encodeClientInfo,
  encodeClosePeer,
  encodeForwardPacket,
  encodeHealth,
  encodeKeepAlive,
  encodeNotePreferred,
  encodePeerGone,
  encodePeerPresent,
  encodePing,
  encodePong,
  encodeRecvPacket,
  encodeRestarting,
  encodeSendPacket,
  encodeServerInfo,
  encodeServerKey,
  encodeWatchConns,
  parseClientInfoJson,
  parseServerInfoJson,
  serverInfoJson,
} from "./messages.ts";
import {
  generateNodePrivate,
  parseNodePublic,
  parsePrivate,
  publicFromPrivate,
} from "../key/node_key.ts";

const fixture = JSON.parse(
  await Deno.readTextFile(
    new URL(
      "../../../shared/fixtures/derp-handshake-tailscaled-1.96.5-headscale-0.28.json",
      import.meta.url,
    ),
  ),
);
const one = (bytes: Uint8Array) => {
  const f = decodeFrames(bytes);
  assert.equal(f.length, 1);
  return f[0];
};
const k1 = new Uint8Array(32).fill(1);
const k2 = new Uint8Array(32).fill(2);

Deno.test("encodeServerKey() matches Headscale's captured ServerKey frame", () => {
  const pub = parseNodePublic(fixture.server_public);
  assert.equal(toHex(encodeServerKey(pub)), fixture.server_key_frame_hex);
  const f = one(fromHex(fixture.server_key_frame_hex));
  assert.equal(f.type, FrameType.ServerKey);
  assert.deepEqual(decodeServerKey(f.payload), pub);
  assert.deepEqual(f.payload.subarray(0, 8), MAGIC);
});

Deno.test("decodeServerKey() accepts future bytes, rejects bad magic and short payloads", () => {
  const p = new Uint8Array([...MAGIC, ...k1, 0xee]);
  assert.deepEqual(decodeServerKey(p), k1);
  const bad = p.slice();
  bad[0] = 0x45;
  assert.throws(() => decodeServerKey(bad), /magic/);
  assert.throws(() => decodeServerKey(p.subarray(0, 39)), SyntaxError);
});

Deno.test("decodeClientInfo() opens tailscaled's captured ClientInfo frame", () => {
  const f = one(fromHex(fixture.client_frames_hex[0]));
  assert.equal(f.type, FrameType.ClientInfo);
  const { clientPublic, info } = decodeClientInfo(f.payload, parsePrivate(fixture.server_private));
  assert.equal(toHex(clientPublic), fixture.client_node_public.slice(8));
  assert.deepEqual(info, { version: 2, CanAckPings: true });
  assert.equal(clientInfoJson(info), fixture.client_info_json);
});

Deno.test("decodeServerInfo() opens Headscale's captured ServerInfo frame", () => {
  const f = one(fromHex(fixture.server_info_frame_hex));
  assert.equal(f.type, FrameType.ServerInfo);
  const info = decodeServerInfo(
    f.payload,
    parsePrivate(fixture.client_node_private),
    parseNodePublic(fixture.server_public),
  );
  assert.deepEqual(info, { version: 2 });
  assert.equal(serverInfoJson(info), fixture.server_info_json);
});

Deno.test("the captured NotePreferred frame decodes to true", () => {
  const f = one(fromHex(fixture.client_frames_hex[1]));
  assert.equal(f.type, FrameType.NotePreferred);
  assert.equal(decodeNotePreferred(f.payload), true);
  assert.deepEqual(encodeNotePreferred(true), fromHex(fixture.client_frames_hex[1]));
  assert.equal(decodeNotePreferred(one(encodeNotePreferred(false)).payload), false);
  assert.throws(() => decodeNotePreferred(new Uint8Array(2)), SyntaxError);
  assert.throws(() => decodeNotePreferred(new Uint8Array(0)), SyntaxError);
});

Deno.test("ClientInfo and ServerInfo round-trip through boxes between fresh keys", () => {
  const cpriv = generateNodePrivate(), spriv = generateNodePrivate();
  const cpub = publicFromPrivate(cpriv), spub = publicFromPrivate(spriv);
  const info = { version: 2, CanAckPings: true, meshKey: k2, IsProber: true, AppName: "warren" };
  const f = one(encodeClientInfo(info, cpub, cpriv, spub));
  const got = decodeClientInfo(f.payload, spriv);
  assert.deepEqual(got.clientPublic, cpub);
  assert.deepEqual(got.info, info);
  const sf = one(encodeServerInfo({ version: 2, TokenBucketBytesPerSecond: 10 }, spriv, cpub));
  assert.deepEqual(decodeServerInfo(sf.payload, cpriv, spub), {
    version: 2,
    TokenBucketBytesPerSecond: 10,
  });
  // Sealed to someone else: does not open.
  assert.throws(() => decodeClientInfo(f.payload, generateNodePrivate()), /does not open/);
  assert.throws(() => decodeServerInfo(sf.payload, generateNodePrivate(), spub), /does not open/);
  assert.throws(() => decodeClientInfo(f.payload.subarray(0, 60), spriv), /too short/);
});

Deno.test("clientInfoJson() uses Go's field order, spelling and omit rules", () => {
  assert.equal(
    clientInfoJson({ version: 2, CanAckPings: true, meshKey: k2, IsProber: true, AppName: "x" }),
    `{"meshKey":"${"02".repeat(32)}","version":2,"CanAckPings":true,"IsProber":true,"AppName":"x"}`,
  );
  assert.equal(clientInfoJson({ meshKey: new Uint8Array(32) }), `{"CanAckPings":false}`);
});

Deno.test("parseClientInfoJson() matches keys case-insensitively and rejects wrong types", () => {
  assert.deepEqual(parseClientInfoJson(`{"Version":2,"canackpings":true,"Extra":1}`), {
    version: 2,
    CanAckPings: true,
  });
  assert.throws(() => parseClientInfoJson(`{"version":"2"}`), SyntaxError);
  assert.throws(() => parseClientInfoJson(`{"meshKey":"abc"}`), SyntaxError);
  assert.throws(() => parseClientInfoJson(`[1]`), SyntaxError);
  assert.throws(() => parseClientInfoJson(`{`), SyntaxError);
  assert.deepEqual(parseServerInfoJson(`{"VERSION":2,"tokenBucketBytesBurst":5}`), {
    version: 2,
    TokenBucketBytesBurst: 5,
  });
  assert.throws(() => parseServerInfoJson(`null`), SyntaxError);
});

Deno.test("SendPacket and RecvPacket round-trip and reject frames shorter than a key", () => {
  const pkt = new Uint8Array([5, 6, 7]);
  const s = one(encodeSendPacket(k1, pkt));
  assert.equal(s.type, FrameType.SendPacket);
  assert.deepEqual(decodeKeyedPacket(s.payload), { key: k1, packet: pkt });
  const r = one(encodeRecvPacket(k2, pkt));
  assert.equal(r.type, FrameType.RecvPacket);
  assert.deepEqual(decodeKeyedPacket(r.payload), { key: k2, packet: pkt });
  assert.throws(() => decodeKeyedPacket(new Uint8Array(31)), SyntaxError);
  assert.throws(() => encodeSendPacket(new Uint8Array(31), pkt), RangeError);
});

Deno.test("ForwardPacket round-trips and rejects frames shorter than two keys", () => {
  const f = one(encodeForwardPacket(k1, k2, new Uint8Array([9])));
  assert.equal(f.type, FrameType.ForwardPacket);
  assert.deepEqual(decodeForwardPacket(f.payload), {
    src: k1,
    dst: k2,
    packet: new Uint8Array([9]),
  });
  assert.throws(() => decodeForwardPacket(new Uint8Array(63)), SyntaxError);
});

Deno.test("PeerGone round-trips with reason; a missing reason means Disconnected", () => {
  const f = one(encodePeerGone(k1, PeerGoneReason.NotHere));
  assert.equal(f.type, FrameType.PeerGone);
  assert.equal(f.payload.length, 33);
  assert.deepEqual(decodePeerGone(f.payload), { key: k1, reason: 1 });
  assert.deepEqual(decodePeerGone(k1), { key: k1, reason: 0 });
  assert.throws(() => decodePeerGone(new Uint8Array(31)), SyntaxError);
});

Deno.test("PeerPresent is 51 bytes and decodes old 32- and 50-byte forms", () => {
  const ip = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]);
  const f = one(encodePeerPresent(k1, ip, 41641, PeerPresentFlags.IsRegular));
  assert.equal(f.type, FrameType.PeerPresent);
  assert.equal(f.payload.length, 51);
  assert.deepEqual(decodePeerPresent(f.payload), { key: k1, ip, port: 41641, flags: 1 });
  assert.deepEqual(decodePeerPresent(f.payload.subarray(0, 50)), {
    key: k1,
    ip,
    port: 41641,
    flags: 0,
  });
  assert.deepEqual(decodePeerPresent(k1), { key: k1, flags: 0 });
  assert.throws(() => decodePeerPresent(new Uint8Array(10)), SyntaxError);
  assert.throws(() => encodePeerPresent(k1, new Uint8Array(4), 1, 1), RangeError);
});

Deno.test("Ping/Pong carry 8 bytes; the server accepts 8 to 1000-byte pings", () => {
  const d = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const p = one(encodePing(d));
  assert.equal(p.type, FrameType.Ping);
  assert.deepEqual(decodePing(p.payload), d);
  assert.deepEqual(decodePing(new Uint8Array([...d, ...new Uint8Array(992)])), d);
  assert.throws(() => decodePing(new Uint8Array(7)), SyntaxError);
  assert.throws(() => decodePing(new Uint8Array(1001)), SyntaxError);
  const q = one(encodePong(d));
  assert.equal(q.type, FrameType.Pong);
  assert.deepEqual(decodePong(q.payload), d);
  assert.throws(() => decodePong(new Uint8Array(3)), SyntaxError);
  assert.throws(() => encodePing(new Uint8Array(9)), RangeError);
});

Deno.test("Restarting carries two big-endian millisecond durations", () => {
  const f = one(encodeRestarting(1000, 0x01020304));
  assert.equal(f.type, FrameType.Restarting);
  assert.deepEqual(f.payload, new Uint8Array([0, 0, 3, 0xe8, 1, 2, 3, 4]));
  assert.deepEqual(decodeRestarting(f.payload), { reconnectInMs: 1000, tryForMs: 0x01020304 });
  assert.throws(() => decodeRestarting(new Uint8Array(7)), SyntaxError);
});

Deno.test("empty and small control frames have the documented bytes", () => {
  assert.deepEqual(encodeKeepAlive(), new Uint8Array([0x06, 0, 0, 0, 0]));
  assert.deepEqual(encodeWatchConns(), new Uint8Array([0x10, 0, 0, 0, 0]));
  const c = one(encodeClosePeer(k1));
  assert.equal(c.type, 0x11);
  assert.deepEqual(c.payload, k1);
  const h = one(encodeHealth("duplicate"));
  assert.equal(h.type, 0x14);
  assert.equal(decodeHealth(h.payload), "duplicate");
});
