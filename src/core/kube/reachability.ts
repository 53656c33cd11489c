/**
 * kube/reachability.ts: whether the API server (the control plane) answers, and how long a
 * running build rides out an outage (input `api_outage_budget`, docs/troubleshooting.md,
 * "Control-plane outages").
 *
 * Every call of HttpKubeApi tells it whether an answer came (any HTTP status: the server is
 * there) or the connection failed (refused, reset, TLS handshake cut, timeout). A zonal GKE
 * control plane is unreachable for minutes during an upgrade while the pods go on running on
 * their nodes, so once `ride(budget)` was called (the build exists), connection failures are
 * retried until the outage has lasted `budget`; then `signal` aborts with an OutageError, which
 * ends every wait of the build.
 */
import type { Clock } from '../base/report.ts';

/** OutageError: the API server stayed unreachable longer than the budget. */
export class OutageError extends Error {
  override name = 'OutageError';
  /** When the outage began and how long it had lasted (ms) when the budget ran out. */
  readonly since: Date;
  readonly lastedMs: number;
  constructor(message: string, since: Date, lastedMs: number) {
    super(message);
    this.since = since;
    this.lastedMs = lastedMs;
  }
}

/** ReachabilityOptions: the clock, where the two outage lines go, and when an outage is worth a line. */
export interface ReachabilityOptions {
  clock: Clock;
  /** Receives "unreachable since" and "reachable again after" lines. */
  notify: (line: string) => void;
  /** An outage is told once it lasted this long (ms, default 3 000): a single cut connection is not one. */
  announceAfterMs?: number;
}

/** Reachability tracks outages of one API server (see the file comment). */
export class Reachability {
  readonly #o: ReachabilityOptions;
  readonly #controller = new AbortController();
  #budgetMs = 0;
  #downSince: number | undefined;
  #announced = false;
  #lastError = '';
  #timer: NodeJS.Timeout | undefined;
  #outages = 0;
  #longestMs = 0;

  constructor(o: ReachabilityOptions) {
    this.#o = o;
  }

  /** signal aborts (reason: OutageError) once an outage outlasts the budget given to ride(). */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** budgetMs: the outage budget in force (0 before ride()). */
  get budgetMs(): number {
    return this.#budgetMs;
  }

  /** outages: how many outages were told, and the longest (ms). */
  get stats(): { outages: number; longestMs: number } {
    return { outages: this.#outages, longestMs: this.#longestMs };
  }

  /** down: when the current outage began (epoch ms), or undefined while the server answers. */
  get downSince(): number | undefined {
    return this.#downSince;
  }

  /** ride starts riding out outages of up to budgetMs (the build exists and runs on its node). */
  ride(budgetMs: number): void {
    this.#budgetMs = budgetMs;
    if (this.#downSince !== undefined) this.#arm();
  }

  /** reached records an answer of the API server (any HTTP status). */
  reached(): void {
    if (this.#downSince === undefined) return;
    const lasted = this.#o.clock.now() - this.#downSince;
    if (this.#announced) {
      this.#o.notify(
        `The control plane is reachable again after ${seconds(lasted)} unreachable; the build goes on`,
      );
      this.#outages++;
      this.#longestMs = Math.max(this.#longestMs, lasted);
    }
    this.#downSince = undefined;
    this.#announced = false;
    clearTimeout(this.#timer);
  }

  /** unreachable records a failed connection to the API server; `why` is the error's text. */
  unreachable(why: string): void {
    this.#lastError = why;
    if (this.#downSince === undefined) {
      this.#downSince = this.#o.clock.now();
      this.#arm();
    } else this.#check();
  }

  /** #arm schedules the announcement and the budget's end of the current outage. */
  #arm(): void {
    clearTimeout(this.#timer);
    const since = this.#downSince;
    if (since === undefined) return;
    const announceAt = since + (this.#o.announceAfterMs ?? 3000);
    const endAt = this.#budgetMs > 0 ? since + this.#budgetMs : Infinity;
    const next = this.#announced ? endAt : Math.min(announceAt, endAt);
    if (next === Infinity) return;
    this.#timer = setTimeout(() => this.#check(), Math.max(0, next - this.#o.clock.now()) + 5);
    this.#timer.unref();
  }

  #check(): void {
    const since = this.#downSince;
    if (since === undefined || this.#controller.signal.aborted) return;
    const lasted = this.#o.clock.now() - since;
    if (!this.#announced && lasted >= (this.#o.announceAfterMs ?? 3000)) {
      this.#announced = true;
      const budget = this.#budgetMs
        ? `riding it out for up to ${inputForm(this.#budgetMs)} (input "api_outage_budget")`
        : 'retrying';
      this.#o.notify(
        `The control plane is unreachable since ${new Date(since).toISOString()} (${this.#lastError}); ${budget}`,
      );
    }
    if (this.#budgetMs > 0 && lasted >= this.#budgetMs) {
      this.#outages++;
      this.#longestMs = Math.max(this.#longestMs, lasted);
      this.#controller.abort(
        new OutageError(
          `the control plane was unreachable for ${seconds(lasted)} since ${new Date(since).toISOString()}, ` +
            `longer than input "api_outage_budget" (${inputForm(this.#budgetMs)}); last error: ${this.#lastError}`,
          new Date(since),
          lasted,
        ),
      );
      return;
    }
    this.#arm();
  }

  /** close stops the timer (the process may exit). */
  close(): void {
    clearTimeout(this.#timer);
  }
}

/** seconds renders a measured duration: `12.3 s` below a minute, else `10m5s`. */
function seconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : inputForm(ms);
}

/** inputForm renders a duration the way the duration inputs are written: `20s`, `10m`, `1h2m3s`. */
function inputForm(ms: number): string {
  const t = Math.round(ms / 1000);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = t % 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}` || '0s';
}
