import assert from "node:assert/strict";
import { afterClose, afterOurFinAcked, afterPeerFin, receivesData } from "./tcp_states.ts";
import type { TcpState } from "./tcp_config.ts";

const ALL: TcpState[] = [
  "SYN_SENT",
  "SYN_RECEIVED",
  "ESTABLISHED",
  "FIN_WAIT_1",
  "FIN_WAIT_2",
  "CLOSE_WAIT",
  "CLOSING",
  "LAST_ACK",
  "TIME_WAIT",
  "CLOSED",
];
const table = (f: (s: TcpState) => TcpState) =>
  Object.fromEntries(ALL.map((s) => [s, f(s)]).filter(([s, t]) => s !== t));

Deno.test("the closing transitions follow RFC 9293 Figure 5", () => {
  assert.deepEqual(table(afterOurFinAcked), {
    FIN_WAIT_1: "FIN_WAIT_2",
    CLOSING: "TIME_WAIT",
    LAST_ACK: "CLOSED",
  });
  assert.deepEqual(table((s) => afterPeerFin(s, false)), {
    ESTABLISHED: "CLOSE_WAIT",
    FIN_WAIT_1: "CLOSING",
    FIN_WAIT_2: "TIME_WAIT",
  });
  assert.equal(afterPeerFin("FIN_WAIT_1", true), "TIME_WAIT");
  assert.deepEqual(table(afterClose), {
    ESTABLISHED: "FIN_WAIT_1",
    CLOSE_WAIT: "LAST_ACK",
    SYN_SENT: "CLOSED",
  });
  assert.deepEqual(ALL.filter(receivesData), ["ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2"]);
});
