import assert from "node:assert/strict";
import {
  decodeTable,
  deleteTableMessage,
  encodeBatch,
  encodeTableDumpRequest,
  forwardingMessages,
  newChainMessage,
  newRuleMessage,
  newTableMessage,
  NF_INET_FORWARD,
  NFPROTO_INET,
} from "./nftables_codec.ts";
import { decodeMessages, NLM_F_ACK } from "./netlink_codec.ts";
import { bitwise, masquerade, matchSaddr, NF_ACCEPT, verdict } from "./nftables_expr.ts";
import { decodeNlas, encodeNlas, nlaString, nlaU32 } from "./nftables_nla.ts";
import { parsePrefix } from "../src/net/ip.ts";

/** The bytes of a `testdata/*.hex` capture: hex pairs, `#` lines are comments. */
function capture(name: string): Uint8Array {
  const text = Deno.readTextFileSync(new URL(`./testdata/${name}`, import.meta.url));
  const hex = text.split("\n").filter((l) => !l.startsWith("#")).join("").replace(/\s+/g, "");
  return Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16));
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}

/** Each netlink message of a datagram as hex, so a mismatch names the message. */
function messages(b: Uint8Array): string[] {
  return decodeMessages(b).map((m, i) => `#${i} type ${m.type.toString(16)}: ${toHex(m.body)}`)
    .concat(decodeMessages(b).map((m, i) => `#${i} flags ${m.flags} seq ${m.seq}`));
}

const CFG = {
  table: "warren",
  tun: "warren0",
  snatV4: parsePrefix("100.64.0.0/10"),
  snatV6: parsePrefix("fd7a:115c:a1e0::/48"),
};

Deno.test("forwardingMessages() in a batch is byte for byte what `nft -f` sends for the same ruleset", () => {
  const want = capture("nftables_install.hex");
  const got = encodeBatch(forwardingMessages(CFG), 0).bytes;
  assert.deepEqual(messages(got), messages(want));
  assert.equal(toHex(got), toHex(want));
});

Deno.test("forwardingMessages() with replace is what nft sends for add table, delete table, ruleset", () => {
  const want = capture("nftables_replace.hex");
  const got = encodeBatch(forwardingMessages(CFG, { replace: true }), 0).bytes;
  assert.deepEqual(messages(got), messages(want));
  assert.equal(toHex(got), toHex(want));
});

Deno.test("deleteTableMessage() in a batch is what `nft delete table inet warren` sends", () => {
  const want = capture("nftables_delete.hex");
  assert.equal(toHex(encodeBatch([deleteTableMessage("warren")], 0).bytes), toHex(want));
});

Deno.test("encodeTableDumpRequest() is what `nft list tables` sends; decodeTable() reads the answer", () => {
  const [req, answer] = decodeMessages(capture("nftables_gettable.hex"));
  const got = decodeMessages(encodeTableDumpRequest(0, 0))[0];
  assert.deepEqual({ ...got, body: toHex(got.body) }, { ...req, body: toHex(req.body) });
  // warren dumps only its family: the same request with nfgen_family inet.
  assert.equal(encodeTableDumpRequest(7)[16], NFPROTO_INET);
  assert.equal(answer.type, 0x0a00);
  assert.deepEqual(decodeTable(answer.body), {
    family: NFPROTO_INET,
    name: "warren",
    flags: 0,
    use: 2,
    handle: 4,
  });
  assert.throws(() => decodeTable(new Uint8Array(3)), /Cannot decode nftables table: 3 bytes/);
});

Deno.test("encodeBatch() numbers the messages after BATCH_BEGIN, names their steps, and can ask for ACKs", () => {
  const batch = encodeBatch(forwardingMessages(CFG, { replace: true }), 0xfffffffe, { ack: true });
  const msgs = decodeMessages(batch.bytes);
  assert.equal(batch.seq, 0xfffffffe);
  assert.deepEqual(msgs.map((m) => m.seq), [0xfffffffe, 0xffffffff, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
  // Only the messages inside ask for an acknowledgement; nft's begin and end never do.
  assert.deepEqual(msgs.map((m) => (m.flags & NLM_F_ACK) !== 0), [
    false,
    ...Array(9).fill(true),
    false,
  ]);
  assert.deepEqual([...batch.steps.entries()], [
    [0xffffffff, "create table inet warren"],
    [0, "delete table inet warren"],
    [1, "create table inet warren"],
    [2, "create chain forward"],
    [3, "create chain postrouting"],
    [4, 'add rule to chain forward: iifname "warren0" accept'],
    [5, "add rule to chain forward: ct state established,related accept"],
    [6, 'add rule to chain postrouting: ip saddr 100.64.0.0/10 oifname != "warren0" masquerade'],
    [
      7,
      'add rule to chain postrouting: ip6 saddr fd7a:115c:a1e0::/48 oifname != "warren0" masquerade',
    ],
  ]);
});

Deno.test("forwardingMessages() leaves the nat chain out without masquerade and masks host bits", () => {
  const plain = forwardingMessages({ table: "w", tun: "tun1" });
  assert.deepEqual(plain.map((m) => m.step), [
    "create table inet w",
    "create chain forward",
    'add rule to chain forward: iifname "tun1" accept',
    "add rule to chain forward: ct state established,related accept",
  ]);
  const v4only = forwardingMessages({
    table: "w",
    tun: "tun1",
    snatV4: parsePrefix("10.1.2.3/8", { keepHostBits: true }),
  });
  assert.equal(
    v4only.at(-1)!.step,
    'add rule to chain postrouting: ip saddr 10.0.0.0/8 oifname != "tun1" masquerade',
  );
});

Deno.test("matchSaddr() loads whole bytes of a byte-aligned prefix and masks any other, as nft does", () => {
  // nft --debug=netlink: `ip saddr 10.0.0.0/24` is "payload load 3b @ network header + 12",
  // "cmp eq reg 1 0x0000000a"; `ip6 saddr fd00::/50` loads 16 bytes and masks ff ff ff ff ff ff c0 00….
  const nlaOf = (e: { data: readonly unknown[] }) => e.data as [number, Uint8Array | unknown[]][];
  const v4 = matchSaddr(parsePrefix("10.0.0.0/24"));
  assert.deepEqual(v4.map((e) => e.name), ["meta", "cmp", "payload", "cmp"]);
  assert.deepEqual([...(nlaOf(v4[2])[3][1] as Uint8Array)], [0, 0, 0, 3]);
  const v6 = matchSaddr(parsePrefix("fd00::/50"));
  assert.deepEqual(v6.map((e) => e.name), ["meta", "cmp", "payload", "bitwise", "cmp"]);
  const mask = encodeNlas(v6[3].data.slice(3, 4));
  assert.equal(toHex(mask.subarray(8, 24)), "ff ff ff ff ff ff c0 00 00 00 00 00 00 00 00 00");
  const all = matchSaddr(parsePrefix("0.0.0.0/0"));
  assert.deepEqual(all.map((e) => e.name), ["meta", "cmp", "payload", "bitwise", "cmp"]);
});

Deno.test("encodeNlas() flags nests, pads every attribute, and decodeNlas() reads it back", () => {
  const b = encodeNlas([[1, nlaString("ab")], [4, [[2, nlaU32(0x01020304)], [3, []]]]]);
  assert.equal(
    toHex(b),
    "07 00 01 00 61 62 00 00 10 00 04 80 08 00 02 00 01 02 03 04 04 00 03 80",
  );
  const [s, nest] = decodeNlas(b);
  assert.deepEqual([s.type, s.nested, toHex(s.value)], [1, false, "61 62 00"]);
  assert.deepEqual([nest.type, nest.nested], [4, true]);
  assert.deepEqual(decodeNlas(nest.value).map((a) => [a.type, a.nested, a.value.length]), [
    [2, false, 4],
    [3, true, 0],
  ]);
  assert.throws(() => decodeNlas(Uint8Array.of(9, 0, 1, 0, 0)), /length 9 outside 4-5/);
  assert.throws(() => encodeNlas([[1, new Uint8Array(0x10000)]]), /65540 bytes/);
});

Deno.test("The encoders reject bad names, prefixes, priorities and values", () => {
  assert.throws(() => newTableMessage(""), /Invalid nftables table name "": must be 1 to 255/);
  assert.throws(() => newTableMessage("x".repeat(256)), RangeError);
  assert.throws(() => deleteTableMessage("a\0b"), /no NUL/);
  const chain = {
    table: "t",
    name: "c",
    type: "filter" as const,
    hook: NF_INET_FORWARD,
    priority: 2 ** 31,
    policy: NF_ACCEPT,
  };
  assert.throws(() => newChainMessage(chain), /priority 2147483648: must be an i32/);
  const neg = encodeNlas(newChainMessage({ ...chain, priority: -100 }).attrs);
  assert.ok(toHex(neg).endsWith("08 00 02 00 ff ff ff 9c"), toHex(neg));
  assert.throws(() => newRuleMessage("t", "", [verdict(NF_ACCEPT)], "accept"), /chain name/);
  assert.throws(() => forwardingMessages({ table: "t", tun: "no such/if" }), /Invalid interface/);
  assert.throws(
    () => forwardingMessages({ table: "t", tun: "w0", snatV4: parsePrefix("fd00::/8") }),
    /Invalid IPv4 masquerade prefix: got an IPv6 one/,
  );
  assert.throws(
    () =>
      forwardingMessages({ table: "t", tun: "w0", snatV6: { ip: new Uint8Array(16), bits: 129 } }),
    /prefix length 129/,
  );
  assert.throws(() => bitwise(new Uint8Array(4), new Uint8Array(2)), /mask 4, xor 2/);
  assert.throws(() => nlaU32(-1), /Invalid u32 attribute -1/);
  assert.equal(masquerade().data.length, 0);
});
