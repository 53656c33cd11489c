/**
 * cache.ts: the runner's half of the build cache (inputs `cache_key`, `cache_restore_keys`,
 * `cache_path`; the pod's half is src/pod/cache.ts). The pod restores and saves the cache
 * itself through Workload Identity; once the build has ended, the runner reads what the
 * `cache-restore` init container and the `cache-save` container reported (their log's report
 * lines, manifest/pod-program.ts), waits for the save of a successful build to finish, and
 * reports both. A cache problem is a warning, never a failed build.
 */
import type { Readable } from 'node:stream';
import type { KubeApi } from '../kube/api.ts';
import type { Reporter } from '../base/report.ts';
import type { BuildSpec } from '../inputs/spec.ts';
import { CONTAINER } from '../manifest/podspec.ts';
import {
  CACHE_RESTORED_LINE,
  CACHE_SAVED_LINE,
  parseCacheLine,
  type CacheRestore,
  type CacheSave,
} from '../manifest/pod-program.ts';
import type { BuildResult } from './record.ts';
import { sidecarEnd, type BuildWatcher } from './watch.ts';

/** LOG_LIMIT bounds the log read of a cache container (its report is one line). */
const LOG_LIMIT = 1 << 20;

/** CacheReadOptions: the build whose cache containers ran, and where to read and report. */
export interface CacheReadOptions {
  kube: KubeApi;
  spec: Pick<BuildSpec, 'namespace' | 'cache'>;
  pod: string;
  watcher: BuildWatcher;
  reporter: Pick<Reporter, 'info' | 'warning'>;
  signal: AbortSignal;
}

async function tail(body: Readable): Promise<string> {
  let text = '';
  for await (const c of body) {
    text = (text + (c as Buffer).toString('utf8')).slice(-LOG_LIMIT);
  }
  return text;
}

/** MiB renders bytes as MiB with one decimal. */
function mib(bytes: number | undefined): string {
  return `${((bytes ?? 0) / 1048576).toFixed(1)} MiB`;
}

/**
 * readCacheOutcome sets r.cache from the cache containers' reports and reports them: the restore
 * (init container `cache-restore`, ended before the build started) and, when the build
 * succeeded, the save (container `cache-save`, waited for until it ends). Never throws for a
 * cache problem: what cannot be read is a warning.
 */
export async function readCacheOutcome(o: CacheReadOptions, r: BuildResult): Promise<void> {
  const cache = o.spec.cache;
  if (!cache) return;
  r.cache = { key: cache.key };
  const log = (container: string): Promise<string> =>
    o.kube
      .openLog(
        { namespace: o.spec.namespace, pod: o.pod, container, follow: false, timestamps: false },
        o.signal,
      )
      .then(tail);
  const report = async <T>(container: string, prefix: string, what: string) => {
    try {
      return parseCacheLine<T>(await log(container), prefix);
    } catch (err) {
      o.reporter.warning(`the cache ${what}'s report could not be read: ${(err as Error).message}`);
      return undefined;
    }
  };
  const restored = await report<CacheRestore>(
    CONTAINER.cacheRestore,
    CACHE_RESTORED_LINE,
    'restore',
  );
  if (restored) r.cache.restore = restored;
  const restore = r.cache.restore;
  if (!restore) o.reporter.warning('the cache restore reported nothing');
  else if (restore.discarded)
    o.reporter.warning(
      `the cache was not restored: ${restore.discarded}; the build ran without a cache`,
    );
  else if (restore.hit === 'none')
    o.reporter.info(
      `Cache: no archive for key ${cache.key}${cache.restoreKeys.length ? ' or its restore keys' : ''} (${restore.seconds} s)`,
    );
  else
    o.reporter.info(
      `Cache: restored key ${restore.key} (${restore.hit}, ${mib(restore.bytes)}) in ${restore.seconds} s`,
    );

  if (r.status !== 'succeeded') return;
  const ended = await o.watcher
    .until(sidecarEnd(CONTAINER.cacheSave), o.signal)
    .catch((err: Error) => err.message);
  if (typeof ended === 'string') {
    o.reporter.warning(`the cache was not saved: ${ended}`);
    return;
  }
  const saved = await report<CacheSave>(CONTAINER.cacheSave, CACHE_SAVED_LINE, 'save');
  if (saved) r.cache.save = saved;
  const save = r.cache.save;
  if (!save) o.reporter.warning('the cache save reported nothing');
  else if (save.saved)
    o.reporter.info(`Cache: saved key ${save.key} (${mib(save.bytes)}) in ${save.seconds} s`);
  else if (save.reason?.startsWith('saving failed'))
    o.reporter.warning(`the cache was not saved: ${save.reason}`);
  else o.reporter.info(`Cache: not saved: ${save.reason ?? 'no reason given'}`);
}
