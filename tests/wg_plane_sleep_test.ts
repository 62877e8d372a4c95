/**
 * A wg-config node's Worker plane sleeps while idle and wakes for the next packet from either
 * side with the same session: against wireguard-go, a ping from the node (the TUN wakes it) and
 * one from the peer (the socket does) both get through with no new handshake, and the status
 * (peer, counters) stays whole across the sleeps; datagrams no session or handshake of the
 * device's would take (a scanner's) leave it asleep.
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
