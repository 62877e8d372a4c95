/**
 * Byte-string helpers shared by every layer: hex, equality and joining.
 *
 * @module
 */

export { concatBytes } from "./concat.ts";
export { bytesEqual, constantTimeEqual } from "./equal.ts";
export { fromHex, toHex } from "./hex.ts";
