// build-wait.test.ts: untilStarted (src/core/build/wait.ts) driven through a fake KubeApi's watches
// and a fake clock: pending_timeout counts from Kueue's admission, not from the step's start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { Clock, Reporter } from '../../src/core/base/report.ts';
import type { Verdict } from '../../src/core/build/verdict.ts';
import { untilStarted } from '../../src/core/build/wait.ts';
import { BuildWatcher } from '../../src/core/build/watch.ts';
import type { KubeApi } from '../../src/core/kube/api.ts';
import { specOf } from './build-fixtures.ts';

type Emit<T> = (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T) => void;

/** FakeWatches is a KubeApi whose pod and Job watches the test feeds; nothing else is called. */
class FakeWatches {
  pod: Emit<V1Pod> = () => {};
  job: Emit<V1Job> = () => {};
  readonly api = {
    watchPods: (_ns: string, _sel: string, on: Emit<V1Pod>, signal: AbortSignal) => {
      this.pod = on;
      return new Promise<void>((r) => signal.addEventListener('abort', () => r()));
    },
    watchJobs: (_ns: string, _sel: string, on: Emit<V1Job>, signal: AbortSignal) => {
      this.job = on;
      return new Promise<void>((r) => signal.addEventListener('abort', () => r()));
    },
  } as unknown as KubeApi;
}

/** flush lets the promise chains behind untilStarted settle. */
const flush = () => new Promise((r) => setImmediate(r));

const NAME = 'kb-hello-amd64-1a2b';
const job = (suspend: boolean): V1Job => ({
  metadata: { name: NAME, labels: { 'kueue.x-k8s.io/queue-name': 'builds' } },
  spec: { suspend, template: {} },
  status: {},
});
const pendingPod: V1Pod = {
  metadata: { name: `${NAME}-x7`, creationTimestamp: new Date() },
  status: { phase: 'Pending' },
};

/** start runs untilStarted on a fresh watcher; answers the feeds, the clock and the outcome. */
function start(pendingTimeout: string) {
  const spec = specOf({ queue_name: 'builds', pending_timeout: pendingTimeout, context: '' });
  let t = Date.parse('2026-01-01T10:00:00Z');
  const clock: Clock = { now: () => t, sleep: () => Promise.resolve() };
  const reporter = { info: () => {} } as unknown as Reporter;
  const fake = new FakeWatches();
  const abort = new AbortController();
  const watcher = new BuildWatcher(fake.api, spec.namespace, 'sel', {
    clock,
    watchJob: true,
    tickMs: 3_600_000,
  });
  let outcome: Verdict | undefined;
  const done = untilStarted(
    spec,
    { kube: fake.api, reporter, clock },
    watcher,
    undefined,
    abort.signal,
  )
    .then((v) => (outcome = v))
    .catch(() => undefined);
  return {
    fake,
    advance: (seconds: number) => (t += seconds * 1000),
    outcome: () => outcome,
    stop: async () => {
      abort.abort();
      watcher.stop();
      await done;
    },
  };
}

test('time queued for admission does not count against pending_timeout', async () => {
  const s = start('15m');
  try {
    s.fake.job('ADDED', job(true));
    s.advance(20 * 60); // 20 min in a full queue
    s.fake.job('MODIFIED', job(true));
    await flush();
    assert.equal(s.outcome(), undefined, 'still waiting while queued');
    s.fake.job('MODIFIED', job(false)); // Kueue admits it
    s.advance(5);
    s.fake.pod('ADDED', pendingPod);
    await flush();
    assert.equal(s.outcome(), undefined, 'a pod pending 5 s after admission has not timed out');
    s.advance(15 * 60 + 1);
    s.fake.pod('MODIFIED', pendingPod);
    await flush();
    assert.equal(s.outcome()?.reason, 'PendingTimeout', 'pending_timeout runs from admission');
  } finally {
    await s.stop();
  }
});

test('the pod seen before the unsuspended Job (separate watches) does not time out either', async () => {
  const s = start('15m');
  try {
    s.fake.job('ADDED', job(true));
    s.advance(20 * 60);
    s.fake.pod('ADDED', pendingPod); // the Job's MODIFIED event is still on its way
    await flush();
    assert.equal(s.outcome(), undefined, 'not timed out by the time spent queued');
    s.fake.job('MODIFIED', job(false));
    s.advance(15 * 60 + 1);
    s.fake.pod('MODIFIED', pendingPod);
    await flush();
    assert.equal(s.outcome()?.reason, 'PendingTimeout');
  } finally {
    await s.stop();
  }
});

test('without a pod after admission, pending_timeout also runs from admission', async () => {
  const s = start('1m');
  try {
    s.fake.job('ADDED', job(true));
    s.advance(10 * 60);
    s.fake.job('MODIFIED', job(true)); // still queued (or the watcher's 1 s tick)
    s.fake.job('MODIFIED', job(false));
    await flush();
    assert.equal(s.outcome(), undefined);
    s.advance(61);
    s.fake.job('MODIFIED', job(false));
    await flush();
    assert.equal(s.outcome()?.reason, 'PendingTimeout');
  } finally {
    await s.stop();
  }
});
