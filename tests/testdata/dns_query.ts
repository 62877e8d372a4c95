/**
 * Asks a DNS server one question over UDP and prints the answers, one per
 * line ("A 100.64.0.2"), or "RCODE n" when there are none — a tiny `dig` for
 * tests, built on warren's own DNS codec.
 *
 *   deno run -A dns_query.ts SERVER NAME [A|AAAA]
 *
 * @module
 */
import dgram from "node:dgram";
import { TYPE_A, TYPE_AAAA } from "../../src/dns/constants.ts";
import { buildDnsMessage, emptyMessage, parseDnsMessage } from "../../src/dns/message.ts";
import { formatIp } from "../../src/net/ip.ts";

const [server, name, typeText = "A"] = Deno.args;
const type = typeText === "AAAA" ? TYPE_AAAA : TYPE_A;
const query = { ...emptyMessage(), id: 0x4242, recursionDesired: true };
query.questions = [{ name: name.endsWith(".") ? name : `${name}.`, type, class: 1 }];
const sock = dgram.createSocket(server.includes(":") ? "udp6" : "udp4");
const timer = setTimeout(() => {
  console.log("TIMEOUT");
  sock.close();
  Deno.exit(1);
}, 3000);
sock.on("message", (msg: Uint8Array) => {
  clearTimeout(timer);
  const m = parseDnsMessage(new Uint8Array(msg));
  const lines = m.answers.filter((a) => a.type === TYPE_A || a.type === TYPE_AAAA).map((a) =>
    `${a.type === TYPE_A ? "A" : "AAAA"} ${formatIp(a.data as Uint8Array)}`
  );
  console.log(lines.length > 0 ? lines.join("\n") : `RCODE ${m.rcode}`);
  sock.close();
});
sock.send(buildDnsMessage(query), 53, server);
