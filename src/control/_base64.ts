/**
 * Standard base64 (with padding) for byte arrays.
 *
 * @module
 */

/** Encodes bytes as standard base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** Decodes standard base64. @throws {SyntaxError} on invalid input */
export function decodeBase64(text: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(text);
  } catch {
    throw new SyntaxError(`Cannot decode base64 ${JSON.stringify(text.slice(0, 40))}`);
  }
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
