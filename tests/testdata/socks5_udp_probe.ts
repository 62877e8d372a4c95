/**
 * Test helper: SOCKS5 UDP ASSOCIATE through the proxy on 127.0.0.1:`PORT`,
 * one datagram to `HOST:DPORT` (HOST may be a name: the proxy resolves it),
 * and prints the payload of the answer that comes back through the relay.
 *
 * Usage: socks5_udp_probe.ts PORT HOST DPORT MESSAGE
 *
 * @module
 */
import { decodeUdpDatagram, encodeUdpDatagram } from "../../src/proxy/socks5_codec.ts";
import { bindHostUdp } from "../../src/proxy/udp_socket.ts";

const [proxyPort, host, port, message] = Deno.args;
const tcp = await Deno.connect({ hostname: "127.0.0.1", port: Number(proxyPort) });
const readN = async (n: number) => {
  const out = new Uint8Array(n);
  for (let o = 0; o < n;) {
    const got = await tcp.read(out.subarray(o));
    if (got === null) throw new Error("the proxy closed the control connection");
    o += got;
  }
  return out;
};
const client = await bindHostUdp("127.0.0.1");
await tcp.write(new Uint8Array([5, 1, 0]));
await readN(2);
const my = client.addr.port;
await tcp.write(new Uint8Array([5, 3, 0, 1, 0, 0, 0, 0, my >> 8, my & 255]));
const reply = await readN(10);
if (reply[1] !== 0) throw new Error(`UDP ASSOCIATE refused: reply ${reply[1]}`);
const relay = (reply[8] << 8) | reply[9];
const payload = new TextEncoder().encode(message);
const timer = setTimeout(() => {
  console.error("no answer in 10 s");
  Deno.exit(1);
}, 10_000);
await client.send(encodeUdpDatagram(host, Number(port), payload), "127.0.0.1", relay);
const got = await client.receive();
clearTimeout(timer);
const d = decodeUdpDatagram(got!.data);
console.log(`${d.addr.hostname}:${d.addr.port} ${new TextDecoder().decode(d.data)}`);
client.close();
tcp.close();
