/**
 * derper's `/bootstrap-dns`: addresses of a few host names (the control server,
 * say), resolved by the relay every 10 minutes, for Tailscale clients whose own
 * DNS is broken. GET returns the published names as JSON `{"name": ["ip", …]}`;
 * `?q=name` for an unpublished name returns just that entry, else the published
 * set, as derper does.
 *
 * @module
 */

/** Looks a name up; resolves to its addresses (both families), [] when it has none. */
export type BootstrapLookup = (name: string) => Promise<string[]>;

/** How often the names are resolved again (derper: 10 minutes). */
export const BOOTSTRAP_REFRESH_MS = 10 * 60_000;

/** The system resolver, A and AAAA. */
const systemBootstrapLookup: BootstrapLookup = async (name): Promise<string[]> => {
  const [a, aaaa] = await Promise.all([
    Deno.resolveDns(name, "A").catch(() => [] as string[]),
    Deno.resolveDns(name, "AAAA").catch(() => [] as string[]),
  ]);
  return [...a, ...aaaa];
};

/** The bootstrap DNS table of a relay. */
export class BootstrapDns {
  readonly #published: string[];
  readonly #unpublished: string[];
  readonly #lookup: BootstrapLookup;
  readonly #logf: (line: string) => void;
  #publishedIps = new Map<string, string[]>();
  #unpublishedIps = new Map<string, string[]>();
  #publishedJson = "{}";
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Requests answered. */
  requests = 0;

  /** Names to publish, names to answer only when asked for, and how to resolve them. */
  constructor(opts: {
    published: string[];
    unpublished?: string[];
    lookup?: BootstrapLookup;
    logf?: (line: string) => void;
  }) {
    this.#published = opts.published;
    this.#unpublished = opts.unpublished ?? [];
    this.#lookup = opts.lookup ?? systemBootstrapLookup;
    this.#logf = opts.logf ?? (() => {});
  }

  /** Whether any names are configured. */
  get enabled(): boolean {
    return this.#published.length + this.#unpublished.length > 0;
  }

  /** Resolves every name once now, then every {@link BOOTSTRAP_REFRESH_MS}. */
  async start(): Promise<void> {
    if (!this.enabled) return;
    await this.refresh();
    if (this.#closed) return;
    this.#timer = setInterval(() => void this.refresh(), BOOTSTRAP_REFRESH_MS);
  }

  /** Stops refreshing (also a first refresh still under way). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  /** Resolves every name; a name that fails keeps no entry (and is logged). */
  async refresh(): Promise<void> {
    const [pub, unpub] = await Promise.all([
      this.#resolveAll(this.#published),
      this.#resolveAll(this.#unpublished),
    ]);
    this.#publishedIps = pub;
    this.#unpublishedIps = unpub;
    this.#publishedJson = JSON.stringify(Object.fromEntries(pub), null, "\t");
  }

  /** The response body for a request with query parameter `q` (null when absent). */
  respond(q: string | null): string {
    this.requests++;
    const ips = q ? this.#unpublishedIps.get(q) : undefined;
    if (ips && ips.length > 0) return JSON.stringify({ [q!]: ips }, null, "\t");
    return this.#publishedJson;
  }

  async #resolveAll(names: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    await Promise.all(names.map(async (name) => {
      try {
        const ips = shuffle(await this.#lookup(name));
        if (ips.length > 0) out.set(name, ips);
        else this.#logf(`bootstrap DNS lookup ${name}: no addresses`);
      } catch (e) {
        this.#logf(`bootstrap DNS lookup ${name}: ${(e as Error).message}`);
      }
    }));
    return new Map([...out].sort(([a], [b]) => a < b ? -1 : 1));
  }
}

/** Spreads clients over the addresses, as derper shuffles them on each refresh. */
function shuffle(xs: string[]): string[] {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
