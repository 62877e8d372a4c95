// A Worker for blocking_poll_test.ts: blocks in BlockingPoller.wait on a UDP socket the test
// opened, and reports each wake-up and each readable datagram by postMessage.
import { BlockingPoller } from "../blocking_poll.ts";
import { EventFd } from "../eventfd.ts";
import { UdpSocket } from "../udp.ts";

interface Scope {
  postMessage(m: unknown): void;
  onmessage: ((e: MessageEvent) => void) | null;
}
const scope = globalThis as unknown as Scope;
scope.onmessage = async (e) => {
  const { udp, wakeFd, control } = e.data;
  const ctl = new Int32Array(control);
  const sock = UdpSocket.adopt(udp);
  const poller = new BlockingPoller(new EventFd(wakeFd), () => scope.postMessage("wake"));
  const buf = [new Uint8Array(64)], sizes = [0], addrs = [new Uint8Array(28)];
  while (Atomics.load(ctl, 0) === 0) {
    const [readable] = await poller.wait([sock.fd], 5000);
    if (readable && sock.recvBatch(buf, sizes, addrs) === 1) {
      scope.postMessage(`datagram ${new TextDecoder().decode(buf[0].subarray(0, sizes[0]))}`);
    }
  }
  scope.postMessage("done");
};
