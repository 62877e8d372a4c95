/**
 * One run of a job at a time: a request while it runs asks for exactly one more run
 * after it (however many requests came), so the newest request is always served by a
 * run that started after it, and two runs never overlap.
 *
 * @module
 */

/** Coalesces requests to run an async job. */
export class Rerunner {
  readonly #job: () => Promise<void>;
  readonly #onError: (e: unknown) => void;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;

  /** Wraps job; onError hears a run that failed (the next run still happens). */
  constructor(job: () => Promise<void>, onError: (e: unknown) => void) {
    this.#job = job;
    this.#onError = onError;
  }

  /** Asks for a run; resolves when the run that serves this request has finished. Never rejects. */
  request(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#job().catch(this.#onError);
      } while (this.#again && !this.#stopped);
    })().finally(() => this.#running = null);
    return this.#running;
  }

  /** Serves no more requests (a run under way finishes). */
  stop(): void {
    this.#stopped = true;
  }
}
