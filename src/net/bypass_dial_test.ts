import assert from "node:assert/strict";
import { BYPASS_MARK, dialTcp, setBypassMark } from "./bypass_dial.ts";
import { connectNodeTls } from "../derp/node_tls_conn.ts";
import { generateSelfSignedCert } from "../derp/selfsigned_cert.ts";
import { FfiConn } from "../derp/ffi_conn.ts";
import { getIntOption } from "../../ffi/tcp.ts";
import { SO_MARK, SOL_SOCKET } from "../../ffi/libc.ts";
import { testOrSkip } from "../testing/skip.ts";

const skip = Deno.build.os !== "linux"
  ? "marked sockets need Linux"
  : Deno.uid() !== 0
  ? "SO_MARK needs CAP_NET_ADMIN (root)"
  : null;

/** One echo connection served by a listener on loopback. */
async function echoOnce(l: Deno.Listener): Promise<void> {
  const c = await l.accept();
  const buf = new Uint8Array(64);
  const n = await c.read(buf);
  if (n) await c.write(buf.subarray(0, n));
  c.close();
}

/** Sends `text` on `conn`, returns what comes back, and closes it. */
async function echoed(
  conn: {
    write(p: Uint8Array): Promise<number>;
    read(p: Uint8Array): Promise<number | null>;
    close(): void;
  },
  text: string,
): Promise<string> {
  await conn.write(new TextEncoder().encode(text));
  const buf = new Uint8Array(64);
  const n = await conn.read(buf);
  conn.close();
  return new TextDecoder().decode(buf.subarray(0, n ?? 0));
}

testOrSkip(import.meta, skip, {
  name: "dialTcp() with a bypass mark connects through a marked FFI socket",
  async fn() {
    using l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const served = echoOnce(l);
    setBypassMark(BYPASS_MARK);
    try {
      const conn = await dialTcp({ hostname: "localhost", port: l.addr.port });
      assert.ok(conn instanceof FfiConn);
      assert.equal(getIntOption(conn.fd, SOL_SOCKET, SO_MARK), BYPASS_MARK);
      assert.equal(await echoed(conn, "ping"), "ping");
      await served;
      await assert.rejects(
        dialTcp({ hostname: "127.0.0.1", port: l.addr.port + 1 === 65536 ? 1 : l.addr.port + 1 }),
        /ECONNREFUSED/,
      );
    } finally {
      setBypassMark(0);
    }
  },
});

testOrSkip(import.meta, skip, {
  name: "connectNodeTls() runs TLS over the marked socket when a bypass mark is set",
  async fn() {
    const cert = await generateSelfSignedCert("127.0.0.1");
    using l = Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...certKey(cert) });
    const served = echoOnce(l);
    setBypassMark(BYPASS_MARK);
    try {
      const conn = await connectNodeTls({
        hostname: "127.0.0.1",
        port: l.addr.port,
        pinSha256: cert.pin.slice("sha256-raw:".length),
      });
      assert.equal(await echoed(conn, "over tls"), "over tls");
      await served;
      const refused = l.accept().then((c) =>
        c.handshake().catch(() => {}).finally(() => c.close())
      );
      await assert.rejects(
        connectNodeTls({ hostname: "127.0.0.1", port: l.addr.port, pinSha256: "00".repeat(32) }),
        /does not match the pinned one/,
      );
      await refused;
    } finally {
      setBypassMark(0);
    }
  },
});

function certKey(c: { certPem: string; keyPem: string }): { cert: string; key: string } {
  return { cert: c.certPem, key: c.keyPem };
}
