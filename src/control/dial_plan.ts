/**
 * Where the TS2021 upgrade is tried and in what order, and the race between the
 * tries. As tailscaled's controlhttp: a control URL without a port is tried over
 * plain HTTP on port 80 first (Noise needs no TLS), and over HTTPS on 443 half a
 * second later or as soon as port 80 fails; the first to finish the whole dial wins
 * and every other attempt is cancelled, or closed if it completes afterwards.
 *
 * @module
 */

/** Start the HTTPS attempt this long after the HTTP one (controlhttp httpsFallbackDelay). */
export const HTTPS_FALLBACK_DELAY_MS = 500;

/** Where one `POST /ts2021` upgrade request is sent. */
export interface Ts2021Target {
  /** Whether to dial TLS. */
  tls: boolean;
  /** Host to dial, with IPv6 brackets removed. */
  hostname: string;
  /** TCP port. */
  port: number;
  /** The `Host:` header value. */
  hostHeader: string;
  /** Names the server in error messages, e.g. `https://ctl.example`. */
  origin: string;
}

/** Works out where `POST /ts2021` goes for a control URL, as the URL itself says. */
export function ts2021Target(controlUrl: string): Ts2021Target {
  let u: URL;
  try {
    u = new URL(controlUrl);
  } catch {
    throw new TypeError(`Cannot use control URL ${JSON.stringify(controlUrl)}: not a URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new TypeError(`Cannot use control URL ${controlUrl}: scheme must be http or https`);
  }
  const tls = u.protocol === "https:";
  const port = u.port === "" ? (tls ? 443 : 80) : Number(u.port);
  const hostname = u.hostname.replace(/^\[(.*)\]$/, "$1");
  return { tls, hostname, port, hostHeader: u.host, origin: u.origin };
}

/** The same host over the other scheme on that scheme's default port. */
function onDefaultPort(t: Ts2021Target, tls: boolean): Ts2021Target {
  const host = t.hostname.includes(":") ? `[${t.hostname}]` : t.hostname;
  const scheme = tls ? "https" : "http";
  return {
    tls,
    hostname: t.hostname,
    port: tls ? 443 : 80,
    hostHeader: host,
    origin: `${scheme}://${host}`,
  };
}

/** Loopback, RFC 1918, fc00::/7 or "localhost": no public certificate can exist for it. */
export function isPrivateHost(host: string): boolean {
  if (host === "localhost") return true;
  const v4 = host.match(/^(\d+)\.(\d+)\.\d+\.\d+$/);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168);
  }
  const h = host.toLowerCase();
  return h === "::1" || /^f[cd][0-9a-f]{0,2}:/.test(h);
}

/**
 * The attempts for a control URL, in order (tailscaled control/ts2021 NewClient):
 * an explicit https port is used alone; an explicit http port is tried first, then
 * HTTPS on 443 unless the host is private; without a port, HTTP on 80 and then (for
 * https URLs, and http URLs with a public host) HTTPS on 443.
 */
export function ts2021Plan(controlUrl: string): Ts2021Target[] {
  const t = ts2021Target(controlUrl);
  const explicitPort = new URL(controlUrl).port !== "";
  if (t.tls && explicitPort) return [t];
  const http = t.tls ? onDefaultPort(t, false) : t;
  if (!t.tls && isPrivateHost(t.hostname)) return [http];
  return [http, t.tls ? t : onDefaultPort(t, true)];
}

/**
 * Runs `attempt` for each target — the first now, each next one `delayMs` after the
 * previous started or as soon as it failed — and settles with the first success.
 * The others are aborted through their signal; one that succeeds anyway is handed to
 * `discard`. If all fail, rejects with the error of `preferred` (the target the URL
 * names), or the first.
 */
export function raceAttempts<T>(
  targets: Ts2021Target[],
  attempt: (target: Ts2021Target, signal: AbortSignal) => Promise<T>,
  opts: { signal: AbortSignal; delayMs?: number; discard: (late: T) => void; preferred?: number },
): Promise<T> {
  const delayMs = opts.delayMs ?? HTTPS_FALLBACK_DELAY_MS;
  return new Promise<T>((resolve, reject) => {
    const ctls = targets.map(() => new AbortController());
    const errors: unknown[] = [];
    let started = 0, failed = 0, done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = () => {
      done = true;
      clearTimeout(timer);
      opts.signal.removeEventListener("abort", onAbort);
    };
    const onAbort = () => ctls.forEach((c) => c.abort(opts.signal.reason));
    opts.signal.addEventListener("abort", onAbort, { once: true });
    const startNext = () => {
      clearTimeout(timer);
      if (done || started >= targets.length) return;
      const i = started++;
      if (opts.signal.aborted) ctls[i].abort(opts.signal.reason);
      attempt(targets[i], ctls[i].signal).then(
        (v) => {
          if (done) return opts.discard(v);
          stop();
          ctls.forEach((c, j) => j !== i && c.abort(new Error("another attempt won")));
          resolve(v);
        },
        (e) => {
          errors[i] = e;
          failed++;
          if (done) return;
          if (failed === targets.length) {
            stop();
            reject(errors[opts.preferred ?? 0] ?? errors[0]);
          } else if (i === started - 1) startNext();
        },
      );
      if (started < targets.length) timer = setTimeout(startNext, delayMs);
    };
    startNext();
  });
}
