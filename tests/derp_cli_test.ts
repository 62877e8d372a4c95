import assert from "node:assert/strict";
import { dialDerp } from "../src/derp/dial.ts";
import { recvType } from "../src/derp/testing.ts";
import { stunQuery } from "../src/stun/client.ts";
import { toHex } from "../src/bytes/hex.ts";
import { generateNodePrivate } from "../src/key/node_key.ts";
import { connectNodeTls } from "../src/derp/node_tls_conn.ts";
import { parseMetaCert } from "../src/derp/meta_cert.ts";

const cliUrl = new URL("../src/cli/derp.ts", import.meta.url).href;

function cli(args: string[]): Deno.Command {
  const code = `import { derpCommand } from ${JSON.stringify(cliUrl)};
Deno.exit(await derpCommand(${JSON.stringify(args)}));`;
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  });
}

Deno.test("bad flags print one line and exit 2; --help exits 0", async () => {
  for (
    const args of [
      ["--bogus"],
      ["--port", "x"],
      ["--port", "70000"],
      ["--cert", "a"],
      ["--mesh-with", "h"],
      ["extra"],
      ["--tcp-user-timeout", "10x"],
      ["--tcp-keepalive-time", "-1s"],
      ["--accept-connection-limit", "0"],
      ["--accept-connection-burst", "3"],
      ["--bootstrap-dns-names", "a.example,b/c"],
    ]
  ) {
    const o = await cli(args).output();
    assert.equal(o.code, 2, args.join(" "));
    const err = new TextDecoder().decode(o.stderr).trim();
    assert.equal(err.split("\n").length, 1, err);
    assert.match(err, /^warren tun derp: /);
  }
  const h = await cli(["--help"]).output();
  assert.equal(h.code, 0);
  assert.match(new TextDecoder().decode(h.stdout), /--mesh-with/);
});

/** Reads stdout lines until pred matches all needed ones. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  done: (text: string) => boolean,
): Promise<string> {
  let text = "";
  const dec = new TextDecoder();
  while (!done(text)) {
    const r = await reader.read();
    if (r.done) break;
    text += dec.decode(r.value);
  }
  return text;
}

Deno.test("warren tun derp --hostname serves TLS with a printed pin, STUN, and says Restarting on SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  const keyFile = `${dir}/derp.key`;
  const args = [
    "--hostname",
    "127.0.0.1",
    "--port",
    "0",
    "--stun-port",
    "0",
    "--key-file",
    keyFile,
    "--address",
    "127.0.0.1",
  ];
  const p = cli(args).spawn();
  const reader = p.stdout.getReader();
  try {
    const out = await readUntil(reader, (t) => /\n\{.*"RegionID".*\}\n/.test(t));
    const port = Number(out.match(/serving https:\/\/127\.0\.0\.1:(\d+)\/derp/)![1]);
    const pin = out.match(/certificate pin (sha256-raw:[0-9a-f]{64})/)![1];
    const stunPort = Number(out.match(/STUN on udp port (\d+)/)![1]);
    const serverKey = out.match(/server key (nodekey:[0-9a-f]{64})/)![1];
    const regionLine = out.split("\n").find((l) => l.startsWith("{"))!;
    const region = JSON.parse(regionLine)["900"];
    assert.equal(region.Nodes[0].CertName, pin);
    assert.equal(region.Nodes[0].DERPPort, port);
    assert.equal(region.Nodes[0].STUNPort, stunPort);
    assert.equal(region.Nodes[0].IPv4, "127.0.0.1");
    assert.equal((await Deno.stat(keyFile)).mode! & 0o777, 0o600);

    const c = await dialDerp(`https://127.0.0.1:${port}/derp`, {
      privateKey: generateNodePrivate(),
      certName: pin,
    });
    assert.equal((await recvType(c, "serverInfo")).type, "serverInfo");
    // The chain carries derper's meta certificate for this server key.
    const probe = await connectNodeTls({ hostname: "127.0.0.1", port, insecure: true });
    probe.close();
    const meta = parseMetaCert(probe.peerChain);
    assert.equal(meta && `nodekey:${toHex(meta.serverPublic)}`, serverKey);
    assert.equal(meta?.version, 2);
    const s = await stunQuery("127.0.0.1", stunPort, 2000);
    assert.equal(s.ip, "127.0.0.1");

    p.kill("SIGTERM");
    const r = await recvType(c, "restarting");
    assert.ok(r.tryForMs > 0);
    c.close();
    const status = await p.status;
    assert.equal(status.code, 0);

    // The key file keeps the server identity across runs.
    const p2 = cli(args).spawn();
    const r2 = p2.stdout.getReader();
    const out2 = await readUntil(r2, (t) => /server key nodekey:[0-9a-f]{64}\n/.test(t));
    assert.equal(out2.match(/server key (nodekey:[0-9a-f]{64})/)![1], serverKey);
    p2.kill("SIGINT");
    assert.equal((await p2.status).code, 0);
    r2.releaseLock();
    await p2.stdout.cancel();
    await p2.stderr.cancel();
  } finally {
    reader.releaseLock();
    await p.stdout.cancel().catch(() => {});
    await p.stderr.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
