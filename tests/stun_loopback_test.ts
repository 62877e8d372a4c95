import assert from "node:assert/strict";
import dgram from "node:dgram";
import { StunServer } from "../src/stun/server.ts";
import { stunQuery } from "../src/stun/client.ts";
import { encodeBindingRequest, newTxId } from "../src/stun/codec.ts";
import { testOrSkip } from "../src/testing/skip.ts";

Deno.test("our STUN server answers our client over IPv4 and IPv6 with the right mapped address", async () => {
  let answered = 0;
  const s = await StunServer.listen({ hostname: "::", port: 0, onAnswer: () => answered++ });
  try {
    for (const host of ["127.0.0.1", "::1"]) {
      const sock = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
      await new Promise<void>((r) => sock.bind(0, host, () => r()));
      try {
        const r = await stunQuery(host, s.port, 2000, sock);
        assert.equal(r.ip, host);
        assert.equal(r.port, sock.address().port);
      } finally {
        sock.close();
      }
    }
    assert.equal(answered, 2);
  } finally {
    await s.close();
  }
});

Deno.test("tailnode-only mode ignores generic requests, as derper does", async () => {
  let ignored = 0;
  const s = await StunServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    tailnodeOnly: true,
    onIgnore: () => ignored++,
  });
  const sock = dgram.createSocket("udp4");
  try {
    const got: Uint8Array[] = [];
    sock.on("message", (m: Uint8Array) => got.push(m));
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    sock.send(encodeBindingRequest(newTxId(), "other client"), s.port, "127.0.0.1");
    sock.send(new Uint8Array([1, 2, 3]), s.port, "127.0.0.1");
    const r = await stunQuery("127.0.0.1", s.port, 2000);
    assert.equal(r.ip, "127.0.0.1");
    assert.equal(ignored, 2);
    assert.equal(got.length, 0);
  } finally {
    sock.close();
    await s.close();
  }
});

Deno.test("stunQuery() times out when nobody answers", async () => {
  const sink = dgram.createSocket("udp4");
  await new Promise<void>((r) => sink.bind(0, "127.0.0.1", () => r()));
  try {
    await assert.rejects(() => stunQuery("127.0.0.1", sink.address().port, 200), /timed out/);
  } finally {
    sink.close();
  }
});

const debianStun = await new Deno.Command("sh", {
  args: ["-c", "command -v stun"],
  stdout: "piped",
})
  .output().then((o) => new TextDecoder().decode(o.stdout).trim(), () => "");

testOrSkip(import.meta, debianStun === "" ? "stun (Debian's stun-client) is not installed" : null, {
  name: "Debian's stun-client (RFC 3489) gets its mapped address from our server",
  async fn() {
    const s = await StunServer.listen({ hostname: "::", port: 0 });
    try {
      const out = await new Deno.Command("timeout", {
        args: ["10", debianStun, "-v", `127.0.0.1:${s.port}`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      const opened = text.match(/Opened port (\d+)/);
      assert.ok(opened, text);
      assert.match(text, new RegExp(`MappedAddress = 127\\.0\\.0\\.1:${opened[1]}`));
    } finally {
      await s.close();
    }
  },
});
