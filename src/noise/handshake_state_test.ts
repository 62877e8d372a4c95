import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { CipherState } from "./cipher_state.ts";
import { HandshakeState, type KeyPair, type NoisePattern } from "./handshake_state.ts";
import { generatePrivateKey, publicKeyFrom } from "../crypto/x25519.ts";

const keyPair = (priv: Uint8Array): KeyPair => ({
  privateKey: priv,
  publicKey: publicKeyFrom(priv),
});
const EMPTY = new Uint8Array(0);

interface Vector {
  protocol_name: string;
  source: string;
  init_prologue: string;
  init_psks?: string[];
  init_static: string;
  init_ephemeral: string;
  init_remote_static: string;
  resp_prologue: string;
  resp_psks?: string[];
  resp_static: string;
  resp_ephemeral: string;
  /** Absent in snow's vectors. */
  handshake_hash?: string;
  messages: { payload: string; ciphertext: string }[];
}

const { vectors } = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/noise_vectors.json", import.meta.url)),
) as { vectors: Vector[] };

for (const v of vectors) {
  Deno.test(`HandshakeState reproduces the ${v.protocol_name} vector from ${v.source.split(" ")[0]}`, () => {
    const pattern = v.protocol_name.split("_")[1] as NoisePattern;
    const initPsk = v.init_psks?.[0];
    const respPsk = v.resp_psks?.[0];
    assert.equal(toHex(publicKeyFrom(fromHex(v.resp_static))), v.init_remote_static);
    const ini = new HandshakeState({
      pattern,
      initiator: true,
      prologue: fromHex(v.init_prologue),
      s: keyPair(fromHex(v.init_static)),
      rs: fromHex(v.init_remote_static),
      e: fromHex(v.init_ephemeral),
      psk: initPsk === undefined ? undefined : fromHex(initPsk),
    });
    const res = new HandshakeState({
      pattern,
      initiator: false,
      prologue: fromHex(v.resp_prologue),
      s: keyPair(fromHex(v.resp_static)),
      e: fromHex(v.resp_ephemeral),
      psk: respPsk === undefined ? undefined : fromHex(respPsk),
    });
    const [m1, m2, ...transport] = v.messages;
    const c1 = ini.writeMessage(fromHex(m1.payload));
    assert.equal(toHex(c1), m1.ciphertext);
    assert.equal(toHex(res.readMessage(c1)), m1.payload);
    assert.equal(toHex(res.remoteStatic!), toHex(publicKeyFrom(fromHex(v.init_static))));
    const c2 = res.writeMessage(fromHex(m2.payload));
    assert.equal(toHex(c2), m2.ciphertext);
    assert.equal(toHex(ini.readMessage(c2)), m2.payload);
    assert.equal(toHex(ini.handshakeHash), toHex(res.handshakeHash));
    if (v.handshake_hash !== undefined) assert.equal(toHex(ini.handshakeHash), v.handshake_hash);

    const iKeys = ini.split();
    const rKeys = res.split();
    const iSend = new CipherState(iKeys.send), iRecv = new CipherState(iKeys.recv);
    const rSend = new CipherState(rKeys.send), rRecv = new CipherState(rKeys.recv);
    transport.forEach((m, i) => {
      const [send, recv] = i % 2 === 0 ? [iSend, rRecv] : [rSend, iRecv];
      const ct = send.encryptWithAd(EMPTY, fromHex(m.payload));
      assert.equal(toHex(ct), m.ciphertext, `transport message ${i}`);
      assert.equal(toHex(recv.decryptWithAd(EMPTY, ct)), m.payload);
    });
  });
}

function pair(pattern: NoisePattern, psk?: Uint8Array, respPsk = psk) {
  const i = keyPair(generatePrivateKey());
  const r = keyPair(generatePrivateKey());
  const prologue = new TextEncoder().encode("test");
  return {
    i,
    r,
    ini: new HandshakeState({ pattern, initiator: true, prologue, s: i, rs: r.publicKey, psk }),
    res: new HandshakeState({ pattern, initiator: false, prologue, s: r, psk: respPsk }),
  };
}

Deno.test("HandshakeState IKpsk2 fails at the responder's message when the PSKs differ", () => {
  const { ini, res } = pair("IKpsk2", new Uint8Array(32).fill(1), new Uint8Array(32).fill(2));
  res.readMessage(ini.writeMessage(EMPTY));
  assert.throws(() => ini.readMessage(res.writeMessage(EMPTY)), /did not authenticate/);
});

Deno.test("HandshakeState rejects a tampered or truncated first message", () => {
  for (const i of [0, 40, 95]) {
    const { ini, res } = pair("IK");
    const m = ini.writeMessage(new Uint8Array(0));
    m[i] ^= 1;
    assert.throws(() => res.readMessage(m), Error, `byte ${i}`);
  }
  const { ini, res } = pair("IK");
  assert.throws(() => res.readMessage(ini.writeMessage(EMPTY).subarray(0, 90)), RangeError);
});

Deno.test("HandshakeState rejects a responder key the initiator did not expect", () => {
  const { ini } = pair("IK");
  const other = new HandshakeState({
    pattern: "IK",
    initiator: false,
    prologue: new TextEncoder().encode("test"),
    s: keyPair(generatePrivateKey()),
  });
  assert.throws(() => other.readMessage(ini.writeMessage(EMPTY)), /did not authenticate/);
});

Deno.test("HandshakeState enforces message order and psk presence", () => {
  const { ini, res } = pair("IKpsk2");
  assert.throws(() => ini.readMessage(new Uint8Array(48)), /out of order/);
  assert.throws(() => res.writeMessage(EMPTY), /out of order/);
  assert.throws(() => ini.split(), /not complete/);
  res.readMessage(ini.writeMessage(EMPTY));
  assert.throws(() => res.writeMessage(EMPTY), /no pre-shared key/);
});

Deno.test("HandshakeState uses a precomputed static-static DH when given one", () => {
  const { i, r } = pair("IK");
  const prologue = EMPTY;
  const wrong = new Uint8Array(32).fill(7);
  const ini = new HandshakeState({
    pattern: "IK",
    initiator: true,
    prologue,
    s: i,
    rs: r.publicKey,
    precomputedStaticStatic: wrong,
  });
  const res = new HandshakeState({ pattern: "IK", initiator: false, prologue, s: r });
  assert.throws(() => res.readMessage(ini.writeMessage(EMPTY)), /did not authenticate/);
  const res2 = new HandshakeState({
    pattern: "IK",
    initiator: false,
    prologue,
    s: r,
    precomputedStaticStatic: () => wrong,
  });
  const ini2 = new HandshakeState({
    pattern: "IK",
    initiator: true,
    prologue,
    s: i,
    rs: r.publicKey,
    precomputedStaticStatic: wrong,
  });
  assert.deepEqual(res2.readMessage(ini2.writeMessage(new Uint8Array([5]))), new Uint8Array([5]));
});
