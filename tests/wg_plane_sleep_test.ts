/**
 * A wg-config node's Worker plane sleeps while idle and wakes for the next packet from either
 * side with the same session: against wireguard-go, a ping from the node (the TUN wakes it) and
 * one from the peer (the socket does) both get through with no new handshake, and the status
 * (peer, counters) stays whole across the sleeps; datagrams no session or handshake of the
 * device's would take (a scanner's) leave it asleep. With persistent keepalives on both sides it
 * still sleeps: the node's thread sends its keepalives and takes the peer's.
 */
import assert from "node:assert/strict";
import { generatePrivateKey, publicKeyFrom } from "../src/crypto/x25519.ts";
import { formatWgKey } from "../src/key/wg_key.ts";
import { namespaceSupport, waitFor, withLinkedPair } from "../src/testbed/netns.ts";
import { WarrenNode } from "../src/testbed/warren_node.ts";
import { WireguardGo, wireguardGoSupport } from "../src/testbed/wireguard_go.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const skip = (await namespaceSupport()) ?? (await wireguardGoSupport());

interface Status {
  dataPlane: string;
  dataPlaneAsleep?: true;
  peers: { latestHandshake: number; rxBytes: number; txBytes: number; endpoint: string | null }[];
  drops: Record<string, number>;
}

testOrSkip(import.meta, skip, {
  name:
    "wg-config Worker plane: sleeps when idle, wakes from the TUN and the socket on the same session",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLinkedPair("ws", async ({ a, b, dir, defer }) => {
      const ka = generatePrivateKey(), kb = generatePrivateKey();
      const wg = await WireguardGo.start(b, {
        name: `wgs${b.name.slice(-6)}`,
        privateKey: formatWgKey(kb),
        listenPort: 51820,
        addresses: ["10.243.0.2/24"],
        // No endpoint: wireguard-go learns the node's from its first packet.
        peers: [{ publicKey: formatWgKey(publicKeyFrom(ka)), allowedIps: ["10.243.0.1/32"] }],
      }, dir);
      defer(() => wg.stop());
      const node = await WarrenNode.start(
        a,
        "ws-sleep",
        `[Interface]\nPrivateKey = ${formatWgKey(ka)}\nAddress = 10.243.0.1/24\n` +
          `ListenPort = 51820\n\n[Peer]\nPublicKey = ${formatWgKey(publicKeyFrom(kb))}\n` +
          `AllowedIPs = 10.243.0.2/32\nEndpoint = 10.241.0.2:51820\n`,
        dir,
        [],
        { WARREN_DATAPLANE: "worker", WARREN_PLANE_QUIET_MS: "1500" },
      );
      defer(() => node.stop("SIGKILL"));
      const status = async () =>
        JSON.parse((await node.cli(["status", "--json"])).stdout) as Status;
      const asleep = () =>
        waitFor("the plane asleep", async () => (await status()).dataPlaneAsleep === true, 40_000);

      await a.exec(["ping", "-c", "3", "-i", "0.2", "-W", "3", "10.243.0.2"]);
      const first = await status();
      assert.equal(first.dataPlane, "worker");
      const handshake = first.peers[0].latestHandshake;
      assert.ok(handshake > 0, "a handshake was made");

      await asleep();
      const slept = await status();
      assert.equal(slept.peers.length, 1, "the peer is still listed while the plane sleeps");
      assert.equal(slept.peers[0].rxBytes, (await status()).peers[0].rxBytes);
      assert.ok(slept.peers[0].rxBytes >= first.peers[0].rxBytes);
      assert.equal(slept.peers[0].endpoint, "10.241.0.2:51820");

      // The TUN side wakes it: the node's own ping.
      await a.exec(["ping", "-c", "1", "-W", "5", "10.243.0.2"]);
      const woke = await status();
      assert.equal(woke.dataPlaneAsleep, undefined, "awake again");
      assert.equal(woke.peers[0].latestHandshake, handshake, "the same session went on");
      assert.ok(woke.peers[0].rxBytes > slept.peers[0].rxBytes, "counters carried and grew");

      // A scanner's datagrams do not wake it: a transport message to no kept session and an
      // initiation without a right mac1 are dropped as the device would drop them.
      await asleep();
      const before = (await status()).drops;
      const junk = (bytes: number[]) =>
        b.exec([
          "sh",
          "-c",
          `printf '${bytes.map((x) => "\\" + x.toString(8).padStart(3, "0")).join("")}' | ` +
          "nc -u -w 1 10.241.0.1 51820",
        ], { check: false });
      await junk([4, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, ...new Array(40).fill(7)]);
      await junk([1, 0, 0, 0, ...new Array(144).fill(9)]);
      await waitFor("the junk counted", async () => {
        const d = (await status()).drops;
        return d.unauthenticated > before.unauthenticated && d.handshake > before.handshake;
      }, 10_000);
      assert.equal((await status()).dataPlaneAsleep, true, "still asleep");

      // The socket side wakes it: the peer's ping.
      await b.exec(["ping", "-c", "1", "-W", "5", "10.243.0.1"]);
      const again = await status();
      assert.equal(again.dataPlaneAsleep, undefined);
      assert.equal(again.peers[0].latestHandshake, handshake, "still no handshake");
      assert.ok(again.peers[0].rxBytes > woke.peers[0].rxBytes);
      // Every packet that woke it was held for the next Worker: none past the held queue.
      assert.equal(again.drops.heldOverflow, 0);

      const { code, log } = await node.stop();
      assert.equal(code, 0, log);
      assert.match(log, /data plane asleep: no traffic \(1 session kept\)/);
      assert.match(log, /data plane awake in \d+ ms/);
    });
  },
});

testOrSkip(import.meta, skip, {
  name:
    "wg-config Worker plane with PersistentKeepalive: sleeps anyway, its keepalives go on both ways on the kept session",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLinkedPair("wk", async ({ a, b, dir, defer }) => {
      const ka = generatePrivateKey(), kb = generatePrivateKey();
      const name = `wgk${b.name.slice(-6)}`;
      const wg = await WireguardGo.start(b, {
        name,
        privateKey: formatWgKey(kb),
        listenPort: 51820,
        addresses: ["10.244.0.2/24"],
        // Its own keepalives come later: any authenticated packet puts a persistent keepalive
        // off, so with both on, only the side whose timer fires first ever sends.
        peers: [{ publicKey: formatWgKey(publicKeyFrom(ka)), allowedIps: ["10.244.0.1/32"] }],
      }, dir);
      defer(() => wg.stop());
      const node = await WarrenNode.start(
        a,
        "wk-sleep",
        `[Interface]\nPrivateKey = ${formatWgKey(ka)}\nAddress = 10.244.0.1/24\n` +
          `ListenPort = 51820\n\n[Peer]\nPublicKey = ${formatWgKey(publicKeyFrom(kb))}\n` +
          `AllowedIPs = 10.244.0.2/32\nEndpoint = 10.241.0.2:51820\nPersistentKeepalive = 1\n`,
        dir,
        [],
        { WARREN_DATAPLANE: "worker", WARREN_PLANE_QUIET_MS: "1500" },
      );
      defer(() => node.stop("SIGKILL"));
      const status = async () =>
        JSON.parse((await node.cli(["status", "--json"])).stdout) as Status;
      /** wireguard-go's byte counts for the node (`wg show transfer`). */
      const peerTransfer = async () => {
        const out = (await b.exec(["wg", "show", name, "transfer"])).stdout.trim().split(/\s+/);
        return { rx: Number(out[1]), tx: Number(out[2]) };
      };

      await a.exec(["ping", "-c", "3", "-i", "0.2", "-W", "3", "10.244.0.2"]);
      const handshake = (await status()).peers[0].latestHandshake;
      assert.ok(handshake > 0, "a handshake was made");
      await waitFor(
        "the plane asleep",
        async () => (await status()).dataPlaneAsleep === true,
        40_000,
      );
      const slept = await status(), peerSlept = await peerTransfer();
      await new Promise((r) => setTimeout(r, 3_500));
      const later = await status(), peerLater = await peerTransfer();
      assert.equal(later.dataPlaneAsleep, true, "keepalives did not wake it");
      assert.ok(
        peerLater.rx >= peerSlept.rx + 2 * 32,
        `wireguard-go took the sleeping node's keepalives (${peerSlept.rx} -> ${peerLater.rx})`,
      );
      assert.ok(
        later.peers[0].txBytes >= slept.peers[0].txBytes + 2 * 32,
        "and the node counts them",
      );
      assert.equal(later.peers[0].latestHandshake, handshake, "on the kept session");

      // wireguard-go's keepalives (setting one sends one at once) are taken asleep too.
      const pub = formatWgKey(publicKeyFrom(ka));
      await b.exec(["wg", "set", name, "peer", pub, "persistent-keepalive", "1"]);
      await new Promise((r) => setTimeout(r, 2_500));
      const taken = await status();
      assert.equal(taken.dataPlaneAsleep, true, "the peer's keepalives did not wake it");
      assert.ok(
        taken.peers[0].rxBytes >= later.peers[0].rxBytes + 32,
        `wireguard-go's keepalives counted (${later.peers[0].rxBytes} -> ${
          taken.peers[0].rxBytes
        })`,
      );

      // The next Worker goes on past the keepalives' counters: its packets are not replays.
      await a.exec(["ping", "-c", "2", "-i", "0.2", "-W", "5", "10.244.0.2"]);
      const woke = await status();
      assert.equal(woke.dataPlaneAsleep, undefined, "awake again");
      assert.equal(woke.peers[0].latestHandshake, handshake, "still no new handshake");
      assert.equal(woke.drops.replay, 0);

      const { code, log } = await node.stop();
      assert.equal(code, 0, log);
      assert.match(log, /data plane asleep: no traffic \(1 session kept\)/);
    });
  },
});
