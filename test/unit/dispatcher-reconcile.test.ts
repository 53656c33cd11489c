// dispatcher-reconcile.test.ts: the pure reconcile step: dependency levels, releases, skips that
// cascade, Kueue queues never unsuspended by kbuild, missing Jobs, and the dispatch's state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PlanEntry } from '../../functions/dispatcher/plan.ts';
import {
  reconcile,
  type ObservedJob,
  type ReconcileInput,
} from '../../functions/dispatcher/reconcile.ts';
import type { Verdict } from '../../src/core/build/verdict.ts';

// zlib <- libpng <- png-tools, and hello alone; one arch.
const PLAN: PlanEntry[] = [
  { package: 'zlib', arch: 'amd64', build_id: 'z', job_name: 'kb-zlib', level: 0, depends_on: [] },
  {
    package: 'hello',
    arch: 'amd64',
    build_id: 'h',
    job_name: 'kb-hello',
    level: 0,
    depends_on: [],
  },
  {
    package: 'libpng',
    arch: 'amd64',
    build_id: 'l',
    job_name: 'kb-libpng',
    level: 1,
    depends_on: ['kb-zlib'],
  },
  {
    package: 'png-tools',
    arch: 'amd64',
    build_id: 'p',
    job_name: 'kb-png-tools',
    level: 2,
    depends_on: ['kb-libpng', 'kb-zlib'],
  },
];
const T0 = 1_000_000;

const V = {
  running: { state: 'running', reason: 'Active', message: 'running' },
  pending: { state: 'pending', reason: 'Pending', message: 'pending' },
  queued: { state: 'queued', reason: 'Suspended', message: 'queued in q' },
  succeeded: { state: 'succeeded', reason: 'Complete', message: 'done' },
  failed: { state: 'failed', reason: 'BackoffLimitExceeded', message: 'failed' },
  timedOut: { state: 'timed_out', reason: 'DeadlineExceeded', message: 'deadline' },
  suspended: { state: 'queued', reason: 'Suspended', message: 'suspended' },
} satisfies Record<string, Verdict>;

const job = (verdict: Verdict, extra: Partial<ObservedJob> = {}): ObservedJob => ({
  verdict,
  gated: false,
  createdAt: T0,
  ...extra,
});
const gated = (extra: Partial<ObservedJob> = {}): ObservedJob =>
  job(V.suspended, { gated: true, ...extra });

function run(jobs: Record<string, ObservedJob>, extra: Partial<ReconcileInput> = {}) {
  const r = reconcile({
    plan: PLAN,
    jobs: new Map(Object.entries(jobs)),
    now: T0 + 1000,
    ...extra,
  });
  const status = Object.fromEntries(r.builds.map((b) => [b.package, `${b.status}/${b.reason}`]));
  return { ...r, status };
}

test('reconcile: dependency order, releases and skips', () => {
  const cases: {
    name: string;
    jobs: Record<string, ObservedJob>;
    extra?: Partial<ReconcileInput>;
    status: Record<string, string>;
    actions: unknown[];
    state: string;
  }[] = [
    {
      name: 'level 0 running: dependents wait',
      jobs: {
        'kb-zlib': job(V.running),
        'kb-hello': job(V.pending),
        'kb-libpng': gated(),
        'kb-png-tools': gated(),
      },
      status: {
        zlib: 'running/Active',
        hello: 'pending/Pending',
        libpng: 'pending/WaitingForDependencies',
        'png-tools': 'pending/WaitingForDependencies',
      },
      actions: [],
      state: 'running',
    },
    {
      name: 'zlib succeeded: libpng released; png-tools still waits for libpng',
      jobs: {
        'kb-zlib': job(V.succeeded),
        'kb-hello': job(V.running),
        'kb-libpng': gated(),
        'kb-png-tools': gated(),
      },
      status: {
        zlib: 'succeeded/Complete',
        hello: 'running/Active',
        libpng: 'pending/Released',
        'png-tools': 'pending/WaitingForDependencies',
      },
      actions: [{ type: 'release', jobName: 'kb-libpng' }],
      state: 'running',
    },
    {
      name: 'released to a Kueue queue: the label is added, reported queued',
      jobs: {
        'kb-zlib': job(V.succeeded),
        'kb-hello': job(V.succeeded),
        'kb-libpng': gated({ queue: 'builds' }),
        'kb-png-tools': gated({ queue: 'builds' }),
      },
      status: {
        zlib: 'succeeded/Complete',
        hello: 'succeeded/Complete',
        libpng: 'queued/Released',
        'png-tools': 'pending/WaitingForDependencies',
      },
      actions: [{ type: 'release', jobName: 'kb-libpng', queue: 'builds' }],
      state: 'running',
    },
    {
      name: 'a queued Job Kueue has not admitted is left alone',
      jobs: {
        'kb-zlib': job(V.queued),
        'kb-hello': job(V.queued),
        'kb-libpng': gated({ queue: 'builds' }),
        'kb-png-tools': gated({ queue: 'builds' }),
      },
      status: {
        zlib: 'queued/Suspended',
        hello: 'queued/Suspended',
        libpng: 'pending/WaitingForDependencies',
        'png-tools': 'pending/WaitingForDependencies',
      },
      actions: [],
      state: 'running',
    },
    {
      name: 'zlib failed: libpng and png-tools skipped in one pass, hello unaffected',
      jobs: {
        'kb-zlib': job(V.failed),
        'kb-hello': job(V.succeeded),
        'kb-libpng': gated(),
        'kb-png-tools': gated(),
      },
      status: {
        zlib: 'failed/BackoffLimitExceeded',
        hello: 'succeeded/Complete',
        libpng: 'skipped/DependencyFailed',
        'png-tools': 'skipped/DependencyFailed',
      },
      actions: [
        {
          type: 'skip',
          jobName: 'kb-libpng',
          reason: 'skipped: dependency zlib (amd64) failed (BackoffLimitExceeded)',
        },
        {
          type: 'skip',
          jobName: 'kb-png-tools',
          reason: 'skipped: dependency libpng (amd64) was skipped',
        },
      ],
      state: 'failed',
    },
    {
      name: 'a timed-out dependency is a failed one',
      jobs: {
        'kb-zlib': job(V.timedOut),
        'kb-hello': job(V.succeeded),
        'kb-libpng': gated(),
        'kb-png-tools': job(V.suspended, { skipped: 'skipped: earlier' }),
      },
      status: {
        zlib: 'failed/DeadlineExceeded',
        hello: 'succeeded/Complete',
        libpng: 'skipped/DependencyFailed',
        'png-tools': 'skipped/DependencyFailed',
      },
      actions: [
        {
          type: 'skip',
          jobName: 'kb-libpng',
          reason: 'skipped: dependency zlib (amd64) failed (DeadlineExceeded)',
        },
      ],
      state: 'failed',
    },
    {
      name: 'a missing Job within the grace period is being created; its dependents wait',
      jobs: { 'kb-hello': job(V.running), 'kb-libpng': gated(), 'kb-png-tools': gated() },
      status: {
        zlib: 'pending/NotCreated',
        hello: 'running/Active',
        libpng: 'pending/WaitingForDependencies',
        'png-tools': 'pending/WaitingForDependencies',
      },
      actions: [],
      state: 'running',
    },
    {
      name: 'a missing Job after the grace period is failed; its dependents are skipped',
      jobs: { 'kb-hello': job(V.running), 'kb-libpng': gated(), 'kb-png-tools': gated() },
      extra: { now: T0 + 121_000 },
      status: {
        zlib: 'failed/NotFound',
        hello: 'running/Active',
        libpng: 'skipped/DependencyFailed',
        'png-tools': 'skipped/DependencyFailed',
      },
      actions: [
        {
          type: 'skip',
          jobName: 'kb-libpng',
          reason: 'skipped: dependency zlib (amd64) failed (NotFound)',
        },
        {
          type: 'skip',
          jobName: 'kb-png-tools',
          reason: 'skipped: dependency libpng (amd64) was skipped',
        },
      ],
      state: 'running',
    },
    {
      name: 'a Job this request could not create is failed at once',
      jobs: { 'kb-hello': job(V.running), 'kb-libpng': gated(), 'kb-png-tools': gated() },
      extra: { createErrors: new Map([['kb-zlib', 'forbidden']]) },
      status: {
        zlib: 'failed/CreateFailed',
        hello: 'running/Active',
        libpng: 'skipped/DependencyFailed',
        'png-tools': 'skipped/DependencyFailed',
      },
      actions: [
        {
          type: 'skip',
          jobName: 'kb-libpng',
          reason: 'skipped: dependency zlib (amd64) failed (CreateFailed)',
        },
        {
          type: 'skip',
          jobName: 'kb-png-tools',
          reason: 'skipped: dependency libpng (amd64) was skipped',
        },
      ],
      state: 'running',
    },
    {
      name: 'a diamond needs every dependency: png-tools released once libpng and zlib succeeded',
      jobs: {
        'kb-zlib': job(V.succeeded),
        'kb-hello': job(V.succeeded),
        'kb-libpng': job(V.succeeded),
        'kb-png-tools': gated(),
      },
      status: {
        zlib: 'succeeded/Complete',
        hello: 'succeeded/Complete',
        libpng: 'succeeded/Complete',
        'png-tools': 'pending/Released',
      },
      actions: [{ type: 'release', jobName: 'kb-png-tools' }],
      state: 'running',
    },
    {
      name: 'all succeeded',
      jobs: {
        'kb-zlib': job(V.succeeded),
        'kb-hello': job(V.succeeded),
        'kb-libpng': job(V.succeeded),
        'kb-png-tools': job(V.succeeded),
      },
      status: {
        zlib: 'succeeded/Complete',
        hello: 'succeeded/Complete',
        libpng: 'succeeded/Complete',
        'png-tools': 'succeeded/Complete',
      },
      actions: [],
      state: 'succeeded',
    },
  ];
  for (const c of cases) {
    const r = run(c.jobs, c.extra);
    assert.deepEqual(r.status, c.status, c.name);
    assert.deepEqual(r.actions, c.actions, c.name);
    assert.equal(r.state, c.state, c.name);
  }
});

test('reconcile: reports keep the plan order and name dependencies by package', () => {
  const r = run({
    'kb-zlib': job(V.running),
    'kb-hello': job(V.running),
    'kb-libpng': gated(),
    'kb-png-tools': gated(),
  });
  assert.deepEqual(
    r.builds.map((b) => b.package),
    ['zlib', 'hello', 'libpng', 'png-tools'],
  );
  const tools = r.builds[3]!;
  assert.deepEqual(tools.depends_on, ['libpng', 'zlib']);
  assert.equal(tools.message, 'waiting for libpng, zlib (amd64)');
  assert.equal(tools.level, 2);
});
