import assert from "node:assert/strict";
import { ConfigError, type ConfigProblem, formatProblem, parseWgQuick } from "./wg_quick.ts";
import { formatPrefix } from "../net/ip.ts";
import { formatWgKey } from "../key/wg_key.ts";

// Keys from the wg(8) man page example.
const PRIV = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const PUB1 = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
const PUB2 = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
const PUB3 = "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=";
const PSK = "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE=";

/** Parses and returns the problems, failing if the config was accepted. */
function problemsOf(text: string): ConfigProblem[] {
  try {
    parseWgQuick(text, "wg0.conf");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.message, e.problems.map(formatProblem).join("\n"));
    return e.problems;
  }
  assert.fail("config was accepted");
}

/** The config must fail with exactly one problem, on `line`, matching `why`. */
function rejects(text: string, line: number, why: RegExp): void {
  const problems = problemsOf(text);
  assert.equal(problems.length, 1, JSON.stringify(problems));
  assert.equal(problems[0].file, "wg0.conf");
  assert.equal(problems[0].line, line, problems[0].message);
  assert.match(problems[0].message, why);
}

const iface = (extra = "") => `[Interface]\nPrivateKey = ${PRIV}\n${extra}`;

Deno.test("parseWgQuick() reads a full wg-quick config", () => {
  const conf = parseWgQuick(
    `# office tunnel
[Interface]
PrivateKey = ${PRIV}   # inline comment
Address = 10.192.122.1/24, fd00:1::1/64
address = 10.192.123.1
ListenPort = 51820
MTU = 1420
DNS = 10.192.122.53, example.internal
PostUp = iptables -A FORWARD -i %i -j ACCEPT; echo up # comment
SaveConfig = true

[Peer]
PublicKey = ${PUB1}
Endpoint = 192.95.5.67:1234
AllowedIPs = 10.192.122.3/32, 10.192.124.1/24
AllowedIPs = fd00:2::/48

[peer]
PUBLICKEY=${PUB2}
PresharedKey = ${PSK}
Endpoint = [2607:5300:60:6b0::c05f:543]:2468
AllowedIPs = 10.192.122.4/32,192.168.0.0/16
PersistentKeepalive = 25

[Peer]
PublicKey = ${PUB3}
Endpoint = test.wireguard.com:18981
AllowedIPs =
PersistentKeepalive = off
`,
    "office.conf",
  );
  assert.equal(formatWgKey(conf.privateKey), PRIV);
  assert.deepEqual(conf.addresses.map(formatPrefix), [
    "10.192.122.1/24",
    "fd00:1::1/64",
    "10.192.123.1/32",
  ]);
  assert.equal(conf.listenPort, 51820);
  assert.equal(conf.mtu, 1420);
  assert.deepEqual(conf.dns, { servers: ["10.192.122.53"], search: ["example.internal"] });
  assert.deepEqual(conf.unsupported, [
    { file: "office.conf", line: 9, message: "PostUp is not supported by warren (ignored)" },
    { file: "office.conf", line: 10, message: "SaveConfig is not supported by warren (ignored)" },
  ]);
  assert.equal(conf.peers.length, 3);
  const [a, b, c] = conf.peers;
  assert.equal(formatWgKey(a.publicKey), PUB1);
  assert.equal(a.presharedKey, null);
  assert.equal(a.endpoint, "192.95.5.67:1234");
  assert.deepEqual(a.allowedIps.map(formatPrefix), [
    "10.192.122.3/32",
    "10.192.124.0/24", // host bits zeroed, as the kernel does
    "fd00:2::/48",
  ]);
  assert.equal(a.persistentKeepalive, 0);
  assert.equal(a.line, 12);
  assert.equal(formatWgKey(b.publicKey), PUB2);
  assert.equal(formatWgKey(b.presharedKey!), PSK);
  assert.equal(b.endpoint, "[2607:5300:60:6b0::c05f:543]:2468");
  assert.deepEqual(b.allowedIps.map(formatPrefix), ["10.192.122.4/32", "192.168.0.0/16"]);
  assert.equal(b.persistentKeepalive, 25);
  assert.equal(c.endpoint, "test.wireguard.com:18981");
  assert.deepEqual(c.allowedIps, []);
  assert.equal(c.persistentKeepalive, 0);
});

Deno.test("parseWgQuick() accepts the minimal config and CRLF line ends", () => {
  const conf = parseWgQuick(`\uFEFF[Interface]\r\nPrivateKey=${PRIV}\r\n`, "min.conf");
  assert.equal(formatWgKey(conf.privateKey), PRIV);
  assert.deepEqual(conf.addresses, []);
  assert.equal(conf.listenPort, null);
  assert.equal(conf.mtu, null);
  assert.equal(conf.table, "auto");
  assert.equal(conf.fwmark, 0);
  assert.deepEqual(conf.peers, []);
  assert.deepEqual(conf.unsupported, []);
  assert.deepEqual(conf.dns, { servers: [], search: [] });
});

Deno.test("parseWgQuick() reads DNS lines: addresses are servers, names search domains", () => {
  const conf = parseWgQuick(
    iface("DNS = 1.1.1.1, 2606:4700:4700::1111\nDNS = corp.example., lab.example"),
    "f",
  );
  assert.deepEqual(conf.dns, {
    servers: ["1.1.1.1", "2606:4700:4700::1111"],
    search: ["corp.example", "lab.example"],
  });
  for (const bad of ["DNS = 1.1.1.1,,8.8.8.8", "DNS = not a name", "DNS = bad_-.example/x"]) {
    assert.throws(() => parseWgQuick(iface(bad), "f"), ConfigError, bad);
  }
});

Deno.test("parseWgQuick() reports every unsupported interface key", () => {
  const keys = ["PreUp", "PostUp", "PreDown", "PostDown", "SaveConfig"];
  const conf = parseWgQuick(iface(keys.map((k) => `${k.toLowerCase()} = x`).join("\n")), "f");
  assert.deepEqual(
    conf.unsupported.map((p) => [p.line, p.message]),
    keys.map((k, i) => [i + 3, `${k} is not supported by warren (ignored)`]),
  );
});

Deno.test("parseWgQuick() reads Table as auto, off, main or a table number", () => {
  const table = (v: string) => parseWgQuick(iface(`Table = ${v}`), "f").table;
  assert.equal(table("auto"), "auto");
  assert.equal(table(""), "auto");
  assert.equal(table("off"), "off");
  assert.equal(table("Off"), "off");
  assert.equal(table("main"), 254);
  assert.equal(table("1234"), 1234);
  assert.equal(table("4294967295"), 4294967295);
  assert.deepEqual(parseWgQuick(iface("Table = off\nFwMark = 1"), "f").unsupported, []);
});

Deno.test("parseWgQuick() reads FwMark in decimal or hex, off and 0 meaning none", () => {
  const mark = (v: string) => parseWgQuick(iface(`FwMark = ${v}`), "f").fwmark;
  assert.equal(mark("51820"), 51820);
  assert.equal(mark("0xca6c"), 51820);
  assert.equal(mark("0XFFFFFFFF"), 4294967295);
  assert.equal(mark("off"), 0);
  assert.equal(mark("0"), 0);
});

Deno.test("parseWgQuick() rejects bad and repeated Table and FwMark values", () => {
  rejects(
    iface("Table = vpn"),
    3,
    /^Cannot parse Table "vpn": want "auto", "off", "main" or a table number 1-4294967295$/,
  );
  rejects(iface("Table = 0"), 3, /^Cannot parse Table "0": out of range 1-4294967295$/);
  rejects(iface("Table = 4294967296"), 3, /out of range 1-4294967295/);
  rejects(iface("Table = -1"), 3, /want "auto"/);
  rejects(iface("Table = 10\nTable = 11"), 4, /Duplicate Table \(first set on line 3\)/);
  rejects(
    iface("FwMark = mark"),
    3,
    /^Cannot parse FwMark "mark": want "off", a number 0-4294967295 or 0x and hex digits$/,
  );
  rejects(iface("FwMark = 0x1ffffffff"), 3, /^Cannot parse FwMark "0x1ffffffff": out of range/);
  rejects(iface("FwMark = 4294967296"), 3, /out of range 0-4294967295/);
  rejects(iface("FwMark = 0x"), 3, /want "off"/);
  rejects(iface("FwMark = 1\nfwmark = 2"), 4, /Duplicate FwMark/);
  rejects(
    iface(`[Peer]\nPublicKey = ${PUB1}\nTable = off`),
    5,
    /Table belongs in the \[Interface\] section/,
  );
});

Deno.test("parseWgQuick() rejects an unknown key, naming where it belongs", () => {
  rejects(iface("Foo = bar"), 3, /^Unknown key "Foo" in \[Interface\] section$/);
  rejects(
    iface(`[Peer]\nPublicKey = ${PUB1}\nKeepalive = 25`),
    5,
    /Unknown key "Keepalive" in \[Peer\]/,
  );
  rejects(iface(`Endpoint = 1.2.3.4:5`), 3, /Endpoint belongs in a \[Peer\] section/);
  rejects(
    iface(`[Peer]\nPublicKey = ${PUB1}\nListenPort = 5`),
    5,
    /ListenPort belongs in the \[Interface\]/,
  );
  rejects(
    iface(`[Peer]\nPublicKey = ${PUB1}\nDNS = 1.1.1.1`),
    5,
    /DNS belongs in the \[Interface\]/,
  );
});

Deno.test("parseWgQuick() rejects keys outside a section and unknown sections", () => {
  rejects(`PrivateKey = ${PRIV}\n[Interface]\nPrivateKey = ${PRIV}`, 1, /outside a section/);
  rejects(iface("[Wireguard]\nFoo = bar\nBaz = 1"), 3, /Unknown section \[Wireguard\]/);
  rejects(iface("[Peer"), 3, /Malformed section header "\[Peer"/);
});

Deno.test("parseWgQuick() rejects a line without '=' or without a key", () => {
  rejects(iface("ListenPort 51820"), 3, /Line has no '='.*"ListenPort 51820"/);
  rejects(iface("= 51820"), 3, /Missing key name/);
});

Deno.test("parseWgQuick() rejects a missing or duplicate PrivateKey", () => {
  rejects("[Interface]\nListenPort = 1\n", 1, /\[Interface\] has no PrivateKey/);
  rejects(iface(`PrivateKey = ${PRIV}`), 3, /Duplicate PrivateKey \(first set on line 2\)/);
  // Repeated [Interface] sections merge, as in wg(8), so the repeat is still caught.
  rejects(iface(`[Interface]\nprivatekey = ${PRIV}`), 4, /Duplicate PrivateKey/);
  rejects(`[Peer]\nPublicKey = ${PUB1}`, 0, /Missing \[Interface\] section/);
});

Deno.test("parseWgQuick() rejects bad base64 keys without echoing them", () => {
  rejects("[Interface]\nPrivateKey = abc", 2, /Cannot parse PrivateKey: want 44 base64/);
  rejects(
    iface(`[Peer]\nPublicKey = ${PUB1.slice(0, 43)}!`),
    4,
    /Cannot parse PublicKey: want '='/,
  );
  rejects(
    iface(`[Peer]\nPublicKey = ${PUB1}\nPresharedKey = ${PSK.replace("+", "-")}`),
    5,
    /PresharedKey: invalid base64 character/,
  );
  const problems = problemsOf(`[Interface]\nPrivateKey = ${PRIV.slice(0, 40)}`);
  assert.ok(!problems[0].message.includes(PRIV.slice(0, 40)));
});

Deno.test("parseWgQuick() rejects bad addresses and AllowedIPs", () => {
  rejects(
    iface("Address = 10.0.0.1/33"),
    3,
    /^Cannot parse Address "10.0.0.1\/33": prefix length out of range/,
  );
  rejects(iface("Address = 10.0.0.1/24,"), 3, /empty entry/);
  rejects(iface("Address = fe80::1%eth0/64"), 3, /zone/);
  rejects(
    iface(`[Peer]\nPublicKey = ${PUB1}\nAllowedIPs = 10.0.0.0/8, 1.2.3/24`),
    5,
    /^Cannot parse AllowedIPs "1.2.3\/24": IPv4 address needs 4 fields, got 3$/,
  );
  rejects(iface(`[Peer]\nPublicKey = ${PUB1}\nAllowedIPs = 256.0.0.1/32`), 5, /out of range 0-255/);
  rejects(
    iface(`[Peer]\nPublicKey = ${PUB1}\nAllowedIPs = ::1::/128`),
    5,
    /'::' may appear only once/,
  );
});

Deno.test("parseWgQuick() rejects bad ports, MTUs and keepalives", () => {
  rejects(iface("ListenPort = -1"), 3, /Cannot parse ListenPort "-1"/);
  rejects(iface("ListenPort = 65536"), 3, /out of range 0-65535/);
  rejects(iface("ListenPort = 51 820"), 3, /want a number 0-65535/);
  rejects(iface("ListenPort = 1\nListenPort = 2"), 4, /Duplicate ListenPort/);
  rejects(iface("MTU = 575"), 3, /out of range 576-65535; 576 is the smallest IPv4 datagram/);
  rejects(iface("MTU = 65536"), 3, /out of range/);
  rejects(iface("MTU = big"), 3, /want a number/);
  rejects(
    iface("MTU = 1000\nAddress = fd00::1/64"),
    3,
    /MTU 1000 is below 1280, the minimum IPv6 allows/,
  );
  assert.equal(parseWgQuick(iface("MTU = 1000\nAddress = 10.0.0.1/24"), "f").mtu, 1000);
  assert.equal(parseWgQuick(iface("MTU = 1280\nAddress = fd00::1/64"), "f").mtu, 1280);
  const peer = (v: string) => iface(`[Peer]\nPublicKey = ${PUB1}\nPersistentKeepalive = ${v}`);
  rejects(peer("-1"), 5, /want "off" or a number 0-65535/);
  rejects(peer("65536"), 5, /out of range 0-65535/);
  rejects(peer("on"), 5, /want "off" or a number/);
  assert.equal(parseWgQuick(peer("OFF"), "f").peers[0].persistentKeepalive, 0);
  assert.equal(parseWgQuick(peer("65535"), "f").peers[0].persistentKeepalive, 65535);
});

Deno.test("parseWgQuick() rejects bad endpoints", () => {
  const peer = (v: string) => iface(`[Peer]\nPublicKey = ${PUB1}\nEndpoint = ${v}`);
  rejects(
    peer("2607:5300::1:51820"),
    5,
    /^Cannot parse Endpoint "2607:5300::1:51820": .*needs brackets/,
  );
  rejects(peer("1.2.3.4"), 5, /missing ':port'/);
  rejects(peer("1.2.3.4:0"), 5, /port 0 out of range/);
  rejects(peer("[::1]:99999"), 5, /not a decimal number|out of range/);
  rejects(peer("bad_host!:1"), 5, /invalid characters/);
  rejects(peer("1.2.3.4:1\nEndpoint = 1.2.3.4:2"), 6, /Duplicate Endpoint/);
});

Deno.test("parseWgQuick() rejects a peer without a key and duplicate peers", () => {
  rejects(iface("[Peer]\nAllowedIPs = 10.0.0.0/8"), 3, /\[Peer\] has no PublicKey/);
  rejects(
    iface(`[Peer]\nPublicKey = ${PUB1}\n[Peer]\nPublicKey = ${PUB1}`),
    6,
    /Duplicate peer PublicKey \(already used by the \[Peer\] on line 4\)/,
  );
  rejects(iface(`[Peer]\nPublicKey = ${PUB1}\nPublicKey = ${PUB2}`), 5, /Duplicate PublicKey/);
});

Deno.test("parseWgQuick() lists every problem in the file, in line order", () => {
  const problems = problemsOf(`Stray = 1
[Interface]
PrivateKey = nope
ListenPort = 70000
Address = 10.0.0.1/40
[Peer]
PublicKey = ${PUB1}
AllowedIPs = 10.0.0.0/8
Endpoint = nowhere
[Peer]
AllowedIPs = 10.1.0.0/16
what is this
`);
  assert.deepEqual(problems.map((p) => p.line), [1, 3, 4, 5, 9, 10, 12]);
  const text = new ConfigError(problems).message.split("\n");
  assert.equal(text.length, 7);
  assert.match(text[0], /^wg0\.conf:1: Stray is outside a section/);
  assert.match(text[5], /^wg0\.conf:10: \[Peer\] has no PublicKey$/);
  assert.equal(formatProblem({ file: "x.conf", line: 0, message: "Missing" }), "x.conf: Missing");
});

Deno.test("parseWgQuick() accepts ListenPort = 0 as any free port, like wg(8)", () => {
  const cfg = parseWgQuick(`[Interface]\nPrivateKey = ${PRIV}\nListenPort = 0\n`, "t.conf");
  assert.equal(cfg.listenPort, 0);
});
