/**
 * The Noise handshake core shared by WireGuard (IKpsk2) and Tailscale's
 * TS2021 control channel (IK).
 *
 * @module
 */
export * from "./cipher_state.ts";
export * from "./symmetric_state.ts";
export * from "./handshake_state.ts";
