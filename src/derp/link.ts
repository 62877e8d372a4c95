/**
 * A DERP connection that stays up: dials, re-dials with capped exponential backoff,
 * honours Restarting, re-sends NotePreferred and WatchConns after each reconnect.
 *
 * @module
 */

import { DERP_WRITE_QUEUE_DEPTH, type DerpClient, type DerpMessage } from "./client.ts";
import { dialDerp, type DialOptions } from "./dial.ts";

/** Options of {@link DerpLink}. */
export interface DerpLinkOptions extends DialOptions {
  /** Server URL, e.g. `https://derp.example.com/derp`. */
  url: string;
  /** Whether this is our home DERP (NotePreferred true). */
  preferred?: boolean;
  /** Subscribe to connection changes after each connect (mesh). */
  watchConns?: boolean;
  /** Called for every message received. */
  onMessage?: (msg: DerpMessage, client: DerpClient) => void;
  /** Called after each successful connect. */
  onConnect?: (client: DerpClient) => void;
  /** Called when a connection ends or a dial fails. */
  onDisconnect?: (err: Error | null) => void;
  /** Log one line per event. */
  logf?: (line: string) => void;
  /** First backoff delay (default 100 ms). */
  minBackoffMs?: number;
  /** Backoff cap (default 5 s, as magicsock). */
  maxBackoffMs?: number;
}

/** Delay before reconnect attempt number `attempt` (0-based), with ±25 % jitter. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/** A self-healing DERP client connection. */
export class DerpLink {
  readonly #opts: DerpLinkOptions;
  #client: DerpClient | null = null;
  #closed = false;
  #preferred: boolean;
  #wakeSleep: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  #droppedBefore = 0;
  /** Packets sent while (re)connecting, written once connected (tailscaled's write channel). */
  #pending: { dst: Uint8Array; packet: Uint8Array }[] = [];
  /** Number of successful connects so far. */
  connects = 0;

  /** Creates the link; call {@link start}. */
  constructor(opts: DerpLinkOptions) {
    this.#opts = opts;
    this.#preferred = opts.preferred ?? false;
  }

  /** Starts connecting in the background. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** The current connection, if up. */
  get client(): DerpClient | null {
    return this.#client;
  }

  /** Whether a connection is up. */
  get connected(): boolean {
    return this.#client !== null && !this.#client.closed;
  }

  /**
   * Queues a packet; returns false when the link is closed. While (re)connecting, up to
   * {@link DERP_WRITE_QUEUE_DEPTH} packets wait and are written once connected, so a
   * node's first WireGuard handshake is not lost to a DERP dial still under way. A full
   * queue drops its oldest packet instead (see {@link DerpClient.enqueue}, counted in
   * {@link dropped}).
   */
  send(dst: Uint8Array, packet: Uint8Array): boolean {
    if (this.#closed) return false;
    const c = this.#client;
    if (c && !c.closed) return c.enqueue(dst, packet);
    if (this.#pending.length >= DERP_WRITE_QUEUE_DEPTH) {
      this.#pending.shift();
      this.#droppedBefore++;
    }
    this.#pending.push({ dst, packet });
    return true;
  }

  /** Packets dropped from a full write queue, over every connection so far. */
  get dropped(): number {
    return this.#droppedBefore + (this.#client?.dropped ?? 0);
  }

  /** Forwards a packet on a mesh link if connected; false when dropped. */
  forward(src: Uint8Array, dst: Uint8Array, packet: Uint8Array): boolean {
    const c = this.#client;
    if (!c || c.closed) return false;
    // A peer that does not drain its socket must not make us buffer without bound.
    if (c.pendingBytes > 4 << 20) return false;
    c.forward(src, dst, packet).catch(() => c.close());
    return true;
  }

  /** Changes whether this is our home DERP; sent now and after every reconnect. */
  setPreferred(preferred: boolean): void {
    this.#preferred = preferred;
    this.#client?.notePreferred(preferred).catch(() => {});
  }

  /** Stops the link and closes the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#pending = [];
    this.#client?.close();
    this.#wakeSleep?.();
    await this.#loop;
  }

  async #sleep(ms: number): Promise<void> {
    if (this.#closed || ms <= 0) return;
    let t: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((r) => {
      this.#wakeSleep = r;
      t = setTimeout(r, ms);
    });
    clearTimeout(t);
    this.#wakeSleep = null;
  }

  async #run(): Promise<void> {
    const o = this.#opts;
    const minMs = o.minBackoffMs ?? 100;
    const maxMs = o.maxBackoffMs ?? 5000;
    const logf = o.logf ?? (() => {});
    let attempt = 0;
    let restartUntil = 0;
    while (!this.#closed) {
      let client: DerpClient;
      try {
        client = await dialDerp(o.url, o);
      } catch (e) {
        if (this.#closed) break;
        o.onDisconnect?.(e as Error);
        const inRestart = Date.now() < restartUntil;
        const delay = inRestart ? Math.min(minMs, 250) : backoffDelay(attempt++, minMs, maxMs);
        logf(`derp link ${o.url}: ${(e as Error).message}; retrying in ${delay} ms`);
        await this.#sleep(delay);
        continue;
      }
      if (this.#closed) {
        client.close();
        break;
      }
      this.#client = client;
      this.connects++;
      for (const p of this.#pending.splice(0)) client.enqueue(p.dst, p.packet);
      attempt = 0;
      restartUntil = 0;
      let err: Error | null = null;
      let restart: { reconnectInMs: number; tryForMs: number } | null = null;
      try {
        if (this.#preferred) await client.notePreferred(true);
        if (o.watchConns) await client.watchConns();
        o.onConnect?.(client);
        for (;;) {
          const m = await client.recv();
          if (m === null) break;
          if (m.type === "restarting") restart = m;
          o.onMessage?.(m, client);
        }
      } catch (e) {
        err = e as Error;
      }
      client.close();
      this.#droppedBefore += client.dropped;
      this.#client = null;
      if (this.#closed) break;
      o.onDisconnect?.(err);
      if (restart) {
        logf(`derp link ${o.url}: server restarting; reconnecting in ${restart.reconnectInMs} ms`);
        restartUntil = Date.now() + restart.reconnectInMs + restart.tryForMs;
        await this.#sleep(restart.reconnectInMs);
      } else {
        const delay = backoffDelay(attempt++, minMs, maxMs);
        logf(
          `derp link ${o.url}: connection lost (${
            err?.message ?? "closed"
          }); reconnecting in ${delay} ms`,
        );
        await this.#sleep(delay);
      }
    }
  }
}
