/**
 * warren's own nftables client: one synchronous `NETLINK_NETFILTER` socket that sends
 * nf_tables batches and reads the kernel's answers, so forwarding rules and masquerade need no
 * `nft` or `iptables` on the host. A batch is a transaction: the kernel applies all of it or
 * none, and a refusal names the message (the step) that was refused. The byte layouts are in
 * {@link ./nftables_codec.ts}.
 *
 * @module
 */

import { ENOENT, SysError } from "./libc.ts";
import { decodeError, type NetlinkMessage, NLMSG_DONE, NLMSG_ERROR } from "./netlink_codec.ts";
import { NetlinkSocket } from "./netlink_socket.ts";
import {
  type DecodedTable,
  decodeTable,
  deleteTableMessage,
  encodeBatch,
  encodeTableDumpRequest,
  type ForwardingConfig,
  forwardingMessages,
  NETLINK_NETFILTER,
  NFNL_SUBSYS_NFTABLES,
  NFPROTO_INET,
  NFT_MSG_NEWTABLE,
  type NftMessage,
} from "./nftables_codec.ts";
import { decodeNlas } from "./nftables_nla.ts";

export type { ForwardingConfig } from "./nftables_codec.ts";

/** Netlink socket options: error messages from the kernel, without our request echoed. */
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
/** NLMSG_ERROR flags: the request is not echoed; extended-ack attributes follow. */
const NLM_F_CAPPED = 0x100;
const NLM_F_ACK_TLVS = 0x200;
/** errno: the kernel lacks the feature (here: an nf_tables module). */
const EOPNOTSUPP = 95;
/** Extended-ack attribute: the kernel's message (a string). */
const NLMSGERR_ATTR_MSG = 1;

/**
 * One nf_tables socket: {@link NfTables.apply} runs a batch, {@link NfTables.tables} dumps the
 * tables. Failures are {@link SysError}s carrying the kernel's errno.
 *
 * @example
 * ```ts ignore
 * import { deleteTableMessage } from "./nftables_codec.ts";
 * using nft = NfTables.open();
 * if (nft.tables().some((t) => t.name === "warren")) {
 *   nft.apply([deleteTableMessage("warren")], "Cannot remove table inet warren");
 * }
 * ```
 */
export class NfTables {
  readonly #sock: NetlinkSocket;

  private constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  /**
   * Opens the socket, asking for the kernel's own words on a refusal ("Chain not found") and
   * no copy of a large rule in every acknowledgement.
   */
  static open(): NfTables {
    return new NfTables(
      NetlinkSocket.open(NETLINK_NETFILTER, "nftables netlink socket", [
        NETLINK_EXT_ACK,
        NETLINK_CAP_ACK,
      ]),
    );
  }

  /**
   * Sends `msgs` as one batch, each asking for an acknowledgement, and returns once every one is
   * acknowledged. The first refusal throws a {@link SysError} whose message is `what`, the
   * refused step and the kernel's reason; the kernel then applies none of the batch.
   */
  apply(msgs: readonly NftMessage[], what: string): void {
    const batch = encodeBatch(msgs, this.#sock.nextSeq(msgs.length + 1), { ack: true });
    this.#sock.send(batch.bytes, what);
    const pending = new Set(batch.steps.keys());
    while (pending.size > 0) {
      for (const m of this.#sock.recv(what)) {
        if (m.type !== NLMSG_ERROR) continue;
        const step = batch.steps.get(m.seq);
        if (step === undefined && m.seq !== batch.seq) continue; // an earlier request's answer
        const err = decodeError(m.body);
        if (err === 0) {
          pending.delete(m.seq);
          continue;
        }
        // An answer to BATCH_BEGIN means the batch as a whole (its commit) was refused.
        const where = step ?? "commit the batch";
        throw new SysError(
          `${what}: ${where}`,
          "netlink nf_tables batch",
          -err,
          hint(m, -err, where),
        );
      }
    }
  }

  /** Every table of `family` (NFPROTO_INET by default; 0 for all families). */
  tables(family = NFPROTO_INET): DecodedTable[] {
    const what = "Cannot list nftables tables";
    const seq = this.#sock.nextSeq(1);
    this.#sock.send(encodeTableDumpRequest(seq, family), what);
    const out: DecodedTable[] = [];
    for (;;) {
      for (const m of this.#sock.recv(what)) {
        if (m.seq !== seq) continue;
        if (m.type === NLMSG_DONE || m.type === NLMSG_ERROR) {
          const err = decodeError(m.body);
          if (err !== 0) {
            throw new SysError(what, "netlink NFT_MSG_GETTABLE", -err, hint(m, -err, "dump"));
          }
          return out;
        }
        if (m.type === ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE)) {
          out.push(decodeTable(m.body));
        }
      }
    }
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the socket. Idempotent. */
  close(): void {
    this.#sock.close();
  }
}

/** The kernel's extended-ack message, else a hint for the errors a missing module causes. */
function hint(m: NetlinkMessage, err: number, step: string): string | undefined {
  if (m.flags & NLM_F_ACK_TLVS && m.body.length >= 20) {
    const reqLen = new DataView(m.body.buffer, m.body.byteOffset + 4, 4).getUint32(0, true);
    const off = 4 + (m.flags & NLM_F_CAPPED ? 16 : reqLen);
    try {
      const msg = decodeNlas(m.body.subarray(off)).find((a) => a.type === NLMSGERR_ATTR_MSG);
      if (msg) return `kernel says: ${new TextDecoder().decode(msg.value).replace(/\0.*$/s, "")}`;
    } catch {
      // a malformed extended ack only loses the hint
    }
  }
  if (err === EOPNOTSUPP || (err === ENOENT && /chain|rule|dump/.test(step))) {
    return "is the kernel built with nf_tables (nf_tables, nft_chain_nat, nft_ct, nft_masq)?";
  }
  return undefined;
}

/**
 * Creates warren's forwarding table (see {@link forwardingMessages}) in one transaction that
 * first removes a table of the same name, so a table a crash left behind is replaced, never
 * merged with. Throws a {@link SysError} naming the refused step; the old table then stays as it
 * was.
 *
 * @example
 * ```ts ignore
 * import { parsePrefix } from "../src/net/ip.ts";
 * installForwarding({ table: "warren", tun: "warren0", snatV4: parsePrefix("100.64.0.0/10") });
 * ```
 */
export function installForwarding(cfg: ForwardingConfig): void {
  const msgs = forwardingMessages(cfg, { replace: true });
  using nft = NfTables.open();
  nft.apply(msgs, `Cannot install forwarding rules in nftables table inet ${cfg.table}`);
}

/**
 * Deletes inet table `name` with its chains and rules. Returns false if there was none.
 *
 * @example
 * ```ts ignore
 * removeTable("warren"); // true: it was there
 * removeTable("warren"); // false
 * ```
 */
export function removeTable(name: string): boolean {
  const msg = deleteTableMessage(name);
  using nft = NfTables.open();
  try {
    nft.apply([msg], `Cannot remove nftables table inet ${name}`);
    return true;
  } catch (e) {
    if (e instanceof SysError && e.errno === ENOENT) return false;
    throw e;
  }
}

/**
 * Whether inet table `name` exists (such as one a crashed warren left).
 *
 * @example
 * ```ts ignore
 * if (tableExists("warren")) console.log("a previous run left its table behind");
 * ```
 */
export function tableExists(name: string): boolean {
  using nft = NfTables.open();
  return nft.tables().some((t) => t.name === name);
}
