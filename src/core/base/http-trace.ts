/**
 * http-trace.ts: one debug line per HTTP request the process makes (Kubernetes,
 * Google APIs, Cloud Storage, the dispatcher), like google-github-actions/auth's
 * request logging: method, origin and path, status and duration.
 *
 * It listens on Node's diagnostics channels rather than wrapping each client:
 * undici (the `undici` package that `@kubernetes/client-node` uses, and Node's
 * own `fetch`) publishes `undici:request:create`, `undici:request:headers` and
 * `undici:request:error` (undici docs, "Diagnostics Channel"); `node:http`
 * publishes `http.client.request.start`, `http.client.response.finish` and
 * `http.client.request.error` (Node.js docs, "Diagnostics Channel", built-in
 * channels), which covers exec's WebSocket upgrade request.
 *
 * Never a secret: headers (where tokens travel) are not read, the query string
 * is reduced to its parameter names (a resumable upload's `upload_id` or a
 * signed URL's signature is a credential), and user info in an origin is
 * dropped.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';

/** HttpTraceOptions: where lines go, and the clock for durations (ms; default performance.now). */
export interface HttpTraceOptions {
  debug: (line: string) => void;
  now?: () => number;
}

/**
 * safeUrl answers `origin + path` without user info or query values:
 * `https://h/api/v1/pods?labelSelector&watch`. Anything unparsable answers
 * `(unparsable URL)`.
 */
export function safeUrl(origin: string, pathAndQuery: string): string {
  try {
    const u = new URL(pathAndQuery, origin);
    const keys = [...new Set(u.searchParams.keys())];
    return `${u.protocol}//${u.host}${u.pathname}${keys.length ? `?${keys.join('&')}` : ''}`;
  } catch {
    return '(unparsable URL)';
  }
}

interface UndiciRequest {
  origin?: string | URL;
  method?: string;
  path?: string;
}
interface HttpRequest {
  method?: string;
  host?: string;
  protocol?: string;
  path?: string;
  getHeader?(name: string): unknown;
}

/**
 * traceHttp subscribes to the channels above and calls `debug` once per
 * request when its response headers arrive (`GET https://h/p -> 200 in 12 ms`)
 * or when it fails (`GET https://h/p -> error ECONNRESET after 5 ms`).
 * Answers the function that unsubscribes.
 */
export function traceHttp(o: HttpTraceOptions): () => void {
  const now = o.now ?? (() => performance.now());
  const started = new WeakMap<object, { what: string; at: number }>();
  const ms = (at: number) => `${Math.round(now() - at)} ms`;
  const errorText = (error: unknown) =>
    (error as { code?: unknown })?.code
      ? String((error as { code: unknown }).code)
      : error instanceof Error
        ? error.name
        : 'unknown';

  const begin = (request: object, method: string | undefined, url: string) =>
    started.set(request, { what: `${method ?? 'GET'} ${url}`, at: now() });
  /** end writes the line of a request that answered (status) or failed (error). */
  const end = (m: unknown) => {
    const { request, response, error } = m as {
      request: object;
      response?: { statusCode?: number };
      error?: unknown;
    };
    const s = started.get(request);
    if (!s) return;
    started.delete(request);
    o.debug(
      response
        ? `${s.what} -> ${response.statusCode ?? 0} in ${ms(s.at)}`
        : `${s.what} -> error ${errorText(error)} after ${ms(s.at)}`,
    );
  };
  const handlers: [string, (message: unknown) => void][] = [
    [
      'undici:request:create',
      (m) => {
        const r = (m as { request: UndiciRequest }).request;
        begin(r, r.method, safeUrl(String(r.origin ?? ''), r.path ?? '/'));
      },
    ],
    ['undici:request:headers', end],
    ['undici:request:error', end],
    [
      'http.client.request.start',
      (m) => {
        const r = (m as { request: HttpRequest }).request;
        // The Host header carries the port, which ClientRequest's `host` lacks.
        const host = r.getHeader?.('host');
        const origin = `${r.protocol ?? 'http:'}//${typeof host === 'string' ? host : (r.host ?? '')}`;
        begin(r, r.method, safeUrl(origin, r.path ?? '/'));
      },
    ],
    ['http.client.response.finish', end],
    ['http.client.request.error', end],
  ];
  for (const [name, fn] of handlers) subscribe(name, fn);
  return () => {
    for (const [name, fn] of handlers) unsubscribe(name, fn);
  };
}
