// http.ts: the small HTTP toolkit shared by every stand-in: listening on
// 127.0.0.1, JSON bodies and answers, error shapes, and request logging that
// never prints a token.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Handler answers one request; a thrown HttpError becomes its answer. */
export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

/** Logger receives one line per request (never a token) or event. */
export type Logger = (line: string) => void;

/**
 * HttpError is a protocol-level refusal: status, JSON body (already in the
 * shape of the API that answers) and optional headers.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Record<string, string>;
  constructor(status: number, body: unknown, headers: Record<string, string> = {}) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/**
 * googleError builds the error answer of Google's JSON APIs
 * (https://cloud.google.com/apis/design/errors#http_mapping):
 * `{"error":{"code":403,"message":"...","status":"PERMISSION_DENIED",...}}`.
 * `extra` adds fields such as `errors` (GCS) or `details` (IAM).
 */
export function googleError(
  code: number,
  status: string,
  message: string,
  extra: Record<string, unknown> = {},
): HttpError {
  return new HttpError(code, { error: { code, message, status, ...extra } });
}

/** Listening is a started server and its base URL (`http://127.0.0.1:PORT`). */
export interface Listening {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * listen serves `handler` on 127.0.0.1:port (0 = a free port), logging
 * `name METHOD /path?query STATUS ms` lines with secret query values masked.
 */
export async function listen(
  name: string,
  port: number,
  handler: Handler,
  log: Logger,
): Promise<Listening> {
  const server = createServer((req, res) => {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.on('finish', () => {
      log(`${name} ${req.method} ${redactedPath(url)} ${res.statusCode} ${Date.now() - started}ms`);
    });
    handler(req, res, url).catch((err: unknown) => {
      if (err instanceof HttpError) {
        if (!res.headersSent) sendJson(res, err.status, err.body, err.headers);
        else res.destroy();
        return;
      }
      log(`${name} ${req.method} ${url.pathname} failed: ${errorText(err)}`);
      if (!res.headersSent) {
        sendJson(res, 500, {
          error: { code: 500, message: 'lab stand-in error', status: 'INTERNAL' },
        });
      } else {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** SECRET_QUERY_KEYS are query parameters whose values are never logged. */
const SECRET_QUERY_KEYS = new Set(['upload_id', 'access_token', 'token', 'key', 'subject_token']);

/** redactedPath renders a URL's path and query for logs, masking secret values. */
export function redactedPath(url: URL): string {
  const q = new URLSearchParams();
  for (const [k, v] of url.searchParams) q.append(k, SECRET_QUERY_KEYS.has(k) ? '***' : v);
  const qs = q.toString();
  return qs === '' ? url.pathname : `${url.pathname}?${qs}`;
}

/** sendJson answers with a JSON body. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** readBody reads a whole (small) request body; 413 past `limit` bytes. */
export async function readBody(req: IncomingMessage, limit = 1 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      throw googleError(413, 'INVALID_ARGUMENT', `request body larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * readJsonObject reads a JSON object body (an empty body is `{}`); a body
 * that is not a JSON object answers `invalid` (whatever `invalid` builds).
 */
export async function readJsonObject(
  req: IncomingMessage,
  invalid: (why: string) => HttpError,
): Promise<Record<string, unknown>> {
  const text = (await readBody(req)).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid(`invalid JSON payload: ${errorText(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('invalid JSON payload: want a JSON object');
  }
  return value as Record<string, unknown>;
}

/** bearerToken returns the token of `Authorization: Bearer T`, or undefined. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** errorText is a one-line description of anything thrown. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
