import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { HandshakeState } from "./handshake_state.ts";
import { publicKeyFrom } from "../crypto/x25519.ts";

const fixture = JSON.parse(
  Deno.readTextFileSync(
    new URL(
      "./testdata/ts2021_initiation.json",
      import.meta.url,
    ),
  ),
);

Deno.test("HandshakeState opens tailscaled's real TS2021 initiation with Headscale's key", () => {
  const msg = Uint8Array.from(atob(fixture.initiation_base64), (c) => c.charCodeAt(0));
  const version = (msg[0] << 8) | msg[1];
  assert.equal(version, 133);
  assert.equal(msg[2], 1);
  assert.equal((msg[3] << 8) | msg[4], 96);
  const serverPriv = fromHex(fixture.server_static_private.replace("privkey:", ""));
  const serverPub = publicKeyFrom(serverPriv);
  assert.equal(toHex(serverPub), fixture.server_static_public.replace("mkey:", ""));
  const prologue = new TextEncoder().encode(`Tailscale Control Protocol v${version}`);
  assert.equal(new TextDecoder().decode(prologue), fixture.expected_prologue);

  const res = new HandshakeState({
    pattern: "IK",
    initiator: false,
    prologue,
    s: { privateKey: serverPriv, publicKey: serverPub },
  });
  const payload = res.readMessage(msg.subarray(5));
  assert.equal(payload.length, 0);
  assert.equal(toHex(res.remoteStatic!), fixture.machine_static_public.replace("mkey:", ""));

  // A different prologue (version) must not open it.
  const wrong = new HandshakeState({
    pattern: "IK",
    initiator: false,
    prologue: new TextEncoder().encode("Tailscale Control Protocol v132"),
    s: { privateKey: serverPriv, publicKey: serverPub },
  });
  assert.throws(() => wrong.readMessage(msg.subarray(5)), /did not authenticate/);
});
