/**
 * The response forms tailscaled's LocalAPI uses (Go net/http and
 * encoding/json habits), so clients parse warren's answers as tailscaled's.
 *
 * @module
 */

/** Go's encoding/json output: HTML-sensitive characters escaped, tabs when indented. */
export function goJson(v: unknown, indent = false): string {
  return JSON.stringify(v, null, indent ? "\t" : undefined)
    .replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A JSON body as json.Encoder writes it (trailing newline); `indent` as SetIndent("", "\t"). */
export function jsonResponse(
  v: unknown,
  opts: { indent?: boolean; status?: number } = {},
): Response {
  return new Response(goJson(v, opts.indent) + "\n", {
    status: opts.status ?? 200,
    headers: { "Content-Type": "application/json" },
  });
}

/** Go's http.Error: text/plain, nosniff, the message and a newline. */
export function httpError(status: number, message: string): Response {
  return new Response(message + "\n", {
    status,
    headers: {
      "Content-Type": "text/plain; charset=utf-8",
      "X-Content-Type-Options": "nosniff",
    },
  });
}

/** localapi.WriteErrorJSON: 500 with `{"error": message}`. */
export function errorJson(message: string): Response {
  return jsonResponse({ error: message }, { status: 500 });
}

/** Go's strconv.ParseBool with a default for anything else (localapi's defBool). */
export function defBool(v: string | null, def: boolean): boolean {
  if (v === null) return def;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  return def;
}

/** Reads a JSON body; null when it is not JSON (an empty body is not). */
export async function readJson(
  req: Request,
): Promise<{ ok: true; value: unknown } | { ok: false; error: string }> {
  const text = await req.text();
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: text.trim() === "" ? "EOF" : (e as Error).message };
  }
}
