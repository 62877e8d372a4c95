import assert from "node:assert/strict";
import dgram from "node:dgram";
import {
  DNS_SOCKETS_PER_FAMILY,
  firstQuestion,
  MAX_DNS_IN_FLIGHT,
  UdpDnsForwarder,
  udpUpstream,
} from "./dns_forwarder.ts";
import { buildDnsMessage, emptyMessage } from "../dns/message.ts";
import { CLASS_IN, TYPE_A, TYPE_AAAA } from "../dns/constants.ts";

type Rinfo = { port: number; address: string };

/** A query for `name` with transaction ID `id`. */
function query(id: number, name: string, type = TYPE_A): Uint8Array {
  const m = emptyMessage();
  m.id = id;
  m.recursionDesired = true;
  m.questions.push({ name, type, class: CLASS_IN });
  return buildDnsMessage(m);
}

/** The same message as a response, with `marker` appended so a test can tell answers apart. */
function answer(q: Uint8Array, marker: number): Uint8Array {
  const r = new Uint8Array(q.length + 1);
  r.set(q);
  r[2] |= 0x80;
  r[q.length] = marker;
  return r;
}

async function udpServer(): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  return s;
}

Deno.test("udpUpstream() parses resolver addresses and refuses DoH", () => {
  assert.deepEqual(udpUpstream("1.1.1.1"), { host: "1.1.1.1", port: 53 });
  assert.deepEqual(udpUpstream("9.9.9.9:5353"), { host: "9.9.9.9", port: 5353 });
  assert.deepEqual(udpUpstream("[2606:4700::1111]:53"), { host: "2606:4700::1111", port: 53 });
  assert.deepEqual(udpUpstream("2606:4700::1111"), { host: "2606:4700::1111", port: 53 });
  assert.equal(udpUpstream("https://dns.example/dns-query"), null);
});

Deno.test("firstQuestion() lowercases the name and refuses a message without a question", () => {
  assert.deepEqual(firstQuestion(query(1, "WwW.Example.COM.", TYPE_AAAA)), {
    name: "www.example.com.",
    type: TYPE_AAAA,
    class: CLASS_IN,
  });
  assert.equal(firstQuestion(Uint8Array.of(0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)), null);
  assert.equal(firstQuestion(Uint8Array.of(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7)), null);
});

Deno.test("UdpDnsForwarder skips a silent upstream and returns the answer with the query's ID", async () => {
  const silent = await udpServer(), answering = await udpServer();
  answering.on("message", (msg: Uint8Array, rinfo: Rinfo) => {
    answering.send(Uint8Array.of(0xde, 0xad, 0x81, 0x80), rinfo.port, rinfo.address);
    answering.send(answer(msg, 0xaa), rinfo.port, rinfo.address);
  });
  const fwd = new UdpDnsForwarder({ timeoutMs: 200 });
  try {
    const got = await fwd.forward(query(0x1234, "example.com."), [
      { Addr: `127.0.0.1:${silent.address().port}` },
      { Addr: "https://doh.example/dns-query" },
      { Addr: `127.0.0.1:${answering.address().port}` },
    ]);
    assert.ok(got);
    assert.deepEqual([got[0], got[1]], [0x12, 0x34]);
    assert.equal(got[2] & 0x80, 0x80);
    assert.equal(got.at(-1), 0xaa);
  } finally {
    fwd.close();
    silent.close();
    answering.close();
  }
});

Deno.test("UdpDnsForwarder ignores answers with the right ID but the wrong question or source", async () => {
  const upstream = await udpServer(), spoofer = await udpServer();
  const spoofOnly = { on: false };
  upstream.on("message", (msg: Uint8Array, rinfo: Rinfo) => {
    const id = (msg[0] << 8) | msg[1];
    // Same ID: another name, another type, and the right question from the wrong port.
    upstream.send(answer(query(id, "evil.example."), 0x01), rinfo.port, rinfo.address);
    upstream.send(answer(query(id, "example.com.", TYPE_AAAA), 0x02), rinfo.port, rinfo.address);
    spoofer.send(answer(msg, 0x03), rinfo.port, rinfo.address);
    // The genuine answer, its name case changed as some resolvers do.
    if (!spoofOnly.on) {
      upstream.send(answer(query(id, "EXAMPLE.com."), 0xaa), rinfo.port, rinfo.address);
    }
  });
  const fwd = new UdpDnsForwarder({ timeoutMs: 300 });
  const up = [{ Addr: `127.0.0.1:${upstream.address().port}` }];
  try {
    const got = await fwd.forward(query(7, "example.com."), up);
    assert.ok(got);
    assert.equal(got.at(-1), 0xaa);
    assert.deepEqual([got[0], got[1]], [0, 7]);
    spoofOnly.on = true;
    assert.equal(await fwd.forward(query(8, "example.com."), up), null, "no genuine answer");
  } finally {
    fwd.close();
    upstream.close();
    spoofer.close();
  }
});

Deno.test("UdpDnsForwarder drops queries beyond 256 in flight and cleans up after timeouts", async () => {
  const silent = await udpServer();
  let received = 0;
  silent.on("message", () => received++);
  const fwd = new UdpDnsForwarder({ timeoutMs: 300 });
  const up = [{ Addr: `127.0.0.1:${silent.address().port}` }];
  try {
    let settled = 0;
    const all = Array.from(
      { length: MAX_DNS_IN_FLIGHT + 44 },
      (_, i) => fwd.forward(query(i, `n${i}.example.`), up).finally(() => settled++),
    );
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(fwd.inFlight, MAX_DNS_IN_FLIGHT);
    assert.equal(fwd.full, true);
    assert.equal(settled, 44, "the excess is refused at once");
    assert.equal(fwd.refused, 44);
    const results = await Promise.all(all);
    assert.ok(results.every((r) => r === null));
    assert.equal(fwd.inFlight, 0);
    assert.equal(fwd.full, false);
    assert.equal(received, MAX_DNS_IN_FLIGHT, "nothing was sent for a refused query");
  } finally {
    fwd.close();
    silent.close();
  }
});

Deno.test("UdpDnsForwarder keeps a fixed socket pool over many queries", async () => {
  const upstream = await udpServer();
  upstream.on("message", (msg: Uint8Array, rinfo: Rinfo) => {
    upstream.send(answer(msg, 0xaa), rinfo.port, rinfo.address);
  });
  const fwd = new UdpDnsForwarder({ timeoutMs: 1000 });
  const up = [{ Addr: `127.0.0.1:${upstream.address().port}` }];
  try {
    for (let round = 0; round < 10; round++) {
      const got = await Promise.all(
        Array.from({ length: 50 }, (_, i) => fwd.forward(query(i, `r${round}-${i}.example.`), up)),
      );
      assert.ok(got.every((a) => a?.at(-1) === 0xaa));
      assert.ok(fwd.socketCount <= DNS_SOCKETS_PER_FAMILY, `${fwd.socketCount} sockets`);
    }
    assert.equal(fwd.socketCount, DNS_SOCKETS_PER_FAMILY);
    assert.equal(fwd.inFlight, 0);
  } finally {
    fwd.close();
    upstream.close();
  }
});
