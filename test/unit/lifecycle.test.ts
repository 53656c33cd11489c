// lifecycle.test.ts: runBuild (src/core/build/lifecycle.ts) and its wait loop (wait.ts, watch.ts)
// driven end to end over a fake cluster, object store and clock (fake-cluster.ts), in
// milliseconds: success, a failed build, each failure diagnosis of verdict.ts, the Spot
// preemption retry, cancellation at each phase, the re-fetch of an artifact whose upload GCS
// refused for a checksum mismatch, and the adoption of a Job that already exists (409).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import type { V1Job, V1JobCondition } from '@kubernetes/client-node';
import { runBuild } from '../../src/core/build/lifecycle.ts';
import type { BuildResult } from '../../src/core/build/record.ts';
import { KubeApiError } from '../../src/core/kube/api.ts';
import { renderManifests } from '../../src/core/manifest/manifest.ts';
import { COLLECTED_MARKER, NODE_POOL_LABEL } from '../../src/core/manifest/podspec.ts';
import type { RawBuildInputs } from '../../src/core/inputs/schema.ts';
import type { BuildSpec } from '../../src/core/inputs/spec.ts';
import { specOf } from './build-fixtures.ts';
import {
  FakeClock,
  FakeKube,
  FakeStore,
  podOf,
  RecordingReporter,
  RUNNING,
  terminated,
  waiting,
  type PodShape,
} from './fake-cluster.ts';

/** World: a fake cluster that runs the build's pod as a test scripts it. */
interface World {
  spec: BuildSpec;
  kube: FakeKube;
  store: FakeStore;
  clock: FakeClock;
  reporter: RecordingReporter;
  controller: AbortController;
  /** The Job and attempt of the newest pod (set when the Job is created). */
  current: { job: V1Job; attempt: number } | undefined;
  run(): Promise<BuildResult>;
}

/** Scenario: the pod's shape when the Job is created, after its log was read, and more. */
interface Scenario {
  inputs?: RawBuildInputs;
  /** The pod when its Job is created (default running); undefined with noPod: the controller makes none. */
  start?: PodShape;
  noPod?: boolean;
  /** The pod once its log has been read (default: build exited 0). */
  afterLog?: (attempt: number) => PodShape;
  /** Job conditions put once the pod is in its start shape (a failed or timed-out Job). */
  jobConditions?: V1JobCondition[];
  /** Move the clock this far on the first "Waiting:" report, and tell the watchers (ms). */
  advanceOnWait?: number;
}

const NODE = 'gke-pool-amd64-1';
const running: PodShape = { phase: 'Running', build: RUNNING, collector: RUNNING, nodeName: NODE };
const exited = (code: number, reason?: string): PodShape => ({
  ...running,
  build: terminated(code, reason),
});

function world(s: Scenario = {}): World {
  const spec = specOf({ context: '', ...s.inputs });
  const kube = new FakeKube();
  const store = new FakeStore();
  const clock = new FakeClock();
  const reporter = new RecordingReporter();
  const controller = new AbortController();
  const w: World = {
    spec,
    kube,
    store,
    clock,
    reporter,
    controller,
    current: undefined,
    run: () =>
      runBuild(spec, { kube, store, reporter, clock, tempDir: tmpdir() }, controller.signal),
  };
  kube.logLines = ['checking for gcc... gcc', 'make[1]: Entering directory', 'done'];
  kube.artifacts = [{ name: 'x86_64/hello-2.12-r0.apk', data: Buffer.from('apk bytes') }];
  kube.nodes.set(NODE, { metadata: { name: NODE, labels: { [NODE_POOL_LABEL]: 'pool-amd64' } } });
  kube.onJobCreated = (job, attempt) => {
    w.current = { job, attempt };
    if (s.noPod) return;
    kube.putPod(podOf(job, attempt, s.start ?? running));
    if (s.jobConditions)
      kube.putJob({ ...job, status: { conditions: s.jobConditions, failed: 1 } });
  };
  kube.onLogRead = () => {
    const { job, attempt } = w.current!;
    kube.putPod(podOf(job, attempt, s.afterLog?.(attempt) ?? exited(0)));
  };
  if (s.advanceOnWait !== undefined) {
    let moved = false;
    const info = reporter.info.bind(reporter);
    reporter.info = (m: string) => {
      info(m);
      if (moved || !m.startsWith('Waiting:')) return;
      moved = true;
      setImmediate(() => {
        clock.advance(s.advanceOnWait!);
        const { job, attempt } = w.current!;
        if (s.noPod) kube.putJob({ ...job });
        else kube.putPod(podOf(job, attempt, s.start ?? running));
      });
    };
  }
  return w;
}

test('runBuild: success streams the log, uploads artifacts and records, deletes the Job', async () => {
  const w = world();
  const r = await w.run();
  assert.equal(r.status, 'succeeded', r.message);
  assert.equal(r.exitCode, 0);
  assert.equal(r.nodeName, NODE);
  assert.equal(r.nodePool, 'pool-amd64');
  assert.deepEqual(w.reporter.build, w.kube.logLines);
  assert.equal(r.logLines, 3);
  const dest = w.spec.destination;
  assert.deepEqual(
    r.artifacts.map((a) => [a.name, a.uri]),
    [['x86_64/hello-2.12-r0.apk', `gs://bucket/${dest}/x86_64/hello-2.12-r0.apk`]],
  );
  assert.equal(w.store.objects.get(`${dest}/x86_64/hello-2.12-r0.apk`)?.toString(), 'apk bytes');
  assert.equal(
    w.store.objects.get(`${dest}/build.log`)?.toString(),
    `${w.kube.logLines.join('\n')}\n`,
  );
  const record = JSON.parse(w.store.objects.get(`${dest}/kbuild.json`)?.toString() ?? '{}');
  assert.equal(record.status, 'succeeded');
  assert.deepEqual(
    w.kube.calls.filter((c) => !c.startsWith('exec')),
    [`createJob ${w.spec.jobName}`, `deleteJob ${w.spec.jobName}`],
  );
  assert.ok(
    w.kube.calls.includes(`exec collector touch ${COLLECTED_MARKER}`),
    'the collector is released',
  );
});

test('runBuild: a failed build keeps its exit code, still collects, and deletes the Job', async () => {
  const w = world({ afterLog: () => exited(2) });
  const r = await w.run();
  assert.equal(r.status, 'failed');
  assert.equal(r.reason, 'Error');
  assert.equal(r.exitCode, 2);
  assert.match(r.message, /exited with code 2/);
  assert.deepEqual(r.lastLines, w.kube.logLines);
  assert.equal(r.artifacts.length, 1);
  assert.ok(w.kube.calls.includes(`deleteJob ${w.spec.jobName}`));
});

test('runBuild: each failure diagnosis (verdict.ts) becomes the result', async (t) => {
  const pending: PodShape = { phase: 'Pending' };
  const jobFailed = (reason: string): V1JobCondition[] => [
    { type: 'Failed', status: 'True', reason, message: `job ${reason}` },
  ];
  const cases: { name: string; s: Scenario; status: string; reason: string; message: RegExp }[] = [
    {
      name: 'image pull error',
      s: { start: { ...pending, build: waiting('ImagePullBackOff', 'pull access denied') } },
      status: 'failed',
      reason: 'ImagePullBackOff',
      message: /container build of pod .* cannot start: ImagePullBackOff .*pull access denied/,
    },
    {
      name: 'invalid image name',
      s: { start: { ...pending, build: waiting('InvalidImageName') } },
      status: 'failed',
      reason: 'InvalidImageName',
      message: /cannot start: InvalidImageName/,
    },
    {
      name: 'config error',
      s: { start: { ...pending, build: waiting('CreateContainerConfigError', 'no secret') } },
      status: 'failed',
      reason: 'CreateContainerConfigError',
      message: /no secret/,
    },
    {
      name: 'failed init container',
      s: { start: { ...pending, init: [{ name: 'stage', state: terminated(3) }] } },
      status: 'failed',
      reason: 'InitContainerFailed',
      message: /init container stage of pod .* exited with code 3/,
    },
    {
      name: 'unschedulable beyond pending_timeout',
      s: {
        start: {
          ...pending,
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: '0/4 nodes are available: 2 Insufficient cpu',
            },
          ],
        },
        advanceOnWait: 16 * 60_000,
      },
      status: 'failed',
      reason: 'Unschedulable',
      message: /unschedulable after 15m: 0\/4 nodes are available: 2 Insufficient cpu/,
    },
    {
      name: 'not started within pending_timeout',
      s: {
        start: {
          ...pending,
          conditions: [{ type: 'PodScheduled', status: 'True' }],
          build: waiting('ContainerCreating'),
        },
        advanceOnWait: 16 * 60_000,
      },
      status: 'failed',
      reason: 'PendingTimeout',
      message: /did not start within 15m \(ContainerCreating\)/,
    },
    {
      name: 'no pod within pending_timeout',
      s: { noPod: true, advanceOnWait: 16 * 60_000 },
      status: 'failed',
      reason: 'PendingTimeout',
      message: /no pod was created for .* within 15m/,
    },
    {
      name: 'out of memory',
      s: { afterLog: () => exited(137, 'OOMKilled') },
      status: 'failed',
      reason: 'OOMKilled',
      message: /ran out of memory \(limit 2Gi\) and was killed; raise input "memory"/,
    },
    {
      name: 'deadline exceeded (pod)',
      s: {
        afterLog: () => ({
          phase: 'Failed',
          reason: 'DeadlineExceeded',
          message: 'Pod was active too long',
        }),
      },
      status: 'timed_out',
      reason: 'DeadlineExceeded',
      message: /ran past its deadline: Pod was active too long; raise input "timeout"/,
    },
    {
      name: 'deadline exceeded (Job)',
      s: { start: pending, jobConditions: jobFailed('DeadlineExceeded') },
      status: 'timed_out',
      reason: 'DeadlineExceeded',
      message: /job .* ran past its deadline: job DeadlineExceeded; raise input "timeout"/,
    },
    {
      name: 'Job failed (backoff limit)',
      s: { start: pending, jobConditions: jobFailed('BackoffLimitExceeded') },
      status: 'failed',
      reason: 'BackoffLimitExceeded',
      message: /job .* failed \(BackoffLimitExceeded\): job BackoffLimitExceeded/,
    },
    {
      name: 'evicted',
      s: {
        afterLog: () => ({
          phase: 'Failed',
          reason: 'Evicted',
          message: 'The node was low on resource: ephemeral-storage',
        }),
      },
      status: 'failed',
      reason: 'Evicted',
      message: /was evicted: The node was low on resource: ephemeral-storage/,
    },
    {
      name: 'preempted, without spot: not retried',
      s: {
        afterLog: () => ({
          ...exited(143),
          phase: 'Failed',
          conditions: [
            {
              type: 'DisruptionTarget',
              status: 'True',
              reason: 'TerminationByKubelet',
              message: 'Pod was terminated in response to imminent node shutdown.',
            },
          ],
        }),
      },
      status: 'failed',
      reason: 'Preempted',
      message: /stopped by its node: Pod was terminated in response to imminent node shutdown/,
    },
    {
      name: 'pod failed for another reason',
      s: { afterLog: () => ({ phase: 'Failed', reason: 'UnexpectedAdmissionError' }) },
      status: 'failed',
      reason: 'UnexpectedAdmissionError',
      message: /failed: no message/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const w = world(c.s);
      const r = await w.run();
      assert.equal(r.status, c.status, r.message);
      assert.equal(r.reason, c.reason, r.message);
      assert.match(r.message, c.message);
      assert.ok(w.kube.calls.includes(`deleteJob ${w.spec.jobName}`), 'the Job is deleted');
    });
  }
});

test('runBuild: a failure lists the pod events', async () => {
  const w = world({ start: { phase: 'Pending', build: waiting('ErrImagePull', 'not found') } });
  const created = w.kube.onJobCreated!;
  w.kube.onJobCreated = (job, attempt) => {
    w.kube.events = [
      {
        metadata: {},
        involvedObject: { kind: 'Pod', name: `${job.metadata?.name}-${attempt}` },
        type: 'Warning',
        reason: 'Failed',
        message: 'Failed to pull image "nope": manifest unknown',
        lastTimestamp: new Date(w.clock.now()),
      },
    ];
    created(job, attempt);
  };
  const r = await w.run();
  assert.equal(r.reason, 'ErrImagePull');
  assert.match(r.message, /Recent events:\n.*Failed to pull image "nope": manifest unknown/s);
});

test('runBuild: the pod deleted under a running build is a failure', async () => {
  const w = world();
  w.kube.onLogRead = () => w.kube.removePod(`${w.spec.jobName}-1`);
  const r = await w.run();
  assert.equal(r.status, 'failed');
  assert.equal(r.reason, 'PodDeleted');
  assert.match(r.message, /was deleted before the build ended/);
});

test('runBuild: a Spot preemption is retried once on a new Job, and succeeds', async () => {
  const w = world({
    inputs: { spot: 'true' },
    afterLog: (attempt) =>
      attempt === 1
        ? {
            ...exited(137),
            phase: 'Failed',
            conditions: [
              {
                type: 'DisruptionTarget',
                status: 'True',
                reason: 'PreemptionByScheduler',
                message: 'Spot VM reclaimed',
              },
            ],
          }
        : exited(0),
  });
  const r = await w.run();
  assert.equal(r.status, 'succeeded', r.message);
  assert.equal(r.podName, `${w.spec.jobName}-2`);
  const name = w.spec.jobName;
  assert.deepEqual(
    w.kube.calls.filter((c) => !c.startsWith('exec')),
    [`createJob ${name}`, `deleteJob ${name}`, `createJob ${name}`, `deleteJob ${name}`],
  );
  assert.ok(
    w.reporter.lines.some((l) =>
      /^warning: pod .* was stopped by its node: Spot VM reclaimed; retrying the build once/.test(
        l,
      ),
    ),
    w.reporter.lines.join('\n'),
  );
});

test('runBuild: a second preemption is not retried again', async () => {
  const preempted: PodShape = {
    ...exited(137),
    phase: 'Failed',
    conditions: [{ type: 'DisruptionTarget', status: 'True', message: 'Spot VM reclaimed' }],
  };
  const w = world({ inputs: { spot: 'true' }, afterLog: () => preempted });
  const r = await w.run();
  assert.equal(r.status, 'failed');
  assert.equal(r.reason, 'Preempted');
  assert.equal(w.kube.calls.filter((c) => c.startsWith('createJob')).length, 2);
});

test('runBuild: cancellation at each phase deletes the Job and answers cancelled', async (t) => {
  const phases: { name: string; arm: (w: World) => void }[] = [
    { name: 'just created', arm: (w) => (w.kube.onPhase = undefined) },
    {
      name: 'waiting for the pod',
      arm: (w) => {
        const info = w.reporter.info.bind(w.reporter);
        w.reporter.info = (m) => {
          info(m);
          if (m.startsWith('Waiting:')) w.controller.abort(new Error('cancelled by SIGINT'));
        };
      },
    },
    {
      name: 'following the log',
      arm: (w) => (w.kube.onPhase = (p) => p === 'log' && w.controller.abort(new Error('x'))),
    },
    {
      name: 'collecting artifacts',
      arm: (w) => (w.kube.onPhase = (p) => p === 'collect' && w.controller.abort(new Error('x'))),
    },
  ];
  for (const p of phases) {
    await t.test(p.name, async () => {
      const w = world(p.name === 'waiting for the pod' ? { start: { phase: 'Pending' } } : {});
      p.arm(w);
      if (p.name === 'just created') {
        const created = w.kube.onJobCreated!;
        w.kube.onJobCreated = (job, attempt) => {
          created(job, attempt);
          w.controller.abort(new Error('cancelled by SIGTERM'));
        };
      }
      const r = await w.run();
      assert.equal(r.status, 'cancelled', r.message);
      assert.equal(r.reason, 'Cancelled');
      assert.equal(w.kube.calls.at(-1), `deleteJob ${w.spec.jobName}`);
      assert.equal(w.kube.jobs.size, 0);
    });
  }
});

test('runBuild: a large artifact refused for a checksum mismatch is fetched again from the pod', async () => {
  const w = world();
  const big = randomBytes((4 << 20) + 1);
  w.kube.artifacts = [{ name: 'big.tar', data: big }];
  const object = `${w.spec.destination}/big.tar`;
  w.store.mismatchOnce.add(object);
  const r = await w.run();
  assert.equal(r.status, 'succeeded', r.message);
  assert.equal(w.store.attempts.get(object), 2);
  assert.ok(w.store.objects.get(object)?.equals(big), 'the stored object is the file');
  const tars = w.kube.calls.filter((c) => c.startsWith('exec collector tar'));
  assert.deepEqual(tars, [
    'exec collector tar -c -f - -C /workspace/packages .',
    'exec collector tar -c -f - -C /workspace/packages ./big.tar',
  ]);
});

test('runBuild: a Job that already exists (409) is adopted and followed', async () => {
  const w = world();
  const job = renderManifests(w.spec).job!;
  w.kube.jobs.set(w.spec.jobName, job);
  w.current = { job, attempt: 1 };
  w.kube.putPod(podOf(job, 1, running));
  const r = await w.run();
  assert.equal(r.status, 'succeeded', r.message);
  assert.ok(
    w.reporter.lines.includes(
      `info: Found existing Job ${w.spec.namespace}/${w.spec.jobName} (amd64, image ${w.spec.image})`,
    ),
    w.reporter.lines.join('\n'),
  );
  assert.equal(w.kube.calls.filter((c) => c.startsWith('createJob')).length, 1);
});

test('runBuild: a refused create throws before anything runs', async () => {
  const w = world();
  w.kube.failCreateJob = new KubeApiError(403, 'Forbidden', 'jobs.batch is forbidden');
  await assert.rejects(w.run(), { name: 'KubeApiError', status: 403 });
  assert.equal(w.kube.pods.size, 0);
});
