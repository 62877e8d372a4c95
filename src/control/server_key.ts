/**
 * `GET /key?v=<capver>`: the control server's Noise public key (protocol doc §2.1).
 *
 * @module
 */
import { fromHex } from "../bytes/hex.ts";
import { parseMachinePublic } from "../key/node_key.ts";
import { isZeroKey } from "../key/node_key.ts";
import { KEY_PATH, KEY_RESPONSE_LIMIT } from "./constants.ts";
import { ControlError, oneLine } from "./errors.ts";

/** Options for {@link fetchServerKey}. */
export interface FetchServerKeyOptions {
  /** Cancels the request. */
  signal?: AbortSignal;
  /** Replaces the global fetch (tests). */
  fetch?: typeof fetch;
  /** Time limit in milliseconds (default 10 s). */
  timeoutMs?: number;
}

/**
 * Parses a `/key` response body: JSON `{"publicKey":"mkey:…"}`, or the
 * legacy bare 64-hex form of very old servers.
 *
 * @throws {ControlError} kind "protocol" for an empty/unparseable body or a zero key
 */
export function parseServerKeyResponse(body: string, url = "/key"): Uint8Array {
  const text = body.trim();
  if (text === "") {
    throw new ControlError(
      "protocol",
      `control: ${url} returned an empty body (server too old for Noise, or not a Tailscale control server)`,
    );
  }
  if (/^[0-9a-fA-F]{64}$/.test(text)) return fromHex(text);
  let key: Uint8Array;
  try {
    const json = JSON.parse(text);
    key = parseMachinePublic(String(json.publicKey));
  } catch (err) {
    throw new ControlError(
      "protocol",
      `control: ${url} did not return a server key: ${oneLine(text.slice(0, 80))}`,
      { cause: err },
    );
  }
  if (isZeroKey(key)) {
    throw new ControlError("protocol", `control: ${url} returned a zero key (server too old)`);
  }
  return key;
}

/**
 * Fetches the control server's Noise key over ordinary HTTP(S).
 *
 * @example
 * ```ts ignore
 * const key = await fetchServerKey("https://headscale.example", 113);
 * ```
 * @throws {ControlError} "unreachable" when the server cannot be reached, "http" on a non-200
 */
export async function fetchServerKey(
  controlUrl: string,
  capver: number,
  opts: FetchServerKeyOptions = {},
): Promise<Uint8Array> {
  const base = new URL(controlUrl);
  const url = new URL(KEY_PATH, base);
  url.searchParams.set("v", String(capver));
  const signals = [AbortSignal.timeout(opts.timeoutMs ?? 10_000)];
  if (opts.signal !== undefined) signals.push(opts.signal);
  let res: Response;
  try {
    res = await (opts.fetch ?? fetch)(url, { signal: AbortSignal.any(signals) });
  } catch (err) {
    if (opts.signal?.aborted) throw new ControlError("aborted", "control: aborted", { cause: err });
    throw new ControlError(
      "unreachable",
      `control: cannot reach ${base.origin}: ${oneLine((err as Error).message)}`,
      { cause: err },
    );
  }
  const body = await readLimited(res, KEY_RESPONSE_LIMIT);
  if (res.status !== 200) {
    throw new ControlError(
      "http",
      `control: GET ${url.pathname} on ${base.origin} returned HTTP ${res.status}: ${
        oneLine(body) || res.statusText
      }`,
      { status: res.status },
    );
  }
  return parseServerKeyResponse(body, `${base.origin}${KEY_PATH}`);
}

async function readLimited(res: Response, limit: number): Promise<string> {
  if (res.body === null) return "";
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < limit) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
      n += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(Math.min(n, limit));
  let off = 0;
  for (const p of parts) {
    const take = Math.min(p.length, all.length - off);
    all.set(p.subarray(0, take), off);
    off += take;
  }
  return new TextDecoder().decode(all);
}
