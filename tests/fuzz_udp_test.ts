/**
 * Seeded mutation fuzzing of the decoders behind the UDP socket: WireGuard
 * messages (and the handshake/cookie code that parses them, and a whole
 * Device), disco packets and STUN. Seeds are real wireguard-go captures and
 * warren's own encoders. A failure names the PRNG seed, case index and input
 * hex; replay it with `fuzzCases(seeds, { seed, count })`.
 */
import assert from "node:assert/strict";
import { publicKeyFrom } from "../src/crypto/x25519.ts";
import { parsePrefix } from "../src/net/ip.ts";
import { fuzzCases } from "../src/testing/mutate.ts";
import { attempt, fuzzSettings, invariant, runFuzz } from "../src/testing/fuzz.ts";
import { fromHex } from "../src/bytes/hex.ts";
import {
  decodeCookieReply,
  decodeInitiation,
  decodeResponse,
  parseMessageType,
  readTransportHeader,
  writeTransportHeader,
} from "../src/wireguard/messages.ts";
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  type StaticIdentity,
} from "../src/wireguard/handshake.ts";
import { CookieChecker, CookieGenerator } from "../src/wireguard/cookie.ts";
import { Device } from "../src/wireguard/device.ts";
import { FakeClock } from "../src/wireguard/clock.ts";
import { fakeEndpoint, ipPacket, MemoryNetwork, RecordingTun } from "../src/wireguard/testing.ts";
import {
  encodeDiscoMessage,
  openDisco,
  parseDiscoMessage,
  sealDisco,
  sealDiscoPayload,
} from "../src/disco/codec.ts";
import { addrPort } from "../src/disco/addr.ts";
import {
  encodeBindingRequest,
  encodeBindingResponse,
  parseBindingRequest,
  parseBindingResponse,
} from "../src/stun/codec.ts";
import { generateNodePrivate, publicFromPrivate } from "../src/key/node_key.ts";

const { seed: SEED, scale } = fuzzSettings(0x5eed_0001);
const n = (count: number) => Math.round(count * scale);
const wire = JSON.parse(
  Deno.readTextFileSync(
    new URL("../src/wireguard/testdata/wireguard_go_handshakes.json", import.meta.url),
  ),
) as Record<"warren_responds" | "warren_initiates", Record<string, string | number>[]>;
const id = (privHex: string): StaticIdentity => {
  const privateKey = fromHex(privHex);
  return { privateKey, publicKey: publicKeyFrom(privateKey) };
};
const responds = wire.warren_responds[0], initiates = wire.warren_initiates[0];
const warren = id(responds.warren_static_private as string);
const wgGo = id(responds.wireguard_go_static_private as string);
const transport = new Uint8Array(48);
writeTransportHeader(transport, 0x11223344, 7);
const wgSeeds = [
  fromHex(responds.initiation as string),
  fromHex(initiates.response as string),
  fromHex(responds.transport as string),
  new CookieChecker(warren.publicKey).createReply(
    fromHex(responds.initiation as string),
    0x82c1a771,
    fakeEndpoint(1),
    0,
  ),
  transport,
];
const u32at = (b: Uint8Array, at: number) =>
  (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

Deno.test("fuzz: WireGuard message decoders return null or exact-size, well-typed fields", () => {
  const r = runFuzz(
    "wireguard messages",
    SEED,
    fuzzCases(wgSeeds, { seed: SEED, count: n(6000), prefixesUpTo: 160 }),
    (b) => {
      const type = parseMessageType(b);
      invariant([0, 1, 2, 3, 4].includes(type), `type ${type}`);
      const sizes: Record<number, number> = { 1: 148, 2: 92, 3: 64 };
      if (type >= 1 && type <= 3) invariant(b.length === sizes[type], "exact size");
      if (type === 4) invariant(b.length >= 32, "transport of at least 32 bytes");
      const i = decodeInitiation(b), res = decodeResponse(b), c = decodeCookieReply(b);
      const t = readTransportHeader(b);
      invariant((i !== null) === (type === 1) && (res !== null) === (type === 2), "agrees");
      invariant((c !== null) === (type === 3) && (t !== null) === (type === 4), "agrees");
      if (i) {
        invariant(i.ephemeral.length === 32 && i.encryptedStatic.length === 48, "init keys");
        invariant(i.encryptedTimestamp.length === 28 && i.mac2.length === 16, "init fields");
        invariant(i.sender === u32at(b, 4), "sender");
      }
      if (res) invariant(res.receiver === u32at(b, 8) && res.mac2.length === 16, "response");
      if (c) invariant(c.nonce.length === 24 && c.encryptedCookie.length === 32, "cookie");
      if (t) {
        invariant(t.receiver === u32at(b, 4), "receiver");
        invariant(t.counter === Infinity || Number.isSafeInteger(t.counter), "counter");
      }
      return type === 0;
    },
  );
  assert.ok(r.rejected > 0 && r.rejected < r.cases);
});

Deno.test("fuzz: consumeInitiation/consumeResponse/consumeReply never throw on wireguard-go's messages, mutated", () => {
  const psk = fromHex(initiates.psk as string);
  const { state } = createInitiation(
    warren,
    wgGo.publicKey,
    initiates.warren_index as number,
    initiates.now_ms as number,
    { ephemeralPrivate: fromHex(initiates.warren_ephemeral_private as string) },
  );
  assert.ok(consumeResponse(state, fromHex(initiates.response as string), warren, psk));
  const gen = new CookieGenerator(wgGo.publicKey);
  gen.addMacs(new Uint8Array(148), 0);
  const seeds = [fromHex(responds.initiation as string), fromHex(initiates.response as string)];
  seeds.push(wgSeeds[3]);
  let accepted = 0;
  runFuzz("wireguard handshake", SEED, fuzzCases(seeds, { seed: SEED, count: n(2500) }), (b) => {
    const ci = consumeInitiation(warren, b);
    if (ci) {
      invariant(ci.remoteStatic.length === 32 && ci.timestamp.length === 12, "initiation");
      invariant(ci.remoteIndex === u32at(b, 4), "remote index");
      accepted++;
    }
    const cr = consumeResponse(state, b, warren, psk);
    if (cr) {
      invariant(cr.sendKey.length === 32 && cr.recvKey.length === 32, "keys");
      accepted++;
    }
    invariant(typeof gen.consumeReply(b, 1) === "boolean", "consumeReply is a boolean");
    return ci === null && cr === null;
  });
  assert.ok(accepted >= 2, "the unmutated seeds are accepted");
});

Deno.test("fuzz: a Device keeps serving through mutated datagrams and mutated inner packets", () => {
  const clock = new FakeClock(1_000);
  const net = new MemoryNetwork();
  const make = (priv: Uint8Array, id: number) => {
    const tun = new RecordingTun();
    const ep = fakeEndpoint(id);
    const dev = new Device({ privateKey: priv, bind: net.bind(ep), tun, clock });
    net.attach(ep, dev);
    return { dev, tun, ep };
  };
  const a = make(wgGo.privateKey, 1), b = make(warren.privateKey, 2);
  a.dev.addPeer({ publicKey: warren.publicKey, endpoint: b.ep, allowedIps: [parsePrefix("::/0")] });
  b.dev.addPeer({
    publicKey: wgGo.publicKey,
    endpoint: a.ep,
    allowedIps: [parsePrefix("10.0.0.1/32"), parsePrefix("fd00::1/128")],
  });
  a.dev.addPeer({
    publicKey: publicFromPrivate(generateNodePrivate()),
    allowedIps: [parsePrefix("0.0.0.0/0")],
  });
  const send = (src: string, dst: string, text: string) => {
    const { buf, size } = ipPacket(src, dst, new TextEncoder().encode(text));
    a.dev.sendPackets([buf], [size], 16, 1);
  };
  send("fd00::1", "fd00::2", "hello");
  net.deliver();
  assert.equal(b.tun.packets.length, 1, "session up");
  // Outer datagrams straight into B, then inner packets sealed by A's real session.
  const outer = [...wgSeeds, fromHex(responds.initiation as string)];
  runFuzz("device datagrams", SEED, fuzzCases(outer, { seed: SEED, count: n(1500) }), (d) => {
    const buf = new Uint8Array(d.length + 32);
    buf.set(d);
    b.dev.receivePackets([buf], [d.length], [fakeEndpoint(3)], 1);
  });
  const inner = [
    ipPacket("fd00::1", "fd00::2", new Uint8Array(30)),
    ipPacket("fd00::1", "fd00::2", new Uint8Array(0)),
  ]
    .map((p) => p.buf.slice(16, 16 + p.size));
  const before = b.tun.packets.length;
  runFuzz("device inner packets", SEED, fuzzCases(inner, { seed: SEED, count: n(1500) }), (p) => {
    if (p.length === 0) return true;
    const buf = new Uint8Array(16 + p.length + 32);
    buf.set(p, 16);
    const had = b.tun.packets.length;
    a.dev.sendPackets([buf], [p.length], 16, 1);
    net.deliver();
    for (const got of b.tun.packets.slice(had)) {
      const v = got[0] >> 4;
      invariant(v === 4 || v === 6, "TUN got an IP packet");
      const len = v === 4 ? (got[2] << 8) | got[3] : 40 + ((got[4] << 8) | got[5]);
      invariant(len === got.length, "TUN packet length matches its header");
    }
    return b.tun.packets.length === had;
  });
  assert.ok(b.tun.packets.length > before, "some mutated inner packets are still delivered");
});

const txId = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
const discoMsgs = [
  encodeDiscoMessage({ type: "ping", txId, nodeKey: new Uint8Array(32).fill(7), padding: 0 }),
  encodeDiscoMessage({ type: "ping", txId, nodeKey: null, padding: 3 }),
  encodeDiscoMessage({ type: "pong", txId, src: addrPort(Uint8Array.of(192, 0, 2, 1), 41641) }),
  encodeDiscoMessage({
    type: "call-me-maybe",
    endpoints: [addrPort(Uint8Array.of(10, 0, 0, 1), 1), addrPort(new Uint8Array(16).fill(1), 2)],
  }),
];

Deno.test("fuzz: parseDiscoMessage() returns null or a message that re-encodes to itself", () => {
  runFuzz(
    "disco payload",
    SEED,
    fuzzCases(discoMsgs, { seed: SEED, count: n(6000), prefixesUpTo: 64 }),
    (b) => {
      const m = parseDiscoMessage(b);
      if (m === null) return true;
      if (m.type === "ping") {
        invariant(m.txId.length === 12 && Number.isInteger(m.padding) && m.padding >= 0, "ping");
        invariant(m.nodeKey === null || m.nodeKey.length === 32, "ping key");
      }
      if (m.type === "pong") invariant(m.txId.length === 12, "pong");
      const again = parseDiscoMessage(encodeDiscoMessage(m));
      if (m.type === "ping" && again?.type === "ping") {
        // As in tailscaled, a zero key is not re-encoded, so 32 bytes of padding may read back
        // as that zero key: only the TxID and key must survive.
        assert.deepEqual([again.txId, again.nodeKey], [m.txId, m.nodeKey]);
      } else assert.deepEqual(again, m);
    },
  );
});

Deno.test("fuzz: openDisco() never throws on mutated sealed packets and mutated sealed payloads", () => {
  const me = generateNodePrivate(), peer = generateNodePrivate();
  const mePub = publicFromPrivate(me), peerPub = publicFromPrivate(peer);
  const known = () => true;
  const packets = discoMsgs.map((m) => sealDiscoPayload(peer, peerPub, mePub, m));
  runFuzz("disco packet", SEED, fuzzCases(packets, { seed: SEED, count: n(3000) }), (p) => {
    const o = openDisco(p, me, known);
    if (o === null) return true;
    invariant(o.sender.length === 32, "sender key");
  });
  runFuzz(
    "disco sealed payload",
    SEED,
    fuzzCases(discoMsgs, { seed: SEED, count: n(1500) }),
    (m) => {
      const o = openDisco(sealDiscoPayload(peer, peerPub, mePub, m), me, known);
      invariant((o === null) === (parseDiscoMessage(m) === null), "open agrees with parse");
      return o === null;
    },
  );
  const pkt = sealDisco(peer, peerPub, mePub, { type: "call-me-maybe", endpoints: [] });
  assert.equal(openDisco(pkt, me, known)?.msg.type, "call-me-maybe");
});

Deno.test("fuzz: STUN parsers throw SyntaxError or return answerable, in-range results", () => {
  const tx = new Uint8Array(12).fill(9);
  const classic = encodeBindingRequest(tx, "");
  classic.set(new Uint8Array(4).fill(0x42), 4); // no magic cookie: RFC 3489
  const requests = [encodeBindingRequest(tx), encodeBindingRequest(tx, "other software"), classic];
  const lengths = requests.map(
    () => [{ offset: 2, size: 2 as const }, { offset: 22, size: 2 as const }],
  );
  const cookie = Uint8Array.of(0x21, 0x12, 0xa4, 0x42, ...tx);
  const responses = [
    encodeBindingResponse(cookie, Uint8Array.of(198, 51, 100, 7), 3478),
    encodeBindingResponse(cookie, new Uint8Array(16).fill(0x20), 1),
    encodeBindingResponse(new Uint8Array(16).fill(3), Uint8Array.of(1, 2, 3, 4), 5),
  ];
  const all = [...requests, ...responses];
  const cases = fuzzCases(all, {
    seed: SEED,
    count: n(6000),
    prefixesUpTo: 64,
    lengthFields: [...lengths, ...responses.map(() => [{ offset: 2, size: 2 as const }])],
  });
  runFuzz("stun", SEED, cases, (b) => {
    let rejected = 0;
    for (const tailnodeOnly of [false, true]) {
      const r = attempt(() => parseBindingRequest(b, tailnodeOnly), [SyntaxError]);
      if (r === null) {
        rejected++;
        continue;
      }
      invariant(r.value.transaction.length === 16, "transaction");
      if (tailnodeOnly) invariant(r.value.modern && r.value.software === "tailnode", "tailnode");
      encodeBindingResponse(r.value.transaction, Uint8Array.of(1, 2, 3, 4), 65535);
    }
    const r = attempt(() => parseBindingResponse(b), [SyntaxError]);
    if (r === null) return rejected === 2;
    const { txId, ip, port } = r.value;
    invariant(txId.length === 12 && (ip.length === 4 || ip.length === 16), "response");
    invariant(Number.isInteger(port) && port >= 0 && port <= 65535, "port");
  });
});
