/**
 * The Linux kernel as the peer of the userspace netstack, for tests: a
 * throwaway namespace holding a TUN interface whose file descriptor stays in
 * this process (the TUN is opened here, then moved into the namespace, which
 * keeps the descriptor working). The kernel side gets an address on the
 * TUN (10.77.0.1/24, fd00:77::1/64 by default), so the stack's address
 * (10.77.0.2, fd00:77::2) is routed into it; the test sends IP packets into
 * the kernel, receives what the kernel emits, and runs `ping`, `curl` or `nc`
 * in the namespace.
 *
 * @module
 */

import { TunDevice } from "../../ffi/tun.ts";
import { Poller } from "../../ffi/poll.ts";
import { parseIp } from "../net/ip.ts";
import { namespaceSupport, Netns, run, type RunResult } from "./netns.ts";

/** Addresses and size of a {@linkcode TunPair}. */
export interface TunPairOptions {
  /** Namespace name prefix; default "tunpair". */
  prefix?: string;
  /** The kernel side's IPv4 address with prefix length; default "10.77.0.1/24". */
  kernel4?: string;
  /** The kernel side's IPv6 address with prefix length; default "fd00:77::1/64". */
  kernel6?: string;
  /** The stack's IPv4 address (inside kernel4's prefix); default "10.77.0.2". */
  stack4?: string;
  /** The stack's IPv6 address (inside kernel6's prefix); default "fd00:77::2". */
  stack6?: string;
  /** The TUN MTU; default 1280 (the tailnet's). */
  mtu?: number;
}

/** Options of {@linkcode TunPair.exec}. */
export interface TunPairExecOptions {
  /** Bytes for the command's standard input (default: none, stdin is closed). */
  stdin?: Uint8Array;
  /** Kill the command after this long (it then fails with its output so far); default 20 s. */
  timeoutMs?: number;
}

/**
 * A namespace with a TUN whose other end is this process.
 *
 * @example
 * ```ts ignore
 * await using pair = await TunPair.create();
 * pair.onPacket((p) => stack.input(p));
 * const r = await pair.exec(["ping", "-c", "1", pair.stack4Text]);
 * ```
 */
export class TunPair implements AsyncDisposable {
  /** The namespace the kernel side lives in. */
  readonly ns: Netns;
  /** The TUN interface's name (in the namespace). */
  readonly ifname: string;
  /** The kernel side's IPv4 address. */
  readonly kernel4: Uint8Array;
  /** The kernel side's IPv6 address. */
  readonly kernel6: Uint8Array;
  /** The stack's IPv4 address, routed into the TUN. */
  readonly stack4: Uint8Array;
  /** The stack's IPv6 address, routed into the TUN. */
  readonly stack6: Uint8Array;
  /** The stack's IPv4 address as text, for command lines. */
  readonly stack4Text: string;
  /** The stack's IPv6 address as text, for command lines. */
  readonly stack6Text: string;
  /** Packets the kernel emitted. */
  received = 0;
  /** Packets written into the kernel. */
  sent = 0;
  /** Packets the TUN would not take (queue full). */
  sendDropped = 0;
  readonly #tun: TunDevice;
  readonly #poller = new Poller();
  #reader: Promise<void> = Promise.resolve();
  #closing = false;
  #closed: Promise<void> | null = null;
  #callback: ((p: Uint8Array) => void) | null = null;
  #queue: Uint8Array[] = [];
  #waiter: (() => void) | null = null;

  private constructor(ns: Netns, tun: TunDevice, o: Required<TunPairOptions>) {
    this.ns = ns;
    this.#tun = tun;
    this.ifname = tun.name;
    this.kernel4 = parseIp(o.kernel4.split("/")[0]);
    this.kernel6 = parseIp(o.kernel6.split("/")[0]);
    this.stack4 = parseIp(o.stack4);
    this.stack6 = parseIp(o.stack6);
    this.stack4Text = o.stack4;
    this.stack6Text = o.stack6;
  }

  /** Why a TunPair cannot be made here (no root, no /dev/net/tun…), or null if it can. */
  static unsupported(): Promise<string | null> {
    return namespaceSupport();
  }

  /**
   * Creates the namespace and the TUN, addresses the kernel side, brings it
   * up and starts reading. Everything made is removed again if a step fails.
   */
  static async create(opts: TunPairOptions = {}): Promise<TunPair> {
    const o: Required<TunPairOptions> = {
      prefix: "tunpair",
      kernel4: "10.77.0.1/24",
      kernel6: "fd00:77::1/64",
      stack4: "10.77.0.2",
      stack6: "fd00:77::2",
      mtu: 1280,
      ...opts,
    };
    const ns = await Netns.create(o.prefix);
    let tun: TunDevice | null = null;
    try {
      tun = TunDevice.open(`wtp${crypto.randomUUID().slice(0, 8)}`, { offload: false });
      await run(["ip", "link", "set", "dev", tun.name, "netns", ns.name]);
      // No router solicitations or link-local chatter: only the packets a test causes.
      await ns.exec(["sysctl", "-qw", `net.ipv6.conf.${tun.name}.router_solicitations=0`]);
      await ns.exec(["ip", "link", "set", tun.name, "mtu", String(o.mtu)]);
      await ns.exec(["ip", "addr", "add", o.kernel4, "dev", tun.name]);
      await ns.exec(["ip", "addr", "add", o.kernel6, "dev", tun.name, "nodad"]);
      await ns.exec(["ip", "link", "set", tun.name, "up"]);
      const pair = new TunPair(ns, tun, o);
      pair.#reader = pair.#readLoop();
      return pair;
    } catch (e) {
      tun?.close();
      await ns.delete();
      throw e;
    }
  }

  /** Writes one IP packet into the kernel, as if it came in on the TUN. */
  send(packet: Uint8Array): void {
    if (this.#closing) throw new Error("Cannot send: the TUN pair is closed");
    if (this.#tun.writeBatch([packet], [packet.length], 0, 1) === 1) this.sent++;
    else this.sendDropped++;
  }

  /**
   * Hands every packet the kernel emits to `cb` from now on (packets queued
   * for {@linkcode packets} first). Pass null to queue them again.
   */
  onPacket(cb: ((p: Uint8Array) => void) | null): void {
    this.#callback = cb;
    if (cb === null) return;
    for (const p of this.#queue.splice(0)) cb(p);
  }

  /** The packets the kernel emits (when no callback is set), until the pair is closed. */
  async *packets(): AsyncIterableIterator<Uint8Array> {
    while (true) {
      const p = this.#queue.shift();
      if (p !== undefined) {
        yield p;
        continue;
      }
      if (this.#closing) return;
      await new Promise<void>((r) => this.#waiter = r);
    }
  }

  /**
   * Runs `argv` in the namespace to completion; unlike {@linkcode Netns.exec}
   * a non-zero exit is returned, not thrown.
   */
  async exec(argv: string[], opts: TunPairExecOptions = {}): Promise<RunResult> {
    const wrapped = this.ns.wrap(argv);
    const child = new Deno.Command(wrapped[0], {
      args: wrapped.slice(1),
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, opts.timeoutMs ?? 20_000);
    try {
      if (opts.stdin !== undefined) {
        const w = child.stdin.getWriter();
        await w.write(opts.stdin);
        await w.close();
      }
      const out = await child.output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops reading, closes the TUN and deletes the namespace; safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      this.#poller.wake();
      await this.#reader.catch(() => {});
      this.#waiter?.();
      this.#tun.close();
      this.#poller.close();
      await this.ns.delete();
    })();
    return this.#closed;
  }

  /** {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #readLoop(): Promise<void> {
    const bufs = Array.from({ length: 16 }, () => new Uint8Array(65536));
    const sizes = new Array<number>(16).fill(0);
    while (!this.#closing) {
      const [ready] = await this.#poller.wait([this.#tun.fd], 500);
      if (this.#closing) return;
      if (!ready) continue;
      const n = this.#tun.readBatch(bufs, sizes, 0);
      for (let i = 0; i < n; i++) this.#deliver(bufs[i].slice(0, sizes[i]));
    }
  }

  #deliver(p: Uint8Array): void {
    this.received++;
    if (this.#callback !== null) {
      this.#callback(p);
      return;
    }
    if (this.#queue.length >= 4096) this.#queue.shift(); // a test not reading: keep the newest
    this.#queue.push(p);
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }
}
