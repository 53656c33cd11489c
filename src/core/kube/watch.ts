/**
 * kube/watch.ts: a list-then-watch loop that survives the ways a watch ends.
 *
 * A watch is a GET with `watch=true` whose answer is one JSON event per line,
 * `{"type":"ADDED","object":{...}}` (Kubernetes API concepts, "Efficient
 * detection of changes"), read through the core's HTTP layer (kube/rest.ts).
 * The API server ends every watch after `timeoutSeconds` or when it restarts,
 * and a resourceVersion that is too old answers an ERROR event with a 410
 * Status. watchLoop re-watches from the last resourceVersion it saw (bookmarks
 * included), and re-lists after 410, reporting objects that vanished meanwhile
 * as DELETED. A watch silent for `timeoutSeconds` + 30 s (a half-open
 * connection) is ended by the client and renewed the same way.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { WatchEventType } from './api.ts';
import type { KubeRest } from './rest.ts';
import { backoffMs, DEFAULT_RETRY_POLICY } from '../base/retry.ts';

/** WatchLoopOptions: what to list and watch, and where events go. */
export interface WatchLoopOptions<T extends KubernetesObject> {
  /** Collection path, e.g. `/api/v1/namespaces/default/pods`. */
  path: string;
  labelSelector: string;
  list: () => Promise<{ items: T[]; resourceVersion: string }>;
  onEvent: (type: WatchEventType, obj: T) => void;
  signal: AbortSignal;
  /**
   * Server-side watch timeout, seconds (default 25): a quiet watch ends cleanly on
   * the server's side and is renewed from its resourceVersion.
   */
  timeoutSeconds?: number;
  /** Called with each failure before a retry (for diagnostics and reachability). */
  onRetry?: (err: unknown, attempt: number) => void;
  /** Called when the API server answered (a list, a watch event, a watch's clean end). */
  onAnswer?: () => void;
}

/** sleep resolves after ms, or at once when the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * watchLoop lists, then watches, until `signal` aborts; it never throws for
 * transient failures (network errors, 429 and 5xx are retried with capped
 * exponential backoff and full jitter, up to 10 s). It throws when the list
 * itself is refused (401/403/404), since retrying cannot help; a list that
 * `list` gave up on (its own retry budget) is tried again.
 */
export async function watchLoop<T extends KubernetesObject>(
  rest: KubeRest,
  opts: WatchLoopOptions<T>,
): Promise<void> {
  const { signal } = opts;
  const known = new Set<string>();
  let resourceVersion = '';
  let needList = true;
  let attempt = 0;
  while (!signal.aborted) {
    try {
      if (needList) {
        const { items, resourceVersion: rv } = await opts.list();
        const present = new Set(items.map((o) => o.metadata?.name ?? ''));
        for (const name of known) {
          if (!present.has(name)) opts.onEvent('DELETED', { metadata: { name } } as T);
        }
        known.clear();
        for (const o of items) {
          known.add(o.metadata?.name ?? '');
          opts.onEvent('ADDED', o);
        }
        resourceVersion = rv;
        needList = false;
        opts.onAnswer?.();
      }
      // The API server answered the watch: a quiet watch after an outage tells it at once,
      // not when it ends (timeoutSeconds) or its first event comes.
      const answered = () => {
        if (attempt > 0) opts.onAnswer?.();
      };
      const result = await watchOnce(rest, opts, resourceVersion, answered, (type, obj) => {
        if (attempt > 0) {
          attempt = 0;
          opts.onAnswer?.();
        }
        const name = obj.metadata?.name ?? '';
        if (type === 'DELETED') known.delete(name);
        else known.add(name);
        opts.onEvent(type, obj);
      });
      resourceVersion = result.resourceVersion || resourceVersion;
      if (result.gone) needList = true;
      if (attempt > 0) opts.onAnswer?.();
      attempt = 0;
    } catch (err) {
      const e = err as { code?: unknown; statusCode?: unknown; status?: unknown };
      const code = [e.code, e.statusCode, e.status].find((c) => typeof c === 'number');
      if (needList && (code === 401 || code === 403 || code === 404)) throw err;
      attempt++;
      opts.onRetry?.(err, attempt);
      // Capped exponential backoff with full jitter (base/retry.ts), at least 100 ms.
      await sleep(
        100 + backoffMs(attempt, { ...DEFAULT_RETRY_POLICY, capMs: 10_000 }, Math.random),
        signal,
      );
    }
  }
}

interface WatchOnceResult {
  resourceVersion: string;
  gone: boolean;
}

/** watchOnce runs one watch request to its end (onOpen once it is answered); resolves on a normal or timed-out end. */
async function watchOnce<T extends KubernetesObject>(
  rest: KubeRest,
  opts: WatchLoopOptions<T>,
  fromVersion: string,
  onOpen: () => void,
  onEvent: (type: WatchEventType, obj: T) => void,
): Promise<WatchOnceResult> {
  const timeoutSeconds = opts.timeoutSeconds ?? 25;
  let resourceVersion = fromVersion;
  let gone = false;
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await rest.open(`watch ${opts.path}`, {
      path: opts.path,
      query: {
        watch: true,
        labelSelector: opts.labelSelector,
        resourceVersion: fromVersion || undefined,
        allowWatchBookmarks: true,
        timeoutSeconds,
      },
      signal: controller.signal,
      idleMs: (timeoutSeconds + 30) * 1000,
    });
    onOpen();
    res.setEncoding('utf8');
    let buffered = '';
    const line = (text: string) => {
      if (!text.trim()) return;
      const ev = JSON.parse(text) as { type?: string; object?: T & { code?: number } };
      const obj = ev.object;
      if (!obj) return;
      if (ev.type === 'ERROR') {
        if (obj.code === 410) gone = true;
        else
          throw Object.assign(new Error(`watch ${opts.path}: ${JSON.stringify(obj)}`), {
            status: obj.code,
          });
        controller.abort();
        return;
      }
      const rv = obj.metadata?.resourceVersion;
      if (rv) resourceVersion = rv;
      if (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED')
        onEvent(ev.type, obj);
    };
    try {
      for await (const chunk of res as AsyncIterable<string>) {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const text = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          line(text);
          if (gone) break;
        }
        if (gone) break;
      }
      if (!gone) line(buffered);
    } finally {
      res.destroy();
    }
  } catch (err) {
    // A watch refused with HTTP 410 (not as an ERROR event) also needs a new list.
    if ((err as { status?: unknown }).status === 410) gone = true;
    const timedOut = err instanceof Error && err.name === 'TimeoutError';
    if (!gone && !timedOut && !opts.signal.aborted && !isAbort(err)) throw err;
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
  }
  return { resourceVersion, gone };
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || /aborted/i.test(err.message));
}
