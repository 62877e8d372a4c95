import assert from "node:assert/strict";
import { dialDerp } from "./dial.ts";
import { recvType, startTestServer } from "./testing.ts";
import { generateNodePrivate } from "../key/node_key.ts";
import { dialOutcome as outcome, silentListener } from "../net/_silent_listener.ts";
import { generateSelfSignedCert } from "./selfsigned_cert.ts";

for (const insecure of [false, true]) {
  Deno.test(
    `dialDerp() times out a server that accepts TCP but never answers TLS (${
      insecure ? "insecure" : "CA-verified"
    } mode) and closes the socket`,
    async () => {
      const srv = silentListener();
      try {
        const got = await outcome(
          dialDerp(`https://127.0.0.1:${srv.port}/derp`, {
            privateKey: generateNodePrivate(),
            insecureForTests: insecure,
            connectTimeoutMs: 400,
            nodeConnectTimeoutMs: 400,
          }),
          8000,
        );
        assert.ok(got instanceof Error, `dial result: ${got}`);
        assert.match(got.message, /derp dial https:\/\/127\.0\.0\.1:\d+\/derp: timed out/);
      } finally {
        await srv.close();
      }
    },
  );
}

Deno.test("dialDerp() times out a server that completes TCP but never answers the HTTP upgrade", async () => {
  const srv = silentListener();
  try {
    const got = await outcome(
      dialDerp(`http://127.0.0.1:${srv.port}/derp`, {
        privateKey: generateNodePrivate(),
        connectTimeoutMs: 400,
      }),
      8000,
    );
    assert.ok(got instanceof Error, `dial result: ${got}`);
    assert.match(got.message, /timed out after 400 ms/);
  } finally {
    await srv.close();
  }
});

Deno.test("dialDerp() tries the region's other addresses in order when the first is dead", async () => {
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (dead.addr as Deno.NetAddr).port;
  dead.close(); // nothing listens there now: connection refused
  const srv = startTestServer();
  try {
    const c = await dialDerp(`http://127.0.0.1:${deadPort}/derp`, {
      privateKey: generateNodePrivate(),
      alternates: [
        { url: `http://127.0.0.1:${deadPort}/derp`, dialHost: "::1" },
        { url: srv.url, idealNode: "1a" },
      ],
    });
    await recvType(c, "serverInfo");
    c.close();
  } finally {
    await srv.close();
  }
});

Deno.test("dialDerp() reports the first address's error when every address fails", async () => {
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (dead.addr as Deno.NetAddr).port;
  dead.close();
  await assert.rejects(
    dialDerp(`http://127.0.0.1:${deadPort}/derp`, {
      privateKey: generateNodePrivate(),
      alternates: [{ url: `http://127.0.0.1:${deadPort}/derp`, dialHost: "::1" }],
    }),
    (e: Error) =>
      e.message.startsWith(`derp dial http://127.0.0.1:${deadPort}/derp: `) &&
      e.message.endsWith("(and 1 other address)"),
  );
});

Deno.test("dialDerp() checks a CA-verified certificate against CertName", async () => {
  const cert = await generateSelfSignedCert("127.0.0.1");
  const srv = startTestServer({ tls: { cert: cert.certPem, key: cert.keyPem } });
  try {
    const ok = await dialDerp(srv.url, {
      privateKey: generateNodePrivate(),
      caCerts: [cert.certPem],
    });
    ok.close();
    await assert.rejects(
      dialDerp(srv.url, {
        privateKey: generateNodePrivate(),
        caCerts: [cert.certPem],
        certName: "derp.other.example",
      }),
      /derp dial https:\/\/127\.0\.0\.1:\d+\/derp: /,
    );
  } finally {
    await srv.close();
  }
});
