import http from 'node:http';
import https from 'node:https';
import {
  networkCode,
  retryAfterMs,
  retrying,
  TRANSIENT_STATUS,
  type RetryEvent,
  type RetryPolicy,
  type Transient,
} from '../base/retry.ts';
import type { Clock } from '../base/report.ts';

/** FetchInit: what a Google API call sends (a subset of WHATWG `RequestInit`). */
export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  /** Sent as is: a Buffer/Uint8Array is written without a copy (nodeFetch). */
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

/**
 * FetchAnswer: what a Google API call reads of an answer (a subset of WHATWG `Response`, which
 * fits it): the status, a header, and the whole body as text.
 */
export interface FetchAnswer {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/**
 * FetchLike: one HTTP exchange of a Google API call. nodeFetch by default; tests inject fakes,
 * and Node's global `fetch` fits too.
 */
export type FetchLike = (input: string | URL, init?: FetchInit) => Promise<FetchAnswer>;

// One keep-alive pool per protocol for every Google API call of the process (STS, IAM
// Credentials, GKE, Cloud Storage).
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 32 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 32 }),
};

/**
 * nodeFetch is FetchLike over node:http(s) with keep-alive pools, the runtime's trust store and
 * no proxy (as Node's global fetch). It answers once the headers have come; text() reads the body.
 * Rejects with the request's error (`code` ECONNRESET, ECONNREFUSED, ...) or the signal's reason.
 *
 * Google API calls use it instead of the global fetch: the global fetch loads and compiles
 * Node's bundled undici on first use, about 15 MiB of memory for a handful of JSON calls and
 * uploads (docs/benchmarks.md, "Log relay memory"). Every request still gets its debug line
 * (base/http-trace.ts listens to node:http's diagnostics channels).
 */
export const nodeFetch: FetchLike = (input, init = {}) => {
  const url = typeof input === 'string' ? new URL(input) : input;
  const secure = url.protocol === 'https:';
  // Written whole by end(), so node:http sends it with its Content-Length, not chunked.
  const body = typeof init.body === 'string' ? Buffer.from(init.body) : init.body;
  const headers: Record<string, string> = { ...init.headers };
  return new Promise<FetchAnswer>((resolve, reject) => {
    const opts: http.RequestOptions = {
      method: init.method ?? 'GET',
      headers,
      agent: secure ? agents.https : agents.http,
    };
    if (init.signal) opts.signal = init.signal;
    const req = (secure ? https : http).request(url, opts, (res) => {
      const status = res.statusCode ?? 0;
      resolve({
        status,
        ok: status >= 200 && status < 300,
        headers: {
          get: (name) => {
            const v = res.headers[name.toLowerCase()];
            return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
          },
        },
        text: () =>
          new Promise<string>((done, fail) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
            res.on('error', fail);
          }),
      });
    });
    req.on('error', reject);
    req.end(body);
  });
};

/**
 * RetryOptions: the retry policy of Google API calls (base/retry.ts: capped exponential backoff
 * with full jitter, Retry-After honoured, 2 min per call), where each retry is told, and the
 * clock (tests).
 */
export interface RetryOptions {
  policy?: Partial<RetryPolicy>;
  onRetry?: (event: RetryEvent) => void;
  clock?: Clock;
  random?: () => number;
}
/**
 * GoogleApiError is a failed call to a Google API. `step` names the protocol
 * step (`STS token exchange`, `GKE clusters.get`, ...), `status` is the HTTP
 * status (0 for a network error) and `detail` is Google's own error text. The
 * message never contains a credential: every secret the caller knows is
 * replaced by `***` before the message is built.
 */
export class GoogleApiError extends Error {
  readonly step: string;
  readonly status: number;
  readonly detail: string;
  /** The server's Retry-After, in ms, when it sent one (429, 503). */
  retryAfterMs?: number;
  /** For a network error (status 0): the transient code (base/retry.ts networkCode), if any. */
  code?: string;
  constructor(step: string, status: number, detail: string, hint?: string) {
    const where = status ? `HTTP ${status}` : 'network error';
    super(`${step} failed: ${where}: ${detail}${hint ? `; ${hint}` : ''}`);
    this.name = 'GoogleApiError';
    this.step = step;
    this.status = status;
    this.detail = detail;
  }
}

/**
 * googleErrorText extracts the human part of a Google error body: the AIP-193
 * shape `{"error": {"code", "message", "status"}}` used by IAM Credentials,
 * GKE and Cloud Storage, or the OAuth 2.0 shape `{"error", "error_description"}`
 * (RFC 6749 section 5.2) used by STS. Other bodies are returned trimmed and
 * cut to 500 characters.
 */
export function googleErrorText(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && 'error' in parsed) {
      const error = (parsed as { error: unknown; error_description?: unknown }).error;
      if (error && typeof error === 'object') {
        const { message, status } = error as { message?: unknown; status?: unknown };
        const text = typeof message === 'string' ? message : JSON.stringify(error);
        return typeof status === 'string' ? `${status}: ${text}` : text;
      }
      const description = (parsed as { error_description?: unknown }).error_description;
      if (typeof error === 'string') {
        return typeof description === 'string' ? `${error}: ${description}` : error;
      }
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  const text = body.trim().replace(/\s+/g, ' ');
  return text ? text.slice(0, 500) : '(empty response body)';
}

/** redact returns text with every non-empty secret replaced by `***`. */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret) out = out.split(secret).join('***');
  }
  return out;
}

/** isRetryableStatus is true for HTTP 408, 429, 500, 502, 503 and 504, which Google asks clients to retry with backoff. */
export function isRetryableStatus(status: number): boolean {
  return TRANSIENT_STATUS.has(status);
}

/** googleTransient classifies a GoogleApiError for the retry policy: network errors and retryable statuses. */
export function googleTransient(err: unknown): Transient | undefined {
  if (!(err instanceof GoogleApiError)) return undefined;
  if (err.status === 0) return { code: err.code ?? 'network error' };
  if (!isRetryableStatus(err.status)) return undefined;
  return err.retryAfterMs !== undefined
    ? { status: err.status, retryAfterMs: err.retryAfterMs }
    : { status: err.status };
}

/** whoOf names the service of a step for retry lines: `STS token exchange` -> `STS`. */
function whoOf(step: string): string {
  return /^(STS|GCS|GKE|IAM Credentials)/.exec(step)?.[1] ?? 'Google API';
}

/**
 * withRetry runs `attempt` under the one retry policy (base/retry.ts) while it throws a
 * GoogleApiError with status 0 (network error) or a retryable status; any other error is thrown
 * at once. `step` names the call in the retry line.
 */
export async function withRetry<T>(
  attempt: () => Promise<T>,
  retry: RetryOptions = {},
  step = 'Google API call',
): Promise<T> {
  return retrying(step, attempt, {
    who: whoOf(step),
    classify: googleTransient,
    ...(retry.policy ? { policy: retry.policy } : {}),
    ...(retry.onRetry ? { onRetry: retry.onRetry } : {}),
    ...(retry.clock ? { clock: retry.clock } : {}),
    ...(retry.random ? { random: retry.random } : {}),
  });
}

/** JsonRequest describes one JSON API call for requestJson. */
export interface JsonRequest {
  /** Protocol step named in errors, e.g. `STS token exchange`. */
  step: string;
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Request body, sent as is (set the content type in headers). */
  body?: string;
  /** Secrets that must not appear in an error message. */
  secrets?: ReadonlyArray<string | undefined>;
  /** Extra advice appended to the message for a status, e.g. which permission is missing. */
  hint?: (status: number) => string | undefined;
  fetch?: FetchLike;
  retry?: RetryOptions;
}

/** REQUEST_TIMEOUT_MS bounds one HTTP exchange (request, answer and its body): a stalled connection is retried instead of hanging a build. */
export const REQUEST_TIMEOUT_MS = 5 * 60_000;

/**
 * exchange performs one HTTP request and reads the whole answer as text
 * within REQUEST_TIMEOUT_MS. A network error or timeout becomes a
 * GoogleApiError with status 0 (retryable by withRetry), secrets redacted.
 */
export async function exchange(
  doFetch: FetchLike,
  url: string,
  init: FetchInit,
  step: string,
  secrets: ReadonlyArray<string | undefined>,
): Promise<{ response: FetchAnswer; text: string }> {
  try {
    const response = await doFetch(url, {
      ...init,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return { response, text: await response.text() };
  } catch (error) {
    const cause =
      error instanceof Error ? (error.cause instanceof Error ? error.cause : error) : undefined;
    const e = new GoogleApiError(
      step,
      0,
      redact(`${cause?.message ?? String(error)} (${url})`, secrets),
    );
    const code = networkCode(error);
    if (code) e.code = code;
    throw e;
  }
}

/**
 * requestJson performs one JSON API call with retries (withRetry) and returns
 * the parsed 2xx response body. Throws GoogleApiError with the step, the HTTP
 * status and Google's error text (googleErrorText), secrets redacted.
 */
export async function requestJson<T>(req: JsonRequest): Promise<T> {
  const secrets = req.secrets ?? [];
  return withRetry(
    async () => {
      const { response, text } = await exchange(
        req.fetch ?? nodeFetch,
        req.url,
        { method: req.method, headers: req.headers, body: req.body },
        req.step,
        secrets,
      );
      if (!response.ok) {
        const detail = redact(googleErrorText(text), secrets);
        throw withRetryAfter(
          new GoogleApiError(req.step, response.status, detail, req.hint?.(response.status)),
          response,
        );
      }
      try {
        return JSON.parse(text) as T;
      } catch {
        const detail = `response is not JSON: ${redact(googleErrorText(text), secrets)}`;
        throw new GoogleApiError(req.step, response.status, detail);
      }
    },
    req.retry,
    req.step,
  );
}

/** withRetryAfter copies a response's Retry-After (base/retry.ts retryAfterMs) onto the error. */
export function withRetryAfter(e: GoogleApiError, response: FetchAnswer): GoogleApiError {
  const after = retryAfterMs(response.headers.get('retry-after'), Date.now());
  if (after !== undefined) e.retryAfterMs = after;
  return e;
}
