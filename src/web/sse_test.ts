import assert from "node:assert/strict";
import { SlowClientError, sseFrame, SseHub } from "./sse.ts";

const dec = new TextDecoder();

async function readText(r: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const { value, done } = await r.read();
  assert.equal(done, false);
  return dec.decode(value);
}

Deno.test("sseFrame() puts each line of the data on its own data: line", () => {
  assert.equal(sseFrame('{"a":1}'), 'data: {"a":1}\n\n');
  assert.equal(sseFrame("a\nb", "unavailable"), "event: unavailable\ndata: a\ndata: b\n\n");
});

Deno.test("SseHub sends a changed status to every client and a repeated one to none", async () => {
  const hub = new SseHub({ maxClients: 4, queueLimit: 8 });
  const a = hub.open()!.getReader();
  assert.equal(await readText(a), "retry: 2000\n\n");
  assert.equal(hub.publish('{"n":1}'), true);
  assert.equal(await readText(a), 'data: {"n":1}\n\n');
  // A new client starts from the latest status.
  const b = hub.open()!.getReader();
  assert.equal(await readText(b), 'retry: 2000\n\ndata: {"n":1}\n\n');
  assert.equal(hub.publish('{"n":1}'), false);
  assert.equal(hub.publish('{"n":2}'), true);
  assert.equal(await readText(a), 'data: {"n":2}\n\n');
  assert.equal(await readText(b), 'data: {"n":2}\n\n');
  hub.keepAlive();
  assert.equal(await readText(a), ": keep-alive\n\n");
  await a.cancel();
  await b.cancel();
  assert.equal(hub.size, 0);
});

Deno.test("SseHub drops a client that stops reading once its queue is full, and only that one", async () => {
  const hub = new SseHub({ maxClients: 4, queueLimit: 4 });
  const slow = hub.open()!.getReader();
  const fast = hub.open()!.getReader();
  await readText(fast);
  for (let i = 0; i < 10; i++) {
    hub.publish(`{"n":${i}}`);
    assert.equal(await readText(fast), `data: {"n":${i}}\n\n`);
  }
  assert.equal(hub.size, 1);
  assert.equal(hub.dropped, 1);
  // The slow client's stream errors (the connection is reset), its backlog discarded.
  await assert.rejects(slow.read(), SlowClientError);
  await fast.cancel();
});

Deno.test("SseHub refuses clients beyond maxClients until one leaves", async () => {
  const hub = new SseHub({ maxClients: 2, queueLimit: 4 });
  const a = hub.open()!;
  const b = hub.open()!;
  assert.equal(hub.open(), null);
  await a.cancel();
  const c = hub.open();
  assert.notEqual(c, null);
  await b.cancel();
  await c!.cancel();
});

Deno.test("SseHub.close() ends every stream without waiting for them to drain", async () => {
  const hub = new SseHub({ maxClients: 2, queueLimit: 4 });
  const a = hub.open()!.getReader();
  hub.publish("{}");
  hub.close();
  assert.equal(hub.size, 0);
  await assert.rejects(a.read(), /shutting down/);
});
