import assert from "node:assert/strict";
import { dialTs2021 } from "./dial.ts";
import { isPrivateHost, raceAttempts, ts2021Plan, type Ts2021Target } from "./dial_plan.ts";
import { ControlError } from "./errors.ts";
import { dialOutcome as outcome, silentListener } from "../net/_silent_listener.ts";
import { generateSelfSignedCert } from "../derp/selfsigned_cert.ts";

const key = () => crypto.getRandomValues(new Uint8Array(32));

for (const scheme of ["https", "http"]) {
  Deno.test(
    `dialTs2021() times out a server that accepts TCP but never answers ${
      scheme === "https" ? "TLS" : "the upgrade"
    }, and closes the socket`,
    async () => {
      const srv = silentListener();
      try {
        const got = await outcome(
          dialTs2021(`${scheme}://127.0.0.1:${srv.port}`, key(), key(), 130, { timeoutMs: 400 }),
          8000,
        );
        assert.ok(got instanceof ControlError, `dial result: ${got}`);
        assert.equal(got.kind, "unreachable");
        assert.match(got.message, /^control: timed out connecting to /);
      } finally {
        await srv.close();
      }
    },
  );
}

Deno.test("dialTs2021() reports an abort by the caller as aborted and closes the socket", async () => {
  const srv = silentListener();
  try {
    const ctl = new AbortController();
    const p = dialTs2021(`http://127.0.0.1:${srv.port}`, key(), key(), 130, { signal: ctl.signal });
    setTimeout(() => ctl.abort(), 100);
    const got = await outcome(p, 8000);
    assert.ok(got instanceof ControlError, `dial result: ${got}`);
    assert.equal(got.kind, "aborted");
  } finally {
    await srv.close();
  }
});

Deno.test("ts2021Plan() follows tailscaled: port 80 first, HTTPS 443 as the fallback", () => {
  const show = (u: string) => ts2021Plan(u).map((t) => `${t.tls ? "tls" : "tcp"}:${t.port}`);
  assert.deepEqual(show("https://ctl.example"), ["tcp:80", "tls:443"]);
  assert.deepEqual(show("https://ctl.example:8443"), ["tls:8443"]);
  assert.deepEqual(show("http://ctl.example:8080"), ["tcp:8080", "tls:443"]);
  assert.deepEqual(show("http://ctl.example"), ["tcp:80", "tls:443"]);
  assert.deepEqual(show("http://127.0.0.1:8080"), ["tcp:8080"]);
  assert.deepEqual(show("http://192.168.1.2"), ["tcp:80"]);
  const [http] = ts2021Plan("https://ctl.example");
  assert.equal(http.hostHeader, "ctl.example");
  assert.equal(http.origin, "http://ctl.example");
});

Deno.test("isPrivateHost() knows loopback, RFC 1918, ULA and localhost", () => {
  for (
    const h of ["localhost", "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.0.1", "::1", "fd7a::1"]
  ) {
    assert.equal(isPrivateHost(h), true, h);
  }
  for (const h of ["8.8.8.8", "172.32.0.1", "ctl.example", "2001:db8::1"]) {
    assert.equal(isPrivateHost(h), false, h);
  }
});

const T = (port: number): Ts2021Target => ({
  tls: false,
  hostname: "h",
  port,
  hostHeader: "h",
  origin: `http://h:${port}`,
});

Deno.test("raceAttempts() starts the fallback at once when the first attempt fails", async () => {
  const started: number[] = [];
  const v = await raceAttempts([T(80), T(443)], (t) => {
    started.push(t.port);
    return t.port === 80 ? Promise.reject(new Error("refused")) : Promise.resolve(t.port);
  }, { signal: new AbortController().signal, delayMs: 60_000, discard: () => {} });
  assert.equal(v, 443);
  assert.deepEqual(started, [80, 443]);
});

Deno.test("raceAttempts() aborts the loser and closes a loser that completes anyway", async () => {
  let finishSlow!: (v: string) => void;
  let slowSignal: AbortSignal | null = null;
  const discarded: string[] = [];
  const v = await raceAttempts([T(80), T(443)], (t, signal) => {
    if (t.port === 80) {
      slowSignal = signal;
      return new Promise<string>((r) => finishSlow = r);
    }
    return Promise.resolve("443 won");
  }, { signal: new AbortController().signal, delayMs: 0, discard: (x) => discarded.push(x) });
  assert.equal(v, "443 won");
  assert.equal(slowSignal!.aborted, true);
  finishSlow("80 late");
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(discarded, ["80 late"]);
});

Deno.test("raceAttempts() rejects with the preferred attempt's error when all fail", async () => {
  await assert.rejects(
    raceAttempts(
      [T(80), T(443)],
      (t) => Promise.reject(new Error(`failed ${t.port}`)),
      { signal: new AbortController().signal, delayMs: 0, discard: () => {}, preferred: 1 },
    ),
    /failed 443/,
  );
});

Deno.test("dialTs2021() verifies an https control server against caCerts and speaks HTTP to it", async () => {
  const cert = await generateSelfSignedCert("127.0.0.1");
  const ln = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: cert.certPem,
    key: cert.keyPem,
  });
  const port = (ln.addr as Deno.NetAddr).port;
  const serving = (async () => {
    for await (const c of ln) {
      (async () => {
        await c.read(new Uint8Array(4096)).catch(() => null);
        const body = "no upgrade here";
        await c.write(new TextEncoder().encode(
          `HTTP/1.1 404 Not Found\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        )).catch(() => 0);
        c.close();
      })();
    }
  })();
  try {
    const url = `https://127.0.0.1:${port}`;
    const trusted = await outcome(
      dialTs2021(url, key(), key(), 130, { caCerts: [cert.certPem] }),
      8000,
    );
    assert.ok(trusted instanceof ControlError, `dial result: ${trusted}`);
    assert.equal(trusted.kind, "http", trusted.message);
    assert.match(trusted.message, /refused the upgrade with HTTP 404: no upgrade here/);
    const untrusted = await outcome(dialTs2021(url, key(), key(), 130), 8000);
    assert.ok(untrusted instanceof ControlError, `dial result: ${untrusted}`);
    assert.equal(untrusted.kind, "unreachable", untrusted.message);
  } finally {
    ln.close();
    await serving.catch(() => {});
  }
});
