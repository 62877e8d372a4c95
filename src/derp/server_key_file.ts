/**
 * The DERP server's persistent identity: derper's config file format
 * `{"PrivateKey":"privkey:<64 hex>"}`, created with mode 0600 when missing.
 *
 * @module
 */

import { formatPrivate, generateNodePrivate, parsePrivate } from "../key/node_key.ts";

/**
 * Loads the server private key from path, or generates and saves one if the file
 * does not exist.
 *
 * @returns the key and whether it was newly created
 * @throws {Error} if the file exists but cannot be read or parsed, or cannot be written
 */
export async function loadOrCreateServerKey(
  path: string,
): Promise<{ privateKey: Uint8Array; created: boolean }> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new Error(`Cannot read server key file ${path}: ${(e as Error).message}`);
    }
    const privateKey = generateNodePrivate();
    const body = JSON.stringify({ PrivateKey: formatPrivate(privateKey) }, null, "\t") + "\n";
    try {
      await Deno.writeTextFile(path, body, { mode: 0o600, createNew: true });
      await Deno.chmod(path, 0o600);
    } catch (e2) {
      throw new Error(`Cannot write server key file ${path}: ${(e2 as Error).message}`);
    }
    return { privateKey, created: true };
  }
  return { privateKey: parseServerKey(text, path), created: false };
}

/**
 * Parses the key file text: derper's JSON, or a bare `privkey:` line.
 *
 * @throws {SyntaxError} if neither form is found
 */
export function parseServerKey(text: string, path = "server key file"): Uint8Array {
  const t = text.trim();
  try {
    if (t.startsWith("{")) {
      const o = JSON.parse(t) as Record<string, unknown>;
      const v = Object.entries(o).find(([k]) => k.toLowerCase() === "privatekey")?.[1];
      if (typeof v !== "string") throw new SyntaxError("no PrivateKey field");
      return parsePrivate(v);
    }
    return parsePrivate(t);
  } catch (e) {
    throw new SyntaxError(`Cannot parse ${path}: ${(e as Error).message}`);
  }
}
