import assert from "node:assert/strict";
import { decodeHead, encodeHead, fieldValue, stripHopByHop } from "./http_head.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("decodeHead() waits for the blank line, then returns start line, fields and length", () => {
  // The request curl -x sends for a plain http:// URL.
  const req =
    "GET http://localhost:8000/ HTTP/1.1\r\nHost: localhost:8000\r\nUser-Agent: curl/8.5.0\r\n" +
    "Accept: */*\r\nProxy-Connection: Keep-Alive\r\n\r\nBODY";
  const bytes = enc(req);
  assert.equal(decodeHead(bytes.subarray(0, req.indexOf("\r\n\r\n") + 3)), null);
  const got = decodeHead(bytes);
  assert.deepEqual(got?.value.start, ["GET", "http://localhost:8000/", "HTTP/1.1"]);
  assert.deepEqual(got?.value.fields[3], ["Proxy-Connection", "Keep-Alive"]);
  assert.equal(got?.length, req.length - 4);
});

Deno.test("decodeHead() reads response heads, with and without a reason phrase", () => {
  assert.deepEqual(decodeHead(enc("HTTP/1.1 200 OK\r\n\r\n"))?.value.start, [
    "HTTP/1.1",
    "200",
    "OK",
  ]);
  assert.deepEqual(decodeHead(enc("HTTP/1.0 404\r\n\r\n"))?.value.start, ["HTTP/1.0", "404", ""]);
  assert.deepEqual(
    decodeHead(enc("HTTP/1.1 502 Bad  Gateway\r\n\r\n"))?.value.start,
    ["HTTP/1.1", "502", "Bad  Gateway"],
  );
});

Deno.test("decodeHead() rejects malformed start lines and fields", () => {
  for (
    const bad of [
      "GET\r\n\r\n",
      "GET  / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1 extra\r\n\r\n",
      "GET / SPDY/3\r\n\r\n",
      "HTTP/1.1 20 OK\r\n\r\n",
      "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
      "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
      "GET / HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n",
    ]
  ) {
    assert.throws(() => decodeHead(enc(bad)), SyntaxError, JSON.stringify(bad));
  }
});

Deno.test("encodeHead() writes the head and fieldValue() ignores case", () => {
  assert.equal(
    new TextDecoder().decode(encodeHead("HTTP/1.1 200 OK", [["A", "1"], ["b", "2"]])),
    "HTTP/1.1 200 OK\r\nA: 1\r\nb: 2\r\n\r\n",
  );
  assert.equal(fieldValue([["X-A", "1"], ["x-a", "2"]], "x-A"), "1");
  assert.equal(fieldValue([], "x"), null);
});

Deno.test("stripHopByHop() drops the fixed set and Connection-listed fields, keeps Transfer-Encoding", () => {
  const kept = stripHopByHop([
    ["Connection", "close, X-Foo"],
    ["Proxy-Connection", "keep-alive, X-Bar"],
    ["Keep-Alive", "timeout=5"],
    ["Proxy-Authorization", "Basic x"],
    ["Proxy-Authenticate", "Basic"],
    ["TE", "trailers"],
    ["Trailer", "X"],
    ["Upgrade", "h2c"],
    ["x-foo", "1"],
    ["X-Bar", "2"],
    ["Transfer-Encoding", "chunked"],
    ["Accept", "*/*"],
  ]);
  assert.deepEqual(kept, [["Transfer-Encoding", "chunked"], ["Accept", "*/*"]]);
});
