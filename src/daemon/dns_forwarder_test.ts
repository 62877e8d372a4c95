import assert from "node:assert/strict";
import dgram from "node:dgram";
import { udpDnsForwarder, udpUpstream } from "./dns_forwarder.ts";

Deno.test("udpUpstream() parses resolver addresses and refuses DoH", () => {
  assert.deepEqual(udpUpstream("1.1.1.1"), { host: "1.1.1.1", port: 53 });
  assert.deepEqual(udpUpstream("9.9.9.9:5353"), { host: "9.9.9.9", port: 5353 });
  assert.deepEqual(udpUpstream("[2606:4700::1111]:53"), { host: "2606:4700::1111", port: 53 });
  assert.deepEqual(udpUpstream("2606:4700::1111"), { host: "2606:4700::1111", port: 53 });
  assert.equal(udpUpstream("https://dns.example/dns-query"), null);
});

Deno.test("udpDnsForwarder() skips a silent upstream and returns the answer with the query's ID", async () => {
  const silent = dgram.createSocket("udp4");
  const answering = dgram.createSocket("udp4");
  await new Promise<void>((r) => silent.bind(0, "127.0.0.1", r));
  await new Promise<void>((r) => answering.bind(0, "127.0.0.1", r));
  answering.on("message", (msg: Uint8Array, rinfo: { port: number; address: string }) => {
    const wrongId = Uint8Array.of(0xde, 0xad, 0x81, 0x80);
    answering.send(wrongId, rinfo.port, rinfo.address);
    const reply = new Uint8Array(msg);
    reply[2] |= 0x80; // QR: a response
    answering.send(reply, rinfo.port, rinfo.address);
  });
  try {
    const query = Uint8Array.of(0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0);
    const fwd = udpDnsForwarder(200);
    const answer = await fwd(query, [
      { Addr: `127.0.0.1:${silent.address().port}` },
      { Addr: "https://doh.example/dns-query" },
      { Addr: `127.0.0.1:${answering.address().port}` },
    ]);
    assert.ok(answer);
    assert.equal(answer[0], 0x12);
    assert.equal(answer[1], 0x34);
    assert.equal(answer[2] & 0x80, 0x80);
  } finally {
    silent.close();
    answering.close();
  }
});
