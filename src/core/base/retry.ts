/**
 * retry.ts: the one retry policy of every remote call of the action, the CLI and the dispatcher
 * (Kubernetes, STS, IAM Credentials, GKE, GCS; docs/troubleshooting.md, "Throttling and server
 * errors").
 *
 * - Transient failures are retried: HTTP 429, 500, 502, 503, 504 (and 408), refused or reset
 *   connections, failed TLS handshakes and timeouts. Anything else (400, 401, 403, 404, 409, 422
 *   ...) is thrown at once: retrying cannot change the answer.
 * - Backoff is capped exponential with full jitter: before attempt n+1 the call waits a random
 *   time in [0, min(capMs, baseMs * 2^(n-1))) ("Exponential Backoff And Jitter", AWS
 *   Architecture Blog), so many builds refused at the same moment do not come back together.
 * - `Retry-After` (RFC 9110 section 10.2.3: seconds or an HTTP date), which Kubernetes' API
 *   Priority and Fairness sends with its 429s, is a lower bound of the wait.
 * - Each call has a total budget (default 2 min): a retry whose wait would end past it is not
 *   made, and the last error is thrown.
 *
 * p-retry (used here before) has no per-attempt delay (Retry-After), no full jitter and no
 * injectable clock, so the loop is written once here instead of being configured in many places.
 */
import { systemClock, type Clock } from './report.ts';

/** RetryPolicy: the numbers of the backoff, all in milliseconds. */
export interface RetryPolicy {
  /** Total time one call may take, retries and waits included (default 120 000). */
  budgetMs: number;
  /** Ceiling of the first wait (default 500). */
  baseMs: number;
  /** Largest ceiling of a wait (default 16 000). */
  capMs: number;
  /** Most attempts of one call, the first included (default: no limit but the budget). */
  attempts?: number;
}

/** DEFAULT_RETRY_POLICY: 2 minutes per call, waits up to 0.5 s, 1 s, 2 s ... 16 s. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  budgetMs: 120_000,
  baseMs: 500,
  capMs: 16_000,
};

/**
 * Transient: why a failure is worth another attempt. `status` is the HTTP status (absent for a
 * connection failure, then `code` names it: `ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, ...);
 * `retryAfterMs` is the server's `Retry-After`, when it sent one.
 */
export interface Transient {
  status?: number;
  code?: string;
  retryAfterMs?: number;
}

/** RetryEvent: a retry about to be made: the failure, the wait and the number of the next attempt (from 2). */
export interface RetryEvent {
  what: string;
  /** Who answered, for the line: `API server`, `STS`, `GCS` ... */
  who: string;
  attempt: number;
  delayMs: number;
  transient: Transient;
  error: unknown;
  /** The one line a user sees: `API server answered 429 to create Job x; retrying in 1.3 s (attempt 2)`. */
  line: string;
}

/** RetryOptions: how to classify failures, where retries are told, and the clock. */
export interface RetryOptions {
  /** Who is called, for the line (`API server`, `STS`, `GCS`). */
  who: string;
  /** classify answers why a failure is transient, or undefined to throw it at once. */
  classify: (err: unknown) => Transient | undefined;
  policy?: Partial<RetryPolicy>;
  onRetry?: (event: RetryEvent) => void;
  /** Aborting stops the waiting; the signal's reason (or the last error) is thrown. */
  signal?: AbortSignal;
  clock?: Clock;
  /** A number in [0, 1) (default Math.random), for the jitter. */
  random?: () => number;
}

/** backoffMs: the full-jitter wait before attempt `attempt + 1` (attempt from 1). */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * ceiling);
}

/** retryLine renders a RetryEvent's line (see RetryEvent.line). */
export function retryLine(
  who: string,
  what: string,
  t: Transient,
  delayMs: number,
  attempt: number,
): string {
  const answer =
    t.status !== undefined && t.status > 0
      ? `answered ${t.status} to ${what}`
      : `could not be reached for ${what} (${t.code ?? 'network error'})`;
  return `${who} ${answer}; retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt})`;
}

/**
 * retrying runs `fn` (given the attempt number, from 1) until it resolves, a failure is not
 * transient (classify answers undefined), or the next wait would end past the budget; then it
 * throws the last error. `onRetry` hears about every retry before its wait.
 */
export async function retrying<T>(
  what: string,
  fn: (attempt: number) => Promise<T>,
  o: RetryOptions,
): Promise<T> {
  const policy = { ...DEFAULT_RETRY_POLICY, ...o.policy };
  const clock = o.clock ?? systemClock;
  const random = o.random ?? Math.random;
  const start = clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const t = o.signal?.aborted ? undefined : o.classify(err);
      if (!t) throw err;
      const jitter = backoffMs(attempt, policy, random);
      const delayMs = Math.max(jitter, t.retryAfterMs ?? 0);
      if (attempt >= (policy.attempts ?? Infinity)) throw err;
      if (clock.now() - start + delayMs > policy.budgetMs) throw err;
      const line = retryLine(o.who, what, t, delayMs, attempt + 1);
      o.onRetry?.({
        what,
        who: o.who,
        attempt: attempt + 1,
        delayMs,
        transient: t,
        error: err,
        line,
      });
      await clock.sleep(delayMs, o.signal);
      if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : err;
    }
  }
}

/** TRANSIENT_STATUS: the HTTP answers retried (429, 408 and the 5xx a proxy or overloaded server gives). */
export const TRANSIENT_STATUS: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Error codes of Node (libuv, undici, TLS) that mean "the connection failed; the same request may work later". */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
]);

/**
 * networkCode walks an error and its `cause` chain and answers the code of a transient connection
 * failure (`ECONNREFUSED`, `TLS_HANDSHAKE` for "socket disconnected before secure TLS connection
 * was established", `TIMEOUT` for an AbortSignal.timeout), or undefined.
 */
export function networkCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < 5; depth++) {
    const x = e as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    if (typeof x.code === 'string' && TRANSIENT_CODES.has(x.code)) return x.code;
    if (x.name === 'TimeoutError') return 'TIMEOUT';
    const message = typeof x.message === 'string' ? x.message : '';
    if (/before secure TLS connection was established|TLS handshake/i.test(message))
      return 'TLS_HANDSHAKE';
    const m =
      /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)\b/.exec(
        message,
      );
    if (m) return m[1];
    if (/socket hang up|other side closed|terminated/i.test(message)) return 'ECONNRESET';
    e = x.cause;
  }
  return undefined;
}

/**
 * retryAfterMs parses a `Retry-After` header: delay-seconds or an HTTP date (RFC 9110 section
 * 10.2.3), relative to `now` (epoch ms). Answers undefined when absent or unreadable; never below 0.
 */
export function retryAfterMs(header: string | null | undefined, now: number): number | undefined {
  if (!header) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
