import assert from "node:assert/strict";
import { type HeaderField, HpackDecoder, HpackEncoder } from "./hpack.ts";
import { huffmanDecode, huffmanEncode } from "./huffman.ts";
import { H2Error } from "./frame.ts";

const assertEquals = (a: unknown, b: unknown, msg?: string) => assert.deepStrictEqual(a, b, msg);
/** Asserts `fn` throws an H2Error (whose message includes `part`) and returns it. */
function assertThrows(fn: () => unknown, _cls: typeof H2Error, part = ""): H2Error {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof H2Error, `want H2Error, got ${e}`);
    assert.ok(e.message.includes(part), `${e.message} lacks ${part}`);
    return e;
  }
  throw new assert.AssertionError({ message: "did not throw" });
}

const hex = (s: string) =>
  new Uint8Array(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));
const text = (s: string) => new TextEncoder().encode(s);

const REQ1: HeaderField[] = [[":method", "GET"], [":scheme", "http"], [":path", "/"], [
  ":authority",
  "www.example.com",
]];
const REQ2: HeaderField[] = [...REQ1, ["cache-control", "no-cache"]];
const REQ3: HeaderField[] = [[":method", "GET"], [":scheme", "https"], [":path", "/index.html"], [
  ":authority",
  "www.example.com",
], ["custom-key", "custom-value"]];
const RES1: HeaderField[] = [[":status", "302"], ["cache-control", "private"], [
  "date",
  "Mon, 21 Oct 2013 20:13:21 GMT",
], ["location", "https://www.example.com"]];
const RES2: HeaderField[] = [[":status", "307"], ...RES1.slice(1)];
const RES3: HeaderField[] = [
  [":status", "200"],
  ["cache-control", "private"],
  ["date", "Mon, 21 Oct 2013 20:13:22 GMT"],
  ["location", "https://www.example.com"],
  ["content-encoding", "gzip"],
  ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
];

/** One RFC 7541 Appendix C sequence: blocks in order, each with its list and the table after. */
function runSequence(
  d: HpackDecoder,
  steps: Array<{ block: string; list: HeaderField[]; table: HeaderField[]; size: number }>,
) {
  for (const s of steps) {
    assertEquals(d.decode(hex(s.block)), s.list);
    assertEquals(d.table, s.table);
    assertEquals(d.tableSize, s.size);
  }
}

const requestTables = {
  t1: [[":authority", "www.example.com"]] as HeaderField[],
  t2: [["cache-control", "no-cache"], [":authority", "www.example.com"]] as HeaderField[],
  t3: [["custom-key", "custom-value"], ["cache-control", "no-cache"], [
    ":authority",
    "www.example.com",
  ]] as HeaderField[],
};

Deno.test("hpack: RFC 7541 C.3 requests without Huffman", () => {
  runSequence(new HpackDecoder(), [
    {
      block: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
      list: REQ1,
      table: requestTables.t1,
      size: 57,
    },
    { block: "8286 84be 5808 6e6f 2d63 6163 6865", list: REQ2, table: requestTables.t2, size: 110 },
    {
      block: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
      list: REQ3,
      table: requestTables.t3,
      size: 164,
    },
  ]);
});

Deno.test("hpack: RFC 7541 C.4 requests with Huffman", () => {
  runSequence(new HpackDecoder(), [
    {
      block: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
      list: REQ1,
      table: requestTables.t1,
      size: 57,
    },
    { block: "8286 84be 5886 a8eb 1064 9cbf", list: REQ2, table: requestTables.t2, size: 110 },
    {
      block: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
      list: REQ3,
      table: requestTables.t3,
      size: 164,
    },
  ]);
});

const responseTables = {
  t1: [
    ["location", "https://www.example.com"],
    ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
    ["cache-control", "private"],
    [":status", "302"],
  ] as HeaderField[],
  t2: [
    [":status", "307"],
    ["location", "https://www.example.com"],
    ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
    ["cache-control", "private"],
  ] as HeaderField[],
  t3: [
    ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
    ["content-encoding", "gzip"],
    ["date", "Mon, 21 Oct 2013 20:13:22 GMT"],
  ] as HeaderField[],
};

Deno.test("hpack: RFC 7541 C.5 responses without Huffman, 256-octet table with evictions", () => {
  runSequence(new HpackDecoder(256), [
    {
      block: "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133" +
        "2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70" +
        "6c65 2e63 6f6d",
      list: RES1,
      table: responseTables.t1,
      size: 222,
    },
    { block: "4803 3330 37c1 c0bf", list: RES2, table: responseTables.t2, size: 222 },
    {
      block: "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d" +
        "54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049" +
        "5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e" +
        "3d31",
      list: RES3,
      table: responseTables.t3,
      size: 215,
    },
  ]);
});

Deno.test("hpack: RFC 7541 C.6 responses with Huffman, 256-octet table with evictions", () => {
  runSequence(new HpackDecoder(256), [
    {
      block: "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6" +
        "2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
      list: RES1,
      table: responseTables.t1,
      size: 222,
    },
    { block: "4883 640e ffc1 c0bf", list: RES2, table: responseTables.t2, size: 222 },
    {
      block: "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab" +
        "77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f" +
        "9587 3160 65c0 03ed 4ee5 b106 3d50 07",
      list: RES3,
      table: responseTables.t3,
      size: 215,
    },
  ]);
});

Deno.test("hpack: RFC 7541 C.2 never-indexed literal and C.1.2 multi-byte integer", () => {
  const d = new HpackDecoder();
  assertEquals(d.decode(hex("100870617373776f726406736563726574")), [["password", "secret"]]);
  assertEquals(d.table, []);
  // A literal value 1337 bytes long: the length crosses the 7-bit prefix.
  const v = "x".repeat(1337);
  const block = new Uint8Array([0x04, 0x7f, 0xba, 0x09, ...text(v)]);
  assertEquals(d.decode(block), [[":path", v]]);
});

Deno.test("hpack: a size update shrinks the table, one above the limit is an error", () => {
  const d = new HpackDecoder();
  d.decode(hex("4803 3330 32"));
  assertEquals(d.table.length, 1);
  assertEquals(d.decode(hex("20 88")), [[":status", "200"]]);
  assertEquals(d.tableSize, 0);
  // 0x3f e1 1f = 31 + 0x61 + (0x1f << 7) = 4096 + … above 4096
  assertThrows(() => d.decode(hex("3fe21f")), H2Error, "above the 4096 allowed");
  assertThrows(() => d.decode(hex("88 20")), H2Error, "after a header field");
});

Deno.test("hpack: malformed blocks are COMPRESSION_ERRORs, never other exceptions", () => {
  const d = () => new HpackDecoder();
  for (
    const bad of ["ff", "be", "0f", "400a6375", "0085ffffffff", "7fffffffff0f", "04 ff 80", "4082"]
  ) {
    const e = assertThrows(() => d().decode(hex(bad)), H2Error);
    assertEquals(e.code, 0x9, bad);
  }
  // Random bytes: either decodes or raises H2Error.
  for (let i = 0; i < 2000; i++) {
    const b = crypto.getRandomValues(new Uint8Array(1 + (i % 40)));
    try {
      d().decode(b);
    } catch (e) {
      if (!(e instanceof H2Error)) throw e;
    }
  }
});

Deno.test("hpack: Huffman round trip over every byte; bad padding and EOS are rejected", () => {
  const all = new Uint8Array(256).map((_, i) => i);
  assertEquals(huffmanDecode(huffmanEncode(all)), all);
  assertEquals(huffmanEncode(text("www.example.com")), hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff"));
  assertThrows(() => huffmanDecode(hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff ff")), H2Error, "7 bits");
  assertThrows(() => huffmanDecode(hex("00")), H2Error, "all ones"); // '0' then 3 zero bits
  assertThrows(() => huffmanDecode(hex("ffffffff")), H2Error, "EOS");
});

Deno.test("hpack: the encoder's literals decode to the same list, statically indexed where possible", () => {
  const list: HeaderField[] = [
    [":method", "POST"],
    [":scheme", "https"],
    [":authority", "control.example"],
    [":path", "/machine/map"],
    ["content-type", "application/json"],
    ["ts-lb", "nodekey:" + "a".repeat(64)],
    ["ts-lb", "nodekey:" + "b".repeat(64)],
  ];
  const block = new HpackEncoder().encode(list);
  assertEquals(block[0], 0x83); // :method POST is static entry 3
  const d = new HpackDecoder();
  assertEquals(d.decode(block), list);
  assertEquals(d.table, []); // nothing indexed
});
