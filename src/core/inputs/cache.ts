// cache.ts: the build cache's inputs (`cache_key`, `cache_restore_keys`, `cache_path`) and where
// a build's caches live in the bucket, scoped the way actions/cache scopes its caches (GitHub
// docs "Caching dependencies to speed up workflows", "Restrictions for accessing a cache"): a
// build reads the caches of its own ref, then those of the base branch of its pull request,
// then those of the default branch, and writes only its own ref's.
import { InputError, invalid } from '../base/errors.ts';
import type { GitHubContext } from './names.ts';

/** CACHE_PREFIX: cache archives live below it (`kbuild-cache/<repository>/<ref>/<key>.tar.zst`). */
export const CACHE_PREFIX = 'kbuild-cache';

/** DEFAULT_CACHE_PATH is `cache_path`'s default: the directory in the pod the cache fills. */
export const DEFAULT_CACHE_PATH = '/var/cache/kbuild';

/** CACHE_KEY: the characters and length a key or restore key may have (an object name segment). */
const CACHE_KEY = /^[A-Za-z0-9._+=@-]{1,400}$/;

/** RESERVED_PATHS are directories of the pod a cache may not be mounted on or below. */
const RESERVED_PATHS = ['/workspace', '/kbuild', '/var/cache/melange', '/proc', '/sys', '/dev'];

/** CacheSpec: a build's cache, validated (BuildSpec.cache). */
export interface CacheSpec {
  /** The exact key; a save stores `<write>/<key>.tar.zst`. */
  key: string;
  /** Prefixes tried in order after the key; the newest archive matching one wins. */
  restoreKeys: string[];
  /** Absolute directory in the build container (an emptyDir) the cache is restored into and saved from. */
  path: string;
  /** Object prefixes a restore reads, in order (cacheScope): this ref's, the PR base's, the default branch's. */
  read: string[];
  /** The one object prefix a save writes below: this ref's. */
  write: string;
}

/**
 * cacheScope is the object prefix of one repository's caches for one ref: `kbuild-cache/` +
 * the repository (its numeric id when known, so a renamed or re-created repository never reads
 * another's caches) + the ref, each URI-encoded into one path segment so that no ref's prefix
 * is another's (`refs/heads/a` and `refs/heads/a/b`).
 */
export function cacheScope(repository: string, ref: string): string {
  return `${CACHE_PREFIX}/${encodeURIComponent(repository)}/${encodeURIComponent(ref)}`;
}

/**
 * cacheScopes answers where a build of ctx reads and writes caches: it writes below its own ref
 * (GITHUB_REF; `refs/pull/N/merge` for a pull request) and reads that first, then, for a pull
 * request, its base branch (GITHUB_BASE_REF), then the default branch (when the event names
 * it). So a pull request reads its base branch's caches but writes only its own, and a build of
 * the default branch never restores what a pull request saved. Without a ref (a terminal) the
 * scope is `local`.
 */
export function cacheScopes(
  ctx: Pick<GitHubContext, 'repository' | 'repositoryId' | 'ref' | 'baseRef' | 'defaultBranch'>,
): { read: string[]; write: string } {
  const repository = ctx.repositoryId ?? ctx.repository;
  const ref = ctx.ref || 'local';
  const refs = [ref];
  if (ctx.baseRef) refs.push(`refs/heads/${ctx.baseRef}`);
  if (ctx.defaultBranch) refs.push(`refs/heads/${ctx.defaultBranch}`);
  const read = [...new Set(refs)].map((r) => cacheScope(repository, r));
  return { read, write: cacheScope(repository, ref) };
}

/** parseCacheKey checks a key (or, with `prefix`, a restore key) for input `input`. */
export function parseCacheKey(input: string, value: string): string {
  const v = value.trim();
  if (!CACHE_KEY.test(v)) {
    throw invalid(
      input,
      'cache key',
      value,
      'use 1 to 400 characters of letters, digits and . _ + = @ - (for example linux-amd64-ccache-3f2a9c)',
    );
  }
  return v;
}

/** parseRestoreKeys reads `cache_restore_keys`: one prefix per line, blank lines ignored, in order. */
export function parseRestoreKeys(input: string, value: string): string[] {
  return value
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => parseCacheKey(input, l));
}

/**
 * parseCachePath checks `cache_path`: an absolute, normalized directory that is not `/` and not
 * on or below a directory kbuild or Kubernetes mounts itself (RESERVED_PATHS).
 */
export function parseCachePath(input: string, value: string): string {
  const v = value.trim();
  const fix = `use an absolute directory such as ${DEFAULT_CACHE_PATH}`;
  if (!v.startsWith('/') || v === '/' || v.endsWith('/') || /(^|\/)\.\.?(\/|$)|\/\//.test(v)) {
    throw invalid(input, 'directory', value, fix);
  }
  const clash = RESERVED_PATHS.find((r) => v === r || v.startsWith(`${r}/`));
  if (clash) {
    throw new InputError(
      input,
      `invalid directory ${JSON.stringify(v)} for input "${input}": ${clash} is mounted by kbuild or Kubernetes; ${fix}`,
    );
  }
  return v;
}
