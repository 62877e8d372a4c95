import assert from "node:assert/strict";
import {
  addressOf,
  checkIfName,
  cString,
  EBADF,
  EBUSY,
  EEXIST,
  EPERM,
  errno,
  errnoName,
  formatIp,
  ifNameToIndex,
  ifreq,
  libc,
  maskPrefix,
  parseIp,
  readCString,
  strerror,
  SysError,
} from "./libc.ts";

Deno.test("errno() reports the error of the last failed libc call", () => {
  assert.equal(libc().close(-1), -1);
  assert.equal(errno(), EBADF);
  assert.equal(errnoName(EBADF), "EBADF");
  assert.equal(errnoName(4242), "errno 4242");
  assert.equal(strerror(EPERM), "Operation not permitted");
});

Deno.test("SysError messages say what failed and what to do", () => {
  const perm = new SysError('Cannot create TUN interface "warren0"', "ioctl(TUNSETIFF)", EPERM);
  assert.equal(
    perm.message,
    'Cannot create TUN interface "warren0": ioctl(TUNSETIFF) failed with EPERM ' +
      "(operation not permitted); needs root or CAP_NET_ADMIN",
  );
  assert.equal(perm.errno, EPERM);
  assert.equal(perm.code, "EPERM");
  assert.equal(perm.syscall, "ioctl(TUNSETIFF)");
  assert.ok(perm instanceof Error);
  assert.match(new SysError("x", "ioctl", EBUSY).message, /; interface name is in use$/);
  assert.equal(
    new SysError("x", "ioctl", EEXIST).message,
    "x: ioctl failed with EEXIST (file exists)",
  );
  assert.match(new SysError("x", "ioctl", EEXIST, "route exists").message, /; route exists$/);
});

Deno.test("parseIp() and formatIp() round-trip RFC 5952 forms", () => {
  const cases: [string, string][] = [
    ["0.0.0.0", "0.0.0.0"],
    ["100.64.0.1", "100.64.0.1"],
    ["::", "::"],
    ["::1", "::1"],
    ["2001:db8::1", "2001:db8::1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    // RFC 5952 4.2.3: the first of equal-length zero runs is compressed.
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    // RFC 5952 4.2.2: a single zero group is not compressed.
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["fd7a:115c:a1e0::1", "fd7a:115c:a1e0::1"],
    ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
    ["1::", "1::"],
  ];
  for (const [input, want] of cases) {
    const ip = parseIp(input);
    assert.ok(ip !== null, input);
    assert.equal(formatIp(ip), want);
  }
  assert.deepEqual(parseIp("::ffff:1.2.3.4")!.subarray(10), new Uint8Array([255, 255, 1, 2, 3, 4]));
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.1.1.1",
      "1.2.3.a",
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "12345::",
      "1.2.3.4::",
      "::1.2.3",
      "g::",
    ]
  ) {
    assert.equal(parseIp(bad), null, bad);
  }
});

Deno.test("maskPrefix() clears host bits", () => {
  assert.deepEqual(
    maskPrefix({ ip: new Uint8Array([10, 20, 3, 4]), bits: 12 }).ip,
    new Uint8Array([10, 16, 0, 0]),
  );
  assert.deepEqual(
    maskPrefix({ ip: new Uint8Array([10, 20, 3, 4]), bits: 0 }).ip,
    new Uint8Array(4),
  );
  assert.deepEqual(
    maskPrefix({ ip: new Uint8Array([10, 20, 3, 4]), bits: 32 }).ip,
    new Uint8Array([10, 20, 3, 4]),
  );
  const v6 = maskPrefix({ ip: parseIp("fd00:1234:5678::1")!, bits: 20 });
  assert.equal(formatIp(v6.ip), "fd00:1000::");
});

Deno.test("C string and ifreq helpers encode names and reject overlong ones", () => {
  assert.deepEqual(cString("lo"), new Uint8Array([0x6c, 0x6f, 0]));
  assert.equal(readCString(new Uint8Array([0x77, 0x30, 0, 0x78])), "w0");
  const req = ifreq("warren0");
  assert.equal(req.length, 40);
  assert.equal(readCString(req, 0, 16), "warren0");
  assert.throws(() => ifreq("sixteen-bytes-xx"), RangeError);
  assert.doesNotThrow(() => checkIfName("warren%d"));
  assert.throws(() => checkIfName(""), RangeError);
  assert.throws(() => checkIfName("a b"), RangeError);
  assert.equal(ifNameToIndex("lo"), 1);
  assert.equal(ifNameToIndex("no-such-if"), 0);
});

Deno.test("addressOf() points at the view's first byte", () => {
  const buf = new Uint8Array(256);
  assert.equal(addressOf(buf.subarray(40)) - addressOf(buf), 40);
  assert.equal(addressOf(new Uint8Array(0)), 0);
  // Writing through the address lands in the array.
  const write = libc().write;
  const pipe = new Uint8Array(8);
  assert.equal(libc().pipe2(pipe, 0), 0);
  const dv = new DataView(pipe.buffer);
  const [r, w] = [dv.getInt32(0, true), dv.getInt32(4, true)];
  try {
    const src = new TextEncoder().encode("xxhello");
    assert.equal(write(w, BigInt(addressOf(src) + 2), 5n), 5);
    assert.equal(libc().read(r, BigInt(addressOf(buf) + 100), 5n), 5);
    assert.equal(new TextDecoder().decode(buf.subarray(100, 105)), "hello");
  } finally {
    libc().close(r);
    libc().close(w);
  }
});

Deno.test("importing ffi/ needs no FFI permission until a syscall is made", async () => {
  const mod = new URL("./mod.ts", import.meta.url).href;
  const dir = await Deno.makeTempDir({ prefix: "warren-ffi-" });
  try {
    const script = `${dir}/no_ffi.ts`;
    await Deno.writeTextFile(
      script,
      `const ffi = await import(${JSON.stringify(mod)});
      console.log(ffi.endpointToString(ffi.endpointFromString("[fd00::1]:7")));
      try { ffi.errno(); console.log("loaded"); } catch (e) { console.log(e.name); }`,
    );
    // Read access only: no --allow-ffi.
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--allow-read", script],
      stdin: "null",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout).trim().split("\n");
    assert.deepEqual(stdout, ["[fd00::1]:7", "NotCapable"], new TextDecoder().decode(out.stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
