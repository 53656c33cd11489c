/**
 * kube/stream.ts: the two streaming calls of a build, with flow control.
 *
 * - openLogStream: `GET .../pods/{pod}/log` through the core's HTTP layer
 *   (kube/rest.ts), answered as the response stream itself, so a dropped connection is an 'error'/'end' the
 *   caller handles (client-node's `Log.log` pipes a web stream and throws an
 *   uncaught `TypeError: terminated` instead; docs/design.md, "Known hazards").
 * - execInPod: `pods/exec` over WebSocket with the `v5.channel.k8s.io`
 *   subprotocol (KEP-4006): one byte of channel (0 stdin, 1 stdout, 2 stderr,
 *   3 status, 255 close) before each message. Unlike client-node's `Exec`,
 *   stdout is written with backpressure (the socket is paused while the
 *   consumer is full) and stdin is sent one acknowledged frame at a time, so a
 *   512 MB tar stream never piles up in memory.
 */
import type { Readable } from 'node:stream';
import WebSocket from 'ws';
import type { V1Status } from '@kubernetes/client-node';
import { KubeApiError, type ExecRequest, type ExecResult, type LogRequest } from './api.ts';
import { serverOf, type KubeConnection } from './connection.ts';
import { networkError, type KubeRest } from './rest.ts';
import { retryAfterMs } from '../base/retry.ts';

/**
 * openLogStream answers the log body of a container as a Readable of bytes.
 * Rejects with KubeApiError for non-200 answers (with the API's message, e.g.
 * `container "build" in pod "x" is waiting to start: PodInitializing`).
 */
export function openLogStream(
  rest: KubeRest,
  req: LogRequest,
  signal: AbortSignal,
): Promise<Readable> {
  return rest.open(`log of ${req.pod}/${req.container}`, {
    path: `/api/v1/namespaces/${encodeURIComponent(req.namespace)}/pods/${encodeURIComponent(req.pod)}/log`,
    query: {
      container: req.container,
      follow: req.follow,
      timestamps: req.timestamps,
      sinceTime: req.sinceTime,
    },
    signal,
  });
}

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE = 255;

/** exitCodeOf reads the exit code from an exec Status (`NonZeroExitCode` cause `ExitCode`). */
export function exitCodeOf(status: V1Status | undefined): number {
  if (!status) return -1;
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const code = Number(cause?.message);
  return Number.isInteger(code) ? code : -1;
}

/**
 * execInPod runs `req.command` in the container and resolves when the remote
 * command has ended, with its exit code (-1 when the API reported an error
 * without one, e.g. the container is not running). stdout/stderr are ended
 * when the command ends. Rejects on connection failures, a connection closed
 * before the command's Status (status 0, code ECONNRESET), and refusals
 * (KubeApiError with the HTTP status of the upgrade, e.g. 403).
 */
export async function execInPod(kc: KubeConnection, req: ExecRequest): Promise<ExecResult> {
  const url = new URL(
    `${serverOfOrThrow(kc).replace(/^http/, 'ws')}/api/v1/namespaces/${encodeURIComponent(req.namespace)}/pods/${encodeURIComponent(req.pod)}/exec`,
  );
  url.searchParams.set('container', req.container);
  for (const arg of req.command) url.searchParams.append('command', arg);
  url.searchParams.set('stdin', String(!!req.stdin));
  url.searchParams.set('stdout', String(!!req.stdout));
  url.searchParams.set('stderr', String(!!req.stderr));
  url.searchParams.set('tty', 'false');
  const opts: WebSocket.ClientOptions = {};
  await kc.applyToHTTPSOptions(opts as Parameters<KubeConnection['applyToHTTPSOptions']>[0]);
  const what = `exec ${req.command[0]} in ${req.pod}/${req.container}`;

  return new Promise<ExecResult>((resolve, reject) => {
    const ws = new WebSocket(url, ['v5.channel.k8s.io'], opts);
    let status: V1Status | undefined;
    let settled = false;
    let paused = false;
    const onAbort = () => ws.terminate();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      req.signal?.removeEventListener('abort', onAbort);
      req.stdout?.end();
      req.stderr?.end();
      if (err) reject(err);
      else {
        const exitCode = exitCodeOf(status);
        resolve({
          exitCode,
          message: status?.message ?? (status ? '' : 'connection closed without a status'),
          status,
        });
      }
    };

    ws.on('unexpected-response', (_r, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let message = Buffer.concat(chunks).toString('utf8');
        try {
          message = (JSON.parse(message) as V1Status).message ?? message;
        } catch {
          // keep the raw body
        }
        const e = new KubeApiError(res.statusCode ?? 0, 'UpgradeFailed', `${what}: ${message}`);
        const after = retryAfterMs(res.headers['retry-after'], Date.now());
        if (after !== undefined) e.retryAfterMs = after;
        settle(e);
      });
    });
    ws.on('error', (err) => settle(networkError(what, err)));
    ws.on('close', () => {
      if (req.signal?.aborted) settle(new KubeApiError(0, 'Aborted', `${what}: aborted`));
      else if (!status) {
        // The API server always ends a finished command with a Status on channel 3: a close
        // without one is a cut connection, and the session may be started again.
        const e = new KubeApiError(
          0,
          'NetworkError',
          `${what}: connection closed without a status`,
        );
        e.code = 'ECONNRESET';
        settle(e);
      } else settle();
    });
    ws.on('message', (data: Buffer) => {
      const channel = data[0];
      const payload = data.subarray(1);
      const sink = channel === STDOUT ? req.stdout : channel === STDERR ? req.stderr : undefined;
      if (sink) {
        if (payload.length && !sink.write(payload) && !paused) {
          paused = true;
          ws.pause();
          sink.once('drain', () => {
            paused = false;
            ws.resume();
          });
        }
      } else if (channel === STATUS) {
        try {
          status = JSON.parse(payload.toString('utf8')) as V1Status;
        } catch {
          status = { status: 'Failure', message: payload.toString('utf8') };
        }
      }
    });
    ws.on('open', () => {
      if (ws.protocol !== 'v5.channel.k8s.io') {
        ws.close();
        settle(
          new KubeApiError(
            0,
            'Protocol',
            `${what}: the API server does not speak v5.channel.k8s.io (Kubernetes >= 1.30 needed)`,
          ),
        );
        return;
      }
      if (req.stdin)
        void pumpStdin(ws, req.stdin).catch((err: Error) =>
          settle(new KubeApiError(0, 'Stdin', `${what}: ${err.message}`)),
        );
    });
  });
}

/** pumpStdin sends stdin one acknowledged frame at a time, then the v5 close frame for channel 0. */
async function pumpStdin(ws: WebSocket, stdin: AsyncIterable<Uint8Array>): Promise<void> {
  const send = (buf: Buffer) =>
    new Promise<void>((resolve, reject) => ws.send(buf, (err) => (err ? reject(err) : resolve())));
  for await (const chunk of stdin) {
    if (ws.readyState !== WebSocket.OPEN) return;
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    await send(Buffer.concat([Buffer.from([STDIN]), b]));
  }
  if (ws.readyState === WebSocket.OPEN) await send(Buffer.from([CLOSE, STDIN]));
}

/** serverOfOrThrow: serverOf, a missing cluster being a KubeApiError. */
function serverOfOrThrow(kc: KubeConnection): string {
  try {
    return serverOf(kc);
  } catch (err) {
    throw new KubeApiError(0, 'NoCluster', (err as Error).message);
  }
}
