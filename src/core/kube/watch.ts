/**
 * kube/watch.ts: a list-then-watch loop that survives the ways a watch ends.
 *
 * `@kubernetes/client-node`'s `Watch` ends a quiet watch after 30 s and ends
 * every watch when the API server closes it (`timeoutSeconds`, restarts). A
 * resourceVersion that is too old answers an ERROR event with a 410 Status
 * (Kubernetes API concepts, "Efficient detection of changes"). watchLoop
 * re-watches from the last resourceVersion it saw (bookmarks included), and
 * re-lists after 410, reporting objects that vanished meanwhile as DELETED.
 */
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { WatchEventType } from './api.ts';
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
   * Server-side watch timeout, seconds (default 25): shorter than client-node's
   * fixed 30 s inactivity timeout, so a quiet watch ends cleanly on the server's
   * side and is renewed from its resourceVersion.
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
  kc: KubeConfig,
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
      const result = await watchOnce(kc, opts, resourceVersion, (type, obj) => {
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

/** watchOnce runs one watch request to its end; resolves on a normal or timed-out end. */
function watchOnce<T extends KubernetesObject>(
  kc: KubeConfig,
  opts: WatchLoopOptions<T>,
  fromVersion: string,
  onEvent: (type: WatchEventType, obj: T) => void,
): Promise<WatchOnceResult> {
  const timeoutSeconds = opts.timeoutSeconds ?? 25;
  const watch = new Watch(kc);
  let resourceVersion = fromVersion;
  let gone = false;
  return new Promise<WatchOnceResult>((resolve, reject) => {
    let controller: AbortController | undefined;
    const onAbort = () => controller?.abort();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const finish = (err: unknown) => {
      opts.signal.removeEventListener('abort', onAbort);
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      if (err && !gone && !timedOut && !opts.signal.aborted && !isAbort(err)) reject(err);
      else resolve({ resourceVersion, gone });
    };
    watch
      .watch(
        opts.path,
        {
          labelSelector: opts.labelSelector,
          resourceVersion: fromVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
        },
        (type: string, obj: T & { code?: number }) => {
          if (type === 'ERROR') {
            if (obj.code === 410) gone = true;
            controller?.abort();
            return;
          }
          const rv = obj.metadata?.resourceVersion;
          if (rv) resourceVersion = rv;
          if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') onEvent(type, obj);
        },
        finish,
      )
      .then((c) => {
        controller = c;
        if (opts.signal.aborted) c.abort();
      }, finish);
  });
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || /aborted/i.test(err.message));
}
