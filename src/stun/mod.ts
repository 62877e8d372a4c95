/**
 * STUN: codec, client and server (protocol doc §7).
 *
 * @module
 */

export * from "./constants.ts";
export * from "./codec.ts";
export { StunServer, type StunServerOptions } from "./server.ts";
export { stunQuery, type StunResult } from "./client.ts";
