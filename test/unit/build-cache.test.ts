// build-cache.test.ts: the build cache (inputs cache_key, cache_restore_keys, cache_path). Its
// scopes (a pull request reads its base branch's caches and writes only its own), its inputs'
// errors, its containers in the pod, and the pod program's restore and save against the lab's
// GCS stand-in in-process: a save after a successful build restores byte for byte, the newest
// restore-key match wins, nothing is saved after a failed build or an exact hit, and a damaged or
// truncated archive is discarded with the directory left empty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GcsObjectStore } from '../../src/core/gcs/storage.ts';
import { cacheScope, cacheScopes } from '../../src/core/inputs/cache.ts';
import { renderPodSpec, CONTAINER, CACHE_MOUNT } from '../../src/core/manifest/podspec.ts';
import { requiredPermissions } from '../../src/core/build/permissions.ts';
import {
  CACHE_RESTORED_LINE,
  CACHE_SAVED_LINE,
  parseCacheLine,
  type CacheRestore,
  type CacheSave,
} from '../../src/core/manifest/pod-program.ts';
import { findArchive, runCacheRestore, runCacheSave, type CacheEnv } from '../../src/pod/cache.ts';
import { listObjects } from '../../src/core/gcs/objects.ts';
import { BASE, CTX, specOf } from './build-fixtures.ts';
import { validateBuildSpec } from '../../src/core/inputs/spec.ts';
import { BUCKET, lab, workspace } from './pod-gcs.ts';

const PR = {
  ...CTX,
  ref: 'refs/pull/7/merge',
  baseRef: 'main',
  defaultBranch: 'main',
  eventName: 'pull_request',
};

test('scopes: a push reads and writes its branch; a PR reads its own, then base and default, writes its own', () => {
  const main = cacheScopes({ ...CTX, defaultBranch: 'main' });
  assert.deepEqual(main, {
    read: ['kbuild-cache/42/refs%2Fheads%2Fmain'],
    write: 'kbuild-cache/42/refs%2Fheads%2Fmain',
  });
  const pr = cacheScopes(PR);
  assert.equal(pr.write, 'kbuild-cache/42/refs%2Fpull%2F7%2Fmerge');
  assert.deepEqual(pr.read, [pr.write, main.write]);
  // What a PR writes is never in what a build of the default branch reads.
  assert.ok(!main.read.includes(pr.write));
  // Another repository (by id) shares nothing; no ref's scope is a prefix of another's.
  assert.notEqual(cacheScopes({ ...CTX, repositoryId: '43' }).write, main.write);
  assert.ok(!cacheScope('42', 'refs/heads/a/b').startsWith(`${cacheScope('42', 'refs/heads/a')}/`));
  const feature = cacheScopes({ ...PR, baseRef: 'release-1', defaultBranch: 'main' });
  assert.equal(feature.read.length, 3);
});

test('inputs: cache_key needs a bucket, restore keys need a key, keys and paths are checked', () => {
  const spec = specOf({
    cache_key: 'linux-amd64-deps-3f2a',
    cache_restore_keys: 'linux-amd64-deps-\n\nlinux-',
  });
  assert.deepEqual(spec.cache, {
    key: 'linux-amd64-deps-3f2a',
    restoreKeys: ['linux-amd64-deps-', 'linux-'],
    path: '/var/cache/kbuild',
    ...cacheScopes(CTX),
  });
  assert.equal(specOf().cache, undefined);
  const refused: [Record<string, string>, RegExp][] = [
    [{ cache_key: 'k', bucket: '' }, /input "cache_key" needs a "bucket"/],
    [{ cache_restore_keys: 'k-' }, /input "cache_restore_keys" needs a "cache_key"/],
    [{ cache_key: 'a/b' }, /invalid cache key "a\/b" for input "cache_key"/],
    [{ cache_key: 'k', cache_restore_keys: 'ok\nno,comma' }, /for input "cache_restore_keys"/],
    [
      { cache_key: 'k', cache_path: 'relative' },
      /invalid directory "relative" for input "cache_path"/,
    ],
    [{ cache_key: 'k', cache_path: '/workspace/cache' }, /\/workspace is mounted by kbuild/],
    [{ cache_key: 'k', cache_path: '/var/../etc' }, /for input "cache_path"/],
  ];
  for (const [raw, error] of refused) {
    assert.throws(() => validateBuildSpec({ ...BASE, ...raw }, CTX), error, JSON.stringify(raw));
  }
});

test('pod: restore before the build, save beside it, the volume at cache_path, restricted and sized', () => {
  const spec = specOf({ cache_key: 'k1', cache_path: '/root/.ccache' });
  const pod = renderPodSpec(spec);
  const restore = pod.initContainers?.find((c) => c.name === CONTAINER.cacheRestore);
  const save = pod.containers.find((c) => c.name === CONTAINER.cacheSave);
  const build = pod.containers.find((c) => c.name === CONTAINER.build)!;
  assert.ok(restore && save);
  assert.deepEqual(restore.command?.slice(-1), ['cache-restore']);
  assert.deepEqual(save.command?.slice(-1), ['cache-save']);
  // The preflight checks the pod's identity first; the build command is wrapped so the save knows its status.
  assert.equal(pod.initContainers?.[0]?.name, CONTAINER.preflight);
  assert.equal(build.command?.[0], 'sh');
  assert.deepEqual(build.command?.slice(-2), ['make', 'package/hello']);
  const mount = (c: { volumeMounts?: { name: string; mountPath: string }[] }) =>
    c.volumeMounts?.find((m) => m.name === 'kbuild-cache')?.mountPath;
  assert.equal(mount(build), '/root/.ccache');
  assert.equal(mount(restore), CACHE_MOUNT);
  assert.equal(mount(save), CACHE_MOUNT);
  const env = Object.fromEntries((restore.env ?? []).map((e) => [e.name, e.value]));
  assert.equal(env['KBUILD_CACHE_KEY'], 'k1');
  assert.equal(env['KBUILD_CACHE_WRITE_SCOPE'], spec.cache?.write);
  const permissions = Object.fromEntries(
    (pod.initContainers?.[0]?.env ?? []).map((e) => [e.name, e.value]),
  )['KBUILD_PERMISSIONS'];
  assert.equal(permissions, 'storage.objects.list,storage.objects.get,storage.objects.create');
  for (const c of [restore, save]) {
    assert.deepEqual(c.resources?.requests, c.resources?.limits);
    assert.equal(c.securityContext?.runAsNonRoot, true);
    assert.equal(c.securityContext?.privileged, undefined);
  }
  // The cache needs the ConfigMap of the pod program, not exec.
  const needs = requiredPermissions({ ...spec, context: undefined }).map(
    (p) => `${p.verb} ${p.resource}${p.subresource ? `/${p.subresource}` : ''}`,
  );
  assert.ok(needs.includes('create configmaps'));
});

/** cacheEnv: a CacheEnv over the in-process GCS for a build of ctx, with its own directory. */
function cacheEnv(
  l: Awaited<ReturnType<typeof lab>>,
  ws: string,
  name: string,
  o: { key: string; restoreKeys?: string[]; ctx?: typeof CTX },
): CacheEnv {
  const dir = join(ws, name, 'cache');
  mkdirSync(dir, { recursive: true });
  const scopes = cacheScopes(o.ctx ?? CTX);
  return {
    bucket: BUCKET,
    apiEndpoint: l.gcs,
    metadataHost: l.metadataHost,
    dir,
    key: o.key,
    restoreKeys: o.restoreKeys ?? [],
    ...scopes,
    stateFile: join(ws, name, 'state.json'),
    doneMarker: join(ws, name, 'done'),
    waitSeconds: 5,
  };
}

/** build runs the save after a build that exited with `rc`, after the restore ran in the same pod. */
async function save(c: CacheEnv, rc: number): Promise<CacheSave> {
  writeFileSync(c.doneMarker!, `${rc}\n`);
  const line = await runCacheSave(c, () => {});
  return parseCacheLine<CacheSave>(line, CACHE_SAVED_LINE)!;
}

async function restore(c: CacheEnv, log: string[] = []): Promise<CacheRestore> {
  const line = await runCacheRestore(c, (l) => log.push(l));
  return parseCacheLine<CacheRestore>(line, CACHE_RESTORED_LINE)!;
}

test('save and restore: a successful build saves once, the next build restores it byte for byte', async (t) => {
  const l = await lab(t);
  const ws = workspace(t);
  const first = cacheEnv(l, ws, 'first', { key: 'deps-1', restoreKeys: ['deps-'] });
  assert.equal((await restore(first)).hit, 'none');
  const blob = randomBytes(3 * 1024 * 1024);
  mkdirSync(join(first.dir, 'repo/x86_64'), { recursive: true });
  writeFileSync(join(first.dir, 'repo/x86_64/zlib-1.2.13-r0.tar.gz'), blob);
  writeFileSync(join(first.dir, 'stamp'), 'one\n');
  const saved = await save(first, 0);
  assert.equal(saved.saved, true, saved.reason);
  assert.equal(saved.object, `${first.write}/deps-1.tar.zst`);
  const [stored] = await listObjects(
    { bucket: BUCKET, apiEndpoint: l.gcs, authorization: async () => undefined },
    first.write,
  );
  assert.equal(stored?.crc32c, saved.crc32c);

  const second = cacheEnv(l, ws, 'second', { key: 'deps-1' });
  const got = await restore(second);
  assert.equal(got.hit, 'exact');
  assert.equal(got.key, 'deps-1');
  assert.ok(readFileSync(join(second.dir, 'repo/x86_64/zlib-1.2.13-r0.tar.gz')).equals(blob));
  assert.equal(readFileSync(join(second.dir, 'stamp'), 'utf8'), 'one\n');
  // An exact hit saves nothing; a failed build saves nothing.
  assert.match((await save(second, 0)).reason ?? '', /restored exactly/);
  const failed = cacheEnv(l, ws, 'failed', { key: 'deps-2' });
  writeFileSync(join(failed.dir, 'x'), 'x');
  assert.match((await save(failed, 2)).reason ?? '', /did not succeed \(exit code 2\)/);
});

test('restore keys: the newest archive matching the first matching prefix wins; then a new key is saved', async (t) => {
  const l = await lab(t);
  const ws = workspace(t);
  for (const [name, key] of [
    ['a', 'deps-a'],
    ['b', 'deps-b'],
  ] as const) {
    const c = cacheEnv(l, ws, name, { key });
    writeFileSync(join(c.dir, 'which'), key);
    assert.equal((await save(c, 0)).saved, true);
    await new Promise((r) => setTimeout(r, 20));
  }
  const c = cacheEnv(l, ws, 'c', { key: 'deps-c', restoreKeys: ['other-', 'deps-'] });
  const got = await restore(c);
  assert.deepEqual([got.hit, got.key], ['partial', 'deps-b']);
  assert.equal(readFileSync(join(c.dir, 'which'), 'utf8'), 'deps-b');
  assert.equal((await save(c, 0)).saved, true, 'a partial hit saves the exact key');
  assert.deepEqual(
    (
      await findArchive(c, (p) =>
        listObjects(
          { bucket: BUCKET, apiEndpoint: l.gcs, authorization: async () => undefined },
          p,
        ),
      )
    )?.hit,
    'exact',
  );
});

test('a pull request restores its base branch cache but what it saves is never restored by the default branch', async (t) => {
  const l = await lab(t);
  const ws = workspace(t);
  const main = cacheEnv(l, ws, 'main', { key: 'k-main', ctx: { ...CTX, defaultBranch: 'main' } });
  writeFileSync(join(main.dir, 'from'), 'main');
  assert.equal((await save(main, 0)).saved, true);
  const pr = cacheEnv(l, ws, 'pr', { key: 'k-pr', restoreKeys: ['k-'], ctx: PR });
  const got = await restore(pr);
  assert.deepEqual([got.hit, got.key], ['partial', 'k-main'], JSON.stringify(got));
  writeFileSync(join(pr.dir, 'from'), 'pr');
  const saved = await save(pr, 0);
  assert.ok(saved.object?.startsWith(`${cacheScopes(PR).write}/`), saved.object);
  // The default branch asks for the PR's key and any k- prefix: it finds only its own archive.
  const later = cacheEnv(l, ws, 'later', {
    key: 'k-pr',
    restoreKeys: ['k-'],
    ctx: { ...CTX, defaultBranch: 'main' },
  });
  const back = await restore(later);
  assert.deepEqual([back.hit, back.key], ['partial', 'k-main']);
  assert.equal(readFileSync(join(later.dir, 'from'), 'utf8'), 'main');
});

test('a damaged or truncated archive is discarded with a warning; the directory is left empty', async (t) => {
  const l = await lab(t);
  const ws = workspace(t);
  const first = cacheEnv(l, ws, 'first', { key: 'k' });
  writeFileSync(join(first.dir, 'big'), randomBytes(2 * 1024 * 1024));
  const saved = await save(first, 0);
  // A byte flipped at rest: the download's CRC32C differs from the one GCS holds.
  const data = l.store.dataPath(BUCKET, saved.object!);
  const bytes = readFileSync(data);
  bytes[bytes.length - 100]! ^= 0xff;
  writeFileSync(data, bytes);
  const damaged = cacheEnv(l, ws, 'damaged', { key: 'k' });
  const log: string[] = [];
  const got = await restore(damaged, log);
  assert.equal(got.hit, 'none');
  assert.match(got.discarded ?? '', /CRC32C|tar|could not be read/);
  assert.match(log.join('\n'), /was discarded: .*; the build goes on without a cache/);
  assert.deepEqual(readdirSync(damaged.dir), []);

  // A truncated archive stored whole (its CRC32C matches what GCS holds): the unpack fails.
  const truncated = cacheEnv(l, ws, 'trunc', { key: 't' });
  const store = new GcsObjectStore({ bucket: BUCKET, apiEndpoint: l.gcs });
  await store.upload(`${truncated.write}/t.tar.zst`, Readable.from([bytes.subarray(0, 1000)]), {});
  const cut = await restore(truncated);
  assert.equal(cut.hit, 'none');
  assert.ok(cut.discarded, 'reported as discarded');
  assert.deepEqual(readdirSync(truncated.dir), []);
});
