import assert from "node:assert/strict";
import { generatePrivateKey, publicKeyFrom } from "../crypto/x25519.ts";
import type { Device } from "./device.ts";
import { mac1Key } from "./macs.ts";
import { devicePair } from "./testing.ts";
import { type SleepingDevice, wakeVerdict } from "./wake.ts";

/** Two devices on a fake network: `a` sends to `b`, whose sleeping host judges what arrives. */
const pair = devicePair;

/** What `dev`'s host would know once it slept with its sessions. */
function asleep(dev: Device, pub: Uint8Array): SleepingDevice {
  const localIndices = new Set<number>();
  for (const p of dev.saveSessions()) for (const kp of p.keypairs) localIndices.add(kp.localIndex);
  return { mac1Key: mac1Key(pub), localIndices };
}

Deno.test("wakeVerdict: a peer's real initiation wakes the device; one for another key or tampered does not", () => {
  const { net, b, send } = pair();
  send();
  const init = net.queue[0].data;
  assert.equal(init[0], 1);
  assert.equal(wakeVerdict(init, asleep(b.dev, b.pub)), "wake");
  const other = publicKeyFrom(generatePrivateKey());
  assert.equal(
    wakeVerdict(init, { mac1Key: mac1Key(other), localIndices: new Set() }),
    "handshake",
  );
  const tampered = init.slice();
  tampered[20] ^= 1;
  assert.equal(wakeVerdict(tampered, asleep(b.dev, b.pub)), "handshake");
  assert.equal(wakeVerdict(init.subarray(0, 147), asleep(b.dev, b.pub)), "malformed");
});

Deno.test("wakeVerdict: transport to a kept session wakes it, to another index does not; responses and cookie replies never do", () => {
  const { net, a, b, send } = pair();
  send();
  net.deliver(1); // the initiation reaches b, whose response waits in the queue
  const response = net.queue[0].data;
  assert.equal(response[0], 2);
  net.deliver();
  send();
  const transport = net.queue[0].data;
  assert.equal(transport[0], 4);
  const sleeping = asleep(b.dev, b.pub);
  assert.ok(sleeping.localIndices.size > 0, "b kept a session");
  assert.equal(wakeVerdict(transport, sleeping), "wake");
  assert.equal(
    wakeVerdict(transport, { ...sleeping, localIndices: new Set() }),
    "unauthenticated",
    "no kept session: the device would drop it as unknown",
  );
  assert.equal(wakeVerdict(transport.subarray(0, 31), sleeping), "malformed");
  // A response, even with a right mac1: a device at rest waits for none.
  assert.equal(wakeVerdict(response, asleep(a.dev, a.pub)), "handshake");
  const cookie = new Uint8Array(64);
  cookie[0] = 3;
  assert.equal(wakeVerdict(cookie, sleeping), "handshake");
});
