import assert from "node:assert/strict";
import { fromHex } from "../bytes/hex.ts";
import { encodeC2nResponse, handleC2n, parseC2nRequest } from "./c2n.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("c2n /echo answers the body back as an HTTP/1.1 response", () => {
  const req = parseC2nRequest(
    enc("POST /echo?x=1 HTTP/1.1\r\nHost: node\r\nContent-Length: 5\r\n\r\nhelloEXTRA"),
  );
  assert.equal(req.method, "POST");
  assert.equal(req.path, "/echo");
  assert.equal(req.headers.get("host"), "node");
  assert.equal(dec(req.body), "hello");
  assert.equal(
    dec(encodeC2nResponse(handleC2n(req))),
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
  );
  const get = parseC2nRequest(enc("GET /echo HTTP/1.0\r\n\r\n"));
  assert.equal(
    dec(encodeC2nResponse(handleC2n(get))),
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
  );
});

Deno.test("c2n paths warren does not serve get tailscaled's 400 unknown c2n path", () => {
  const res = handleC2n(parseC2nRequest(enc("GET /debug/goroutines HTTP/1.1\r\n\r\n")));
  assert.equal(res.status, 400);
  assert.equal(
    dec(encodeC2nResponse(res)),
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n" +
      "X-Content-Type-Options: nosniff\r\nContent-Length: 17\r\n\r\nunknown c2n path\n",
  );
});

Deno.test("parseC2nRequest() rejects what is not an HTTP/1.x request", () => {
  for (
    const bad of [
      "",
      "GET /echo HTTP/1.1\r\n", // no end of headers
      "GET /echo HTTP/2\r\n\r\n",
      "get /echo HTTP/1.1\r\n\r\n",
      "GET /echo HTTP/1.1\r\nnocolon\r\n\r\n",
      "POST /echo HTTP/1.1\r\nContent-Length: 9\r\n\r\nshort",
      "POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    ]
  ) {
    assert.throws(() => parseC2nRequest(enc(bad)), SyntaxError, JSON.stringify(bad));
  }
});

Deno.test("parseC2nRequest() throws SyntaxError, not TypeError, for a target that is not a URL", () => {
  // Found by tests/fuzz_control_test.ts: "POST http://\x7f2n/debug/metrics HTTP/1.1".
  const fuzzed = fromHex(
    "504f535420687474703a2f2f7f326e2f64656275672f6d65747269637320485454502f312e310d0a0d0a",
  );
  assert.throws(() => parseC2nRequest(fuzzed), SyntaxError);
  for (const target of ["http://[::1", "//a%zz/echo", "http://x:99999/echo"]) {
    assert.throws(() => parseC2nRequest(enc(`GET ${target} HTTP/1.1\r\n\r\n`)), SyntaxError);
  }
});
