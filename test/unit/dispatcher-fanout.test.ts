// dispatcher-fanout.test.ts: bounded concurrency, retries on 429/5xx/network errors only, and one
// failed build never stops the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1ConfigMap, V1Job } from '@kubernetes/client-node';
import { KubeApiError } from '../../src/core/kube/api.ts';
import {
  createJobs,
  fanOut,
  isRetryable,
  patchFor,
  type FanoutOptions,
} from '../../functions/dispatcher/fanout.ts';
import { FakeJobs } from './dispatcher-fixtures.ts';

const FAST: FanoutOptions = { concurrency: 3, policy: { attempts: 4, baseMs: 1, capMs: 2 } };
const jobs = (n: number): V1Job[] =>
  Array.from({ length: n }, (_, i) => ({ metadata: { name: `kb-${i}` }, spec: { template: {} } }));

test('isRetryable: 429, 5xx and network errors only', () => {
  const cases: { err: unknown; want: boolean }[] = [
    { err: new KubeApiError(429, 'TooManyRequests', ''), want: true },
    { err: new KubeApiError(500, 'InternalError', ''), want: true },
    { err: new KubeApiError(503, 'ServiceUnavailable', ''), want: true },
    { err: new KubeApiError(0, 'NetworkError', ''), want: true },
    { err: new KubeApiError(403, 'Forbidden', ''), want: false },
    { err: new KubeApiError(422, 'Invalid', ''), want: false },
    { err: new Error('boom'), want: false },
  ];
  for (const c of cases)
    assert.equal(
      isRetryable(c.err),
      c.want,
      String((c.err as Error).message || (c.err as KubeApiError).status),
    );
});

test('fanOut: never more than `concurrency` calls at once; outcomes in order', async () => {
  let active = 0;
  let peak = 0;
  const out = await fanOut(
    [1, 2, 3, 4, 5, 6, 7],
    String,
    async (n) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setImmediate(r));
      active--;
      return n * 2;
    },
    FAST,
  );
  assert.equal(peak, 3);
  assert.deepEqual(
    out.map((o) => (o.ok ? o.value : -1)),
    [2, 4, 6, 8, 10, 12, 14],
  );
});

test('createJobs: retries 429/5xx, keeps going past a refused build, counts 409 as created', async () => {
  const api = new FakeJobs();
  const attempts = new Map<string, number>();
  const retried: string[] = [];
  api.fail = (call, name) => {
    if (call !== 'create') return undefined;
    const n = (attempts.get(name) ?? 0) + 1;
    attempts.set(name, n);
    if (name === 'kb-1' && n <= 2) return new KubeApiError(429, 'TooManyRequests', 'slow down');
    if (name === 'kb-2' && n === 1) return new KubeApiError(503, 'ServiceUnavailable', 'try again');
    if (name === 'kb-3') return new KubeApiError(403, 'Forbidden', 'jobs.batch is forbidden');
    if (name === 'kb-4') return new KubeApiError(500, 'InternalError', 'always broken');
    return undefined;
  };
  await api.createJob('ns', jobs(6)[5]!); // kb-5 exists already
  const failed = await createJobs(api, 'ns', jobs(6), {
    ...FAST,
    onRetry: (what) => retried.push(what),
  });
  assert.deepEqual(Object.fromEntries(failed), {
    'kb-3': 'jobs.batch is forbidden',
    'kb-4': 'always broken',
  });
  assert.deepEqual([...api.jobs.keys()].sort(), ['kb-0', 'kb-1', 'kb-2', 'kb-5']);
  assert.equal(attempts.get('kb-1'), 3);
  assert.equal(attempts.get('kb-3'), 1, 'a 403 is not retried');
  assert.equal(attempts.get('kb-4'), 4, 'retries then gives up');
  assert.ok(retried.includes('create Job kb-1'));
});

test('patchFor: release unsuspends, release to a queue only labels, skip records the reason', () => {
  assert.deepEqual(patchFor({ type: 'release', jobName: 'a' }), {
    metadata: { annotations: { 'kbuild.dev/gate': null } },
    spec: { suspend: false },
  });
  assert.deepEqual(patchFor({ type: 'release', jobName: 'a', queue: 'q' }), {
    metadata: {
      labels: { 'kueue.x-k8s.io/queue-name': 'q' },
      annotations: { 'kbuild.dev/gate': null },
    },
  });
  assert.deepEqual(patchFor({ type: 'skip', jobName: 'a', reason: 'r' }), {
    metadata: { annotations: { 'kbuild.dev/gate': null, 'kbuild.dev/skipped': 'r' } },
  });
});

test('createJobs: a pod program ConfigMap is created before its Job, owned by it, removed if the Job is refused', async () => {
  const api = new FakeJobs();
  api.fail = (call, name) =>
    call === 'create' && name === 'kb-1' ? new KubeApiError(403, 'Forbidden', 'no') : undefined;
  const all = jobs(3).map((j) => ({
    ...j,
    metadata: { ...j.metadata, labels: { 'kbuild.dev/build-id': j.metadata!.name! } },
  }));
  // kb-2 exists already (an earlier request): its ConfigMap is owned by the Job read back.
  await api.createJob('ns', all[2]!);
  const configMaps = new Map<string, V1ConfigMap>(
    all.map((j) => [j.metadata.name!, { metadata: { name: j.metadata.name! }, data: { a: 'b' } }]),
  );
  const failed = await createJobs(api, 'ns', all, FAST, configMaps);
  assert.deepEqual([...failed.keys()], ['kb-1']);
  assert.ok(api.calls.indexOf('create-configmap kb-0') < api.calls.indexOf('create kb-0'));
  assert.deepEqual(api.configMaps.get('kb-0')?.metadata?.ownerReferences, [
    { apiVersion: 'batch/v1', kind: 'Job', name: 'kb-0', uid: 'uid-kb-0' },
  ]);
  assert.equal(api.configMaps.get('kb-2')?.metadata?.ownerReferences?.[0]?.uid, 'uid-kb-2');
  assert.equal(api.configMaps.has('kb-1'), false, 'the refused Job took its ConfigMap with it');
});
