/**
 * Test helper: a UDP echo server on `HOST:PORT` answering each datagram
 * with "echo:" and its payload. Prints "listening" once bound.
 *
 * @module
 */
import dgram from "node:dgram";

const arg = Deno.args[0];
const i = arg.lastIndexOf(":");
const host = arg.slice(0, i).replace(/^\[|\]$/g, "");
const sock = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
sock.on("message", (msg, from) => {
  sock.send(Buffer.concat([Buffer.from("echo:"), msg]), from.port, from.address);
});
sock.bind(Number(arg.slice(i + 1)), host, () => console.log("listening"));
