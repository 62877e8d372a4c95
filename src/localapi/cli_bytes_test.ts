/**
 * The stock `tailscale` CLI's own request bytes (captured from tailscale
 * 1.96.5 on its way to tailscaled's socket), written unchanged to the handler
 * served on a unix socket: Go's HTTP/1.1 framing, its Host header and its
 * chunked bodies must all be understood.
 */
import assert from "node:assert/strict";
import { localApiHandler } from "./handler.ts";
import { FakeNode, LOCALAPI_FIXTURES } from "./testdata.ts";

/** Each captured request's bytes; the logger split one chunked body into its own block. */
function capturedRequests(): string[] {
  const raw = Deno.readTextFileSync(new URL("cli-requests.txt", LOCALAPI_FIXTURES));
  const out: string[] = [];
  for (const block of raw.split("=== request bytes ===\n").slice(1)) {
    const bytes = block.endsWith("\n") ? block.slice(0, -1) : block; // the logger's separator
    if (/^[A-Z]+ \//.test(bytes)) out.push(bytes);
    else out[out.length - 1] += bytes;
  }
  return out;
}

/** Reads one HTTP/1.1 response (Content-Length or chunked) from `conn`. */
async function readResponse(conn: Deno.UnixConn): Promise<{ status: number; body: string }> {
  const dec = new TextDecoder();
  let buf = "";
  const chunk = new Uint8Array(65536);
  const more = async () => {
    const n = await conn.read(chunk);
    if (n === null) throw new Error("Connection closed before the response ended");
    buf += dec.decode(chunk.subarray(0, n), { stream: true });
  };
  while (!buf.includes("\r\n\r\n")) await more();
  const split = buf.indexOf("\r\n\r\n");
  const head = buf.slice(0, split);
  const status = Number(head.split(" ")[1]);
  const len = head.match(/^content-length:\s*(\d+)/im);
  if (len) {
    while (buf.length < split + 4 + Number(len[1])) await more();
    return { status, body: buf.slice(split + 4, split + 4 + Number(len[1])) };
  }
  if (/^transfer-encoding:\s*chunked/im.test(head)) {
    while (!buf.endsWith("\r\n0\r\n\r\n")) await more();
    let rest = buf.slice(split + 4);
    let body = "";
    for (;;) {
      const nl = rest.indexOf("\r\n");
      const n = parseInt(rest.slice(0, nl), 16);
      if (n === 0) return { status, body };
      body += rest.slice(nl + 2, nl + 2 + n);
      rest = rest.slice(nl + 4 + n);
    }
  }
  return { status, body: "" }; // 204
}

Deno.test("the stock CLI's captured request bytes are answered over a unix socket", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/tailscaled.sock`;
  const node = new FakeNode();
  const server = Deno.serve({ path, onListen() {} }, localApiHandler(node));
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    const reqs = capturedRequests();
    assert.equal(reqs.length, 12);
    const answers: { line: string; status: number; body: string }[] = [];
    for (const r of reqs) {
      // one keep-alive connection, as Go's client uses
      await conn.write(new TextEncoder().encode(r));
      answers.push({ line: r.split("\r\n")[0], ...await readResponse(conn) });
    }
    for (const a of answers) assert.equal(a.status, 200, a.line);
    const byLine = (prefix: string) => answers.filter((a) => a.line.startsWith(prefix));
    assert.equal(JSON.parse(byLine("GET /localapi/v0/status ")[0].body).BackendState, "Running");
    assert.equal(JSON.parse(byLine("GET /localapi/v0/whois")[0].body).Node.ID, 1);
    assert.equal(JSON.parse(byLine("POST /localapi/v0/ping")[0].body).NodeName, "ts-a");
    assert.equal(byLine("POST /localapi/v0/check-prefs")[0].body, "{}\n");
    assert.equal(JSON.parse(byLine("PATCH /localapi/v0/prefs")[0].body).ExitNodeID, "");
    assert.deepEqual(node.calls.map((c) => c.fn), ["discoPing", "editPrefs"]);
  } finally {
    conn.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
