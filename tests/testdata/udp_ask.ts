/**
 * Test helper: sends one UDP datagram `MESSAGE` to `HOST:PORT` and prints
 * the payload of the first answer from there; exits 1 if none comes in 5 s.
 *
 * Usage: udp_ask.ts HOST PORT MESSAGE
 *
 * @module
 */
import { bindHostUdp } from "../../src/proxy/udp_socket.ts";

const [host, port, message] = Deno.args;
const sock = await bindHostUdp(host.includes(":") ? "::" : "0.0.0.0");
const timer = setTimeout(() => {
  console.error(`no answer from ${host}:${port}`);
  Deno.exit(1);
}, 5000);
await sock.send(new TextEncoder().encode(message), host, Number(port));
for (let d = await sock.receive(); d !== null; d = await sock.receive()) {
  if (d.port !== Number(port)) continue;
  console.log(new TextDecoder().decode(d.data));
  break;
}
clearTimeout(timer);
sock.close();
