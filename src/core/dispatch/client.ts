// client.ts: a client of the dispatcher's HTTP API (docs/dispatcher.md) for the action's
// `dispatch` mode and the CLI: a fresh GitHub OIDC token per call, retries with backoff on
// 429, 5xx and network failures, and refusals as DispatcherError with the server's reason.
import { decodeJwt } from 'jose';
import pRetry, { AbortError } from 'p-retry';
import type { DispatchBody } from './request.ts';
import type { CancelResult, DispatchStatus } from './protocol.ts';

/** DispatcherError is an answer other than 2xx: the HTTP status and the JSON refusal. */
export class DispatcherError extends Error {
  readonly status: number;
  readonly body: { error?: string; reason?: string; rule?: string; field?: string; code?: string };
  constructor(status: number, body: DispatcherError['body'], what: string) {
    const detail = [
      body.rule && `rule ${body.rule}`,
      body.field && `field ${body.field}`,
      body.code,
    ]
      .filter(Boolean)
      .join(', ');
    super(
      `${what}: HTTP ${status} ${body.error ?? ''}${detail ? ` (${detail})` : ''}: ${body.reason ?? 'no reason given'}`,
    );
    this.name = 'DispatcherError';
    this.status = status;
    this.body = body;
  }
}

/** CreateAnswer is the 202 answer of POST: the status plus how many Jobs this call created. */
export type CreateAnswer = DispatchStatus & { created: number; existing: number };

/** DispatcherClientOptions: the dispatcher's URL, a token source, retry tuning, fetch for tests. */
export interface DispatcherClientOptions {
  /** url is the dispatcher's base URL (also the audience of the tokens). */
  url: string;
  /** token answers a GitHub OIDC token for the audience `url` (the action: core.getIDToken). */
  token: (audience: string) => Promise<string>;
  retries?: number;
  minTimeoutMs?: number;
  fetch?: typeof fetch;
}

/** DispatcherClient calls the dispatcher; every method throws DispatcherError on a refusal. */
export class DispatcherClient {
  readonly #o: DispatcherClientOptions;
  readonly #base: string;
  #cached: { token: string; exp: number } | undefined;

  constructor(o: DispatcherClientOptions) {
    this.#o = o;
    this.#base = o.url.replace(/\/+$/, '');
  }

  /** create sends `POST /v1/dispatches`; retrying it is safe (the same request finds the same builds). */
  create(body: DispatchBody): Promise<CreateAnswer> {
    return this.#call('POST', '/v1/dispatches', 'create the dispatch', body);
  }

  /** status sends `GET /v1/dispatches/{id}` (which also moves the dispatch on). */
  status(id: string): Promise<DispatchStatus> {
    return this.#call('GET', `/v1/dispatches/${encodeURIComponent(id)}`, `read dispatch ${id}`);
  }

  /** cancel sends `DELETE /v1/dispatches/{id}`. */
  cancel(id: string): Promise<CancelResult> {
    return this.#call(
      'DELETE',
      `/v1/dispatches/${encodeURIComponent(id)}`,
      `cancel dispatch ${id}`,
    );
  }

  /**
   * #token reuses a token while it has more than a minute left (its `exp`), so a long wait does
   * not ask the runner for a new one every few seconds; an undecodable token is never reused.
   */
  async #token(): Promise<string> {
    const now = Date.now() / 1000;
    if (this.#cached && this.#cached.exp - now > 60) return this.#cached.token;
    const token = await this.#o.token(this.#o.url);
    try {
      const { exp } = decodeJwt(token);
      this.#cached = typeof exp === 'number' ? { token, exp } : undefined;
    } catch {
      this.#cached = undefined;
    }
    return token;
  }

  async #call<T>(method: string, path: string, what: string, body?: unknown): Promise<T> {
    const fetchFn = this.#o.fetch ?? globalThis.fetch;
    return pRetry(
      async () => {
        const token = await this.#token();
        let res: Response;
        try {
          res = await fetchFn(`${this.#base}${path}`, {
            method,
            headers: {
              authorization: `Bearer ${token}`,
              accept: 'application/json',
              ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
            signal: AbortSignal.timeout(60_000),
          });
        } catch (err) {
          throw new Error(`${what}: ${this.#base} cannot be reached: ${(err as Error).message}`, {
            cause: err,
          });
        }
        const text = await res.text();
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = { reason: text.slice(0, 300) };
        }
        if (res.ok) return json as T;
        const err = new DispatcherError(res.status, json as DispatcherError['body'], what);
        if (res.status === 401) this.#cached = undefined;
        if (res.status === 429 || res.status >= 500) throw err;
        throw new AbortError(err);
      },
      { retries: this.#o.retries ?? 4, minTimeout: this.#o.minTimeoutMs ?? 1000, randomize: true },
    );
  }
}
