/**
 * warren's TLS 1.3 server (src/tls/) against real clients: openssl s_client and curl with
 * each cipher suite and ECDSA, RSA and Ed25519 keys, a HelloRetryRequest, Deno.connectTls, a TLS 1.2 client's
 * refusal, and DERP traffic in records of every size.
 */
import assert from "node:assert/strict";
import { dialDerp } from "../src/derp/dial.ts";
import { generateSelfSignedCert } from "../src/derp/selfsigned_cert.ts";
import { recvType, startTestServer, type TestServer } from "../src/derp/testing.ts";
import { generateNodePrivate } from "../src/key/node_key.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const ecdsa = await generateSelfSignedCert("127.0.0.1");

function have(tool: string, arg: string): boolean {
  try {
    return new Deno.Command(tool, { args: [arg], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}
const tools = have("openssl", "version") && have("curl", "--version")
  ? null
  : "needs openssl and curl";

async function run(
  cmd: string,
  args: string[],
  stdin = "",
): Promise<{ ok: boolean; out: string; err: string }> {
  const p = new Deno.Command(cmd, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(15_000),
  }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const o = await p.output();
  const dec = new TextDecoder();
  return { ok: o.success, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

/** A certificate and key made by openssl for one key type. */
async function opensslCert(newkey: string): Promise<{ cert: string; key: string }> {
  const dir = await Deno.makeTempDir();
  try {
    const r = await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      newkey,
      "-nodes",
      "-subj",
      "/CN=127.0.0.1",
      "-days",
      "1",
      "-keyout",
      `${dir}/k.pem`,
      "-out",
      `${dir}/c.pem`,
    ]);
    assert.ok(r.ok, r.err);
    return {
      cert: await Deno.readTextFile(`${dir}/c.pem`),
      key: await Deno.readTextFile(`${dir}/k.pem`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const PROBE = "GET /derp/probe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

async function withServer(
  tls: { cert: string; key: string },
  f: (ts: TestServer) => Promise<void>,
) {
  const ts = startTestServer({ tls });
  try {
    await f(ts);
  } finally {
    await ts.close();
  }
}

testOrSkip(import.meta, tools, {
  name: "openssl s_client and curl speak TLS 1.3 to it with each suite and key type",
  async fn() {
    const keys = [
      { cert: ecdsa.certPem, key: ecdsa.keyPem },
      await opensslCert("rsa:2048"),
      await opensslCert("ed25519"),
    ];
    for (const tls of keys) {
      await withServer(tls, async (ts) => {
        for (const suite of ["TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"]) {
          const r = await run("openssl", [
            "s_client",
            "-connect",
            `127.0.0.1:${ts.port}`,
            "-tls1_3",
            "-ciphersuites",
            suite,
            "-quiet",
          ], PROBE);
          assert.match(r.out, /^HTTP\/1\.1 200 OK/, `${suite}: ${r.err}`);
        }
        // P-256 first: openssl sends only that share, and X25519 comes after a HelloRetryRequest.
        const hrr = await run("openssl", [
          "s_client",
          "-connect",
          `127.0.0.1:${ts.port}`,
          "-tls1_3",
          "-groups",
          "P-256:X25519",
          "-quiet",
        ], PROBE);
        assert.match(hrr.out, /^HTTP\/1\.1 200 OK/, `after a HelloRetryRequest: ${hrr.err}`);
        const c = await run("curl", [
          "-sk",
          "--tlsv1.3",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          `https://127.0.0.1:${ts.port}/generate_204`,
        ]);
        assert.equal(c.out, "204", c.err);
      });
    }
  },
});

testOrSkip(import.meta, tools, {
  name: "TLS 1.2 clients get a protocol_version alert",
  async fn() {
    await withServer({ cert: ecdsa.certPem, key: ecdsa.keyPem }, async (ts) => {
      const r = await run("openssl", [
        "s_client",
        "-connect",
        `127.0.0.1:${ts.port}`,
        "-tls1_2",
      ], "");
      assert.equal(r.ok, false);
      assert.match(r.err, /protocol version/);
      const c = await run("curl", ["-sk", "--tls-max", "1.2", `https://127.0.0.1:${ts.port}/`]);
      assert.equal(c.ok, false);
    });
  },
});

Deno.test("Deno.connectTls reads a response; DERP packets of every size cross", async () => {
  await withServer({ cert: ecdsa.certPem, key: ecdsa.keyPem }, async (ts) => {
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: ts.port,
      caCerts: [ecdsa.certPem],
    });
    await conn.write(new TextEncoder().encode(PROBE));
    const text = await new Response(conn.readable).text();
    assert.match(text, /^HTTP\/1\.1 200 OK/);

    const a = await dialDerp(ts.url, { privateKey: generateNodePrivate(), certName: ecdsa.pin });
    const b = await dialDerp(ts.url, { privateKey: generateNodePrivate(), certName: ecdsa.pin });
    try {
      await recvType(b, "serverInfo");
      const sizes = [1, 100, 1200, 16_000, 17_000, 40_000, 65_000];
      for (const n of sizes) {
        await a.send(b.publicKey, new Uint8Array(n).fill(n & 0xff));
      }
      for (const n of sizes) {
        const p = await recvType(b, "packet");
        assert.equal(p.data.length, n);
        assert.ok(p.data.every((x) => x === (n & 0xff)));
      }
    } finally {
      a.close();
      b.close();
    }
  });
});

testOrSkip(import.meta, tools, {
  name: "a KeyUpdate with update_requested from openssl is answered and traffic goes on",
  async fn() {
    await withServer({ cert: ecdsa.certPem, key: ecdsa.keyPem }, async (ts) => {
      // s_client's "K" command (at the start of a line, without -ign_eof) sends the KeyUpdate.
      const p = new Deno.Command("openssl", {
        args: ["s_client", "-connect", `127.0.0.1:${ts.port}`, "-tls1_3", "-msg"],
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
        signal: AbortSignal.timeout(15_000),
      }).spawn();
      const w = p.stdin.getWriter();
      const pause = () => new Promise((r) => setTimeout(r, 500));
      await pause();
      await w.write(new TextEncoder().encode("K\n"));
      await pause();
      await w.write(new TextEncoder().encode(PROBE));
      await pause();
      await w.close();
      const out = new TextDecoder().decode((await p.output()).stdout);
      assert.match(out, />>> TLS 1\.3, Handshake \[length 0005\], KeyUpdate/);
      assert.match(out, /<<< TLS 1\.3, Handshake \[length 0005\], KeyUpdate/);
      assert.match(out, /^HTTP\/1\.1 200 OK/m);
    });
  },
});

Deno.test("plain HTTP to the TLS port gets an alert and a close at once", async () => {
  await withServer({ cert: ecdsa.certPem, key: ecdsa.keyPem }, async (ts) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: ts.port });
    try {
      await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      const buf = new Uint8Array(64);
      const n = await conn.read(buf);
      assert.deepEqual([...buf.subarray(0, n ?? 0)], [21, 3, 3, 0, 2, 2, 50]); // decode_error
      assert.equal(await conn.read(buf), null);
    } finally {
      conn.close();
    }
  });
});
