import assert from "node:assert/strict";
import { CAPABILITY_VERSION } from "./constants.ts";
import { buildHostinfo } from "./hostinfo.ts";

/**
 * Headscale's MinSupportedCapabilityVersion in its newest release, v0.29.2
 * (hscontrol/capver/capver_generated.go, 2026-07-01: 113 = Tailscale v1.80).
 * Headscale refuses the Noise handshake below it. Raise it with each release.
 */
const HEADSCALE_MIN_CAPABILITY_VERSION = 113;

Deno.test("the advertised capability version is at least the newest Headscale's minimum", () => {
  assert.ok(
    CAPABILITY_VERSION >= HEADSCALE_MIN_CAPABILITY_VERSION,
    `capver ${CAPABILITY_VERSION} is below Headscale 0.29.2's minimum ${HEADSCALE_MIN_CAPABILITY_VERSION}`,
  );
  // What tailscaled 1.96 sends, the version whose semantics constants.ts lists.
  assert.equal(CAPABILITY_VERSION, 133);
});

Deno.test("Hostinfo says the state is not encrypted (capver 118 clients report it)", () => {
  assert.equal(buildHostinfo({ backendLogID: "ab", hostname: "n" }).StateEncrypted, false);
});
