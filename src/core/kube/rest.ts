/**
 * kube/rest.ts: the core's thin HTTP layer for the Kubernetes API: one JSON request
 * (`request`) or one streamed answer (`open`: watches and logs), over node:http(s) with one
 * keep-alive connection pool per client. Credentials and TLS options come from a
 * KubeConnection before each request (kube/connection.ts).
 *
 * Errors are KubeApiError (kube/api.ts): an answer other than 2xx carries the HTTP status, the
 * `reason` and `message` of the API server's `Status` body (Kubernetes API concepts, "Responses
 * to errors") and its Retry-After (API Priority and Fairness sends it with 429); a connection
 * that failed is status 0 with its transient code (base/retry.ts networkCode). No retries here:
 * kube/client.ts runs every call under the retry policy. Every request is a node:http client
 * request, so base/http-trace.ts writes its debug line (method, path, status, duration).
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { KubeApiError } from './api.ts';
import { serverOf, type KubeConnection, type RequestTarget } from './connection.ts';
import { networkCode, retryAfterMs } from '../base/retry.ts';

/** Query: query parameters; undefined values are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** RestRequest: one API call. `path` starts with `/api` or `/apis`; `body` is sent as JSON. */
export interface RestRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Query;
  body?: unknown;
  /** Content type of the body (default `application/json`; a merge patch: `application/merge-patch+json`). */
  contentType?: string;
}

/** OpenRequest: a streamed GET (a watch, a log), ended by the server, `signal` or `idleMs`. */
export interface OpenRequest {
  path: string;
  query?: Query;
  signal?: AbortSignal;
  /** Ends the answer with a TimeoutError when no byte came for this long (ms; default: never). */
  idleMs?: number;
}

/** KubeRestOptions: how long a plain call may stay silent (ms, default 60 000) before it fails as ETIMEDOUT. */
export interface KubeRestOptions {
  timeoutMs?: number;
}

/** MAX_ERROR_BODY: how much of an error answer is read for its message (bytes). */
const MAX_ERROR_BODY = 64 * 1024;

/** KubeRest: requests to one API server through one KubeConnection (see the file comment). */
export class KubeRest {
  readonly conn: KubeConnection;
  readonly #timeoutMs: number;
  // One pool per protocol: node:http(s) keys its connections by host and TLS options, so
  // requests with the same CA and client certificate share keep-alive connections.
  readonly #agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 32 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 32 }),
  };

  constructor(conn: KubeConnection, o: KubeRestOptions = {}) {
    this.conn = conn;
    this.#timeoutMs = o.timeoutMs ?? 60_000;
  }

  /** url answers the full URL of a path and query on this API server. */
  url(path: string, query: Query = {}): URL {
    const u = new URL(`${serverOf(this.conn)}${path}`);
    for (const [k, v] of Object.entries(query))
      if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  }

  /** options answers the request options of one request: the connection's TLS and auth, the pool. */
  async options(url: URL, method: string, headers: Record<string, string>): Promise<RequestTarget> {
    const opts: RequestTarget = { method, headers };
    await this.conn.applyToHTTPSOptions(opts);
    // A proxy's agent (kubeconfig proxy-url) stays; otherwise this client's keep-alive pool.
    if (!this.conn.getCurrentCluster()?.proxyUrl)
      opts.agent = url.protocol === 'http:' ? this.#agents['http:'] : this.#agents['https:'];
    return opts;
  }

  /**
   * request sends one call and answers its JSON body (undefined for an empty body). `what`
   * names the call in messages (`create Job ns/kb-1`). Throws KubeApiError (see the file comment).
   */
  async request<T>(what: string, req: RestRequest): Promise<T> {
    const url = this.url(req.path, req.query);
    const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = String(body.length);
    }
    const opts = await this.#optionsOrThrow(what, url, req.method, headers);
    const res = await this.#send(what, url, opts, body, this.#timeoutMs);
    const text = await readAll(what, res, Infinity);
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new KubeApiError(
        res.statusCode ?? 0,
        'BadResponse',
        `${what}: the API server answered ${res.statusCode} with a body that is not JSON`,
      );
    }
  }

  /**
   * open sends a GET and answers the 200 answer as a byte stream, which the caller reads and
   * ends (`signal`, or `destroy()`). Throws KubeApiError for any other answer.
   */
  async open(what: string, req: OpenRequest): Promise<IncomingMessage> {
    const url = this.url(req.path, req.query);
    const opts = await this.#optionsOrThrow(what, url, 'GET', {});
    if (req.signal) opts.signal = req.signal;
    const res = await this.#send(what, url, opts, undefined, undefined);
    if (req.idleMs !== undefined) {
      const idle = req.idleMs;
      res.setTimeout(idle, () => {
        const e = new Error(`${what}: no data for ${idle} ms`);
        e.name = 'TimeoutError';
        res.destroy(e);
      });
    }
    return res;
  }

  /** close closes the idle keep-alive connections; later requests open new ones. */
  close(): void {
    this.#agents['http:'].destroy();
    this.#agents['https:'].destroy();
  }

  /** #optionsOrThrow: options(), a failure to get credentials being a KubeApiError (status 0). */
  async #optionsOrThrow(
    what: string,
    url: URL,
    method: string,
    headers: Record<string, string>,
  ): Promise<RequestTarget> {
    try {
      return await this.options(url, method, headers);
    } catch (err) {
      throw networkError(what, err);
    }
  }

  /**
   * #send sends the request and resolves with a 2xx answer (its body unread); any other answer
   * rejects with the Status it carries. `timeoutMs`: the socket may stay silent this long before
   * the request fails with ETIMEDOUT (until the answer's headers).
   */
  #send(
    what: string,
    url: URL,
    opts: RequestTarget,
    body: Buffer | undefined,
    timeoutMs: number | undefined,
  ): Promise<IncomingMessage> {
    const mod = url.protocol === 'http:' ? http : https;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const r = mod.request(url, opts, (res) => {
        r.setTimeout(0);
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(res);
          return;
        }
        readAll(what, res, MAX_ERROR_BODY).then(
          (text) => reject(statusError(what, status, text, res.headers['retry-after'])),
          reject,
        );
      });
      if (timeoutMs !== undefined) {
        r.setTimeout(timeoutMs, () => {
          const e = new Error(`no answer for ${timeoutMs} ms (ETIMEDOUT)`) as Error & {
            code: string;
          };
          e.code = 'ETIMEDOUT';
          r.destroy(e);
        });
      }
      r.on('error', (err) => reject(networkError(what, err)));
      r.end(body);
    });
  }
}

/**
 * statusError maps an answer other than 2xx to a KubeApiError: the message of its `Status` body
 * (or the body itself, or `HTTP 404`), its reason, and its Retry-After.
 */
export function statusError(
  what: string,
  status: number,
  body: string,
  retryAfter: string | string[] | undefined,
): KubeApiError {
  let reason = '';
  let message = body.trim();
  try {
    const s = JSON.parse(body) as { reason?: unknown; message?: unknown };
    reason = typeof s.reason === 'string' ? s.reason : '';
    message = typeof s.message === 'string' ? s.message : '';
  } catch {
    // not a Status: keep the raw body
  }
  const e = new KubeApiError(status, reason, `${what}: ${message || reason || `HTTP ${status}`}`);
  const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  const after = retryAfterMs(header, Date.now());
  if (after !== undefined) e.retryAfterMs = after;
  return e;
}

/** networkError wraps a connection failure as KubeApiError status 0 with its transient code. */
export function networkError(what: string, err: unknown): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const e = new KubeApiError(0, 'NetworkError', `${what}: ${msg}`);
  const code = networkCode(err);
  if (code) e.code = code;
  return e;
}

/** readAll reads an answer's body as UTF-8, keeping at most `max` bytes. */
function readAll(what: string, res: IncomingMessage, max: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      if (size >= max) return;
      chunks.push(c);
      size += c.length;
    });
    res.on('error', (err) => reject(networkError(what, err)));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
