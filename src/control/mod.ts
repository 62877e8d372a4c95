/**
 * The TS2021 control client: server key, dial, register, map stream, lite
 * updates, and the self-healing session on top.
 *
 * @module
 */
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./server_key.ts";
export * from "./dial.ts";
export * from "./early_noise.ts";
export * from "./map_stream.ts";
export * from "./hostinfo.ts";
export * from "./client.ts";
export * from "./backoff.ts";
export * from "./session.ts";
