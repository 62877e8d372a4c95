import assert from "node:assert/strict";
import { toHex } from "../src/bytes/hex.ts";
import { encodeAddrRequest, RTM_DELADDR, RTM_NEWADDR } from "./netlink_addr_codec.ts";

Deno.test("encodeAddrRequest() lays out `ip address del 100.64.0.1/32 dev IF` as iproute2 does", () => {
  const msg = encodeAddrRequest(
    RTM_DELADDR,
    { ip: new Uint8Array([100, 64, 0, 1]), bits: 32 },
    7,
    9,
  );
  assert.equal(
    toHex(msg),
    "28000000" + "1500" + "0500" + "09000000" + "00000000" + // nlmsghdr: len 40, DELADDR, REQ|ACK
      "02200000" + "07000000" + // ifaddrmsg: AF_INET, /32, flags 0, scope 0, index 7
      "08000200" + "64400001" + // IFA_LOCAL
      "08000100" + "64400001", // IFA_ADDRESS (iproute2 repeats the local address)
  );
});

Deno.test("encodeAddrRequest() adds with CREATE|EXCL and carries IPv6 addresses whole", () => {
  const ip = new Uint8Array(16);
  ip.set([0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0], 0);
  ip[15] = 1;
  const msg = encodeAddrRequest(RTM_NEWADDR, { ip, bits: 128 }, 3, 1);
  const dv = new DataView(msg.buffer);
  assert.equal(msg.length, 16 + 8 + 2 * 20);
  assert.equal(dv.getUint16(4, true), RTM_NEWADDR);
  assert.equal(dv.getUint16(6, true), 0x1 | 0x4 | 0x400 | 0x200);
  assert.equal(msg[16], 10); // AF_INET6
  assert.equal(msg[17], 128);
  assert.deepEqual(msg.subarray(28, 44), ip);
  assert.deepEqual(msg.subarray(48, 64), ip);
});

Deno.test("encodeAddrRequest() rejects a prefix length beyond the family's", () => {
  assert.throws(
    () => encodeAddrRequest(RTM_DELADDR, { ip: new Uint8Array(4), bits: 33 }, 1, 1),
    RangeError,
  );
});
