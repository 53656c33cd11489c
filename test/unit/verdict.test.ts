import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  CoreV1Event,
  V1ContainerState,
  V1Job,
  V1Pod,
  V1PodCondition,
} from '@kubernetes/client-node';
import { formatEvents } from '../../src/core/kube/events.ts';
import { jobVerdict, podVerdict, type Verdict } from '../../src/core/build/verdict.ts';

const NAME = 'kb-brotli-arm64-3f2a';
const T0 = new Date('2025-01-01T10:00:00Z');
const OPTS = { pendingTimeoutSeconds: 900, startedWaitingAt: T0 };

interface PodShape {
  phase?: string;
  reason?: string;
  message?: string;
  conditions?: V1PodCondition[];
  init?: Record<string, V1ContainerState>;
  containers?: Record<string, V1ContainerState>;
}

function pod(s: PodShape): V1Pod {
  const statuses = (m: Record<string, V1ContainerState> = {}) =>
    Object.entries(m).map(([name, state]) => ({
      name,
      state,
      image: 'img:1',
      imageID: '',
      ready: false,
      restartCount: 0,
    }));
  return {
    metadata: { name: NAME, uid: 'u1' },
    spec: { containers: [{ name: 'build', resources: { limits: { memory: '2Gi' } } }] },
    status: {
      phase: s.phase ?? 'Pending',
      reason: s.reason,
      message: s.message,
      conditions: s.conditions,
      initContainerStatuses: statuses(s.init),
      containerStatuses: statuses(s.containers),
    },
  };
}

const EVENTS: CoreV1Event[] = [
  {
    metadata: {},
    involvedObject: { kind: 'Pod', name: NAME, uid: 'u1' },
    reason: 'FailedScheduling',
    type: 'Warning',
    message: '0/4 nodes are available: 2 node(s) had untolerated taint',
    lastTimestamp: new Date('2025-01-01T10:01:00Z'),
    count: 3,
  },
  {
    metadata: {},
    involvedObject: { kind: 'Pod', name: 'other-pod', uid: 'u2' },
    reason: 'Scheduled',
    type: 'Normal',
    message: 'elsewhere',
    lastTimestamp: new Date('2025-01-01T10:00:30Z'),
  },
];

const unschedulable: V1PodCondition = {
  type: 'PodScheduled',
  status: 'False',
  reason: 'Unschedulable',
  message: '0/4 nodes are available: 2 node(s) had untolerated taint {kubernetes.io/arch: arm64}.',
};
const scheduled: V1PodCondition = { type: 'PodScheduled', status: 'True' };
const running = { running: { startedAt: T0 } };
const term = (exitCode: number, reason = exitCode ? 'Error' : 'Completed', message?: string) => ({
  terminated: { exitCode, reason, message },
});
const wait = (reason: string, message?: string) => ({ waiting: { reason, message } });

const cases: ReadonlyArray<{
  name: string;
  input: [V1Pod, number?];
  want: Partial<Verdict>;
  message?: RegExp;
}> = [
  { name: 'just created', input: [pod({})], want: { state: 'pending', reason: 'Pending' } },
  {
    name: 'unschedulable within pending timeout',
    input: [pod({ conditions: [unschedulable] }), 60],
    want: { state: 'pending', reason: 'Unschedulable' },
    message: /waiting for a node: 0\/4 nodes/,
  },
  {
    name: 'unschedulable after pending timeout',
    input: [pod({ conditions: [unschedulable] }), 901],
    want: { state: 'failed', reason: 'Unschedulable' },
    message:
      /^pod kb-brotli-arm64-3f2a is unschedulable after 15m: 0\/4 nodes are available: 2 node\(s\) had untolerated taint \{kubernetes.io\/arch: arm64\}\.\nlast events:\nLAST SEEN/,
  },
  {
    name: 'image pull back-off fails at once',
    input: [
      pod({
        conditions: [scheduled],
        containers: { build: wait('ImagePullBackOff', 'Back-off pulling image "img:1"') },
      }),
      5,
    ],
    want: { state: 'failed', reason: 'ImagePullBackOff' },
    message:
      /container build of pod kb-brotli-arm64-3f2a cannot start: ImagePullBackOff \(image img:1\): Back-off pulling/,
  },
  {
    name: 'ErrImagePull in an init container',
    input: [pod({ conditions: [scheduled], init: { stage: wait('ErrImagePull', 'not found') } })],
    want: { state: 'failed', reason: 'ErrImagePull' },
    message: /container stage/,
  },
  {
    name: 'invalid image name',
    input: [pod({ containers: { build: wait('InvalidImageName') } })],
    want: { state: 'failed', reason: 'InvalidImageName' },
  },
  {
    name: 'config error',
    input: [
      pod({ containers: { build: wait('CreateContainerConfigError', 'secret "kb-x" not found') } }),
    ],
    want: { state: 'failed', reason: 'CreateContainerConfigError' },
    message: /secret "kb-x" not found/,
  },
  {
    name: 'pulling image within the timeout',
    input: [
      pod({ conditions: [scheduled], containers: { build: wait('ContainerCreating') } }),
      100,
    ],
    want: { state: 'pending', reason: 'ContainerCreating' },
  },
  {
    name: 'never started after the timeout',
    input: [
      pod({ conditions: [scheduled], containers: { build: wait('ContainerCreating') } }),
      1000,
    ],
    want: { state: 'failed', reason: 'PendingTimeout' },
    message: /did not start within 15m \(ContainerCreating\); raise input "pending_timeout"/,
  },
  {
    name: 'staging in an init container is not pending-timed',
    input: [
      pod({
        conditions: [scheduled],
        init: { stage: running },
        containers: { build: wait('PodInitializing') },
      }),
      5000,
    ],
    want: { state: 'pending', reason: 'Initializing' },
  },
  {
    name: 'stage init container gave up',
    input: [pod({ init: { stage: term(1, 'Error', 'no source was staged') } })],
    want: { state: 'failed', reason: 'InitContainerFailed' },
    message:
      /init container stage of pod kb-brotli-arm64-3f2a exited with code 1: no source was staged/,
  },
  {
    name: 'running',
    input: [pod({ phase: 'Running', containers: { build: running, collector: running } })],
    want: { state: 'running', reason: 'Running' },
  },
  {
    name: 'build succeeded, collector still waiting',
    input: [pod({ phase: 'Running', containers: { build: term(0), collector: running } })],
    want: { state: 'succeeded', reason: 'Completed', exitCode: 0 },
  },
  {
    name: 'build exited 2',
    input: [pod({ phase: 'Running', containers: { build: term(2), collector: running } })],
    want: { state: 'failed', reason: 'Error', exitCode: 2 },
    message: /build in pod kb-brotli-arm64-3f2a exited with code 2$/,
  },
  {
    name: 'OOMKilled',
    input: [pod({ phase: 'Failed', containers: { build: term(137, 'OOMKilled') } })],
    want: { state: 'failed', reason: 'OOMKilled', exitCode: 137 },
    message: /ran out of memory \(limit 2Gi\) and was killed; raise input "memory"/,
  },
  {
    name: 'evicted',
    input: [
      pod({
        phase: 'Failed',
        reason: 'Evicted',
        message: 'The node was low on resource: ephemeral-storage.',
      }),
    ],
    want: { state: 'failed', reason: 'Evicted' },
    message: /was evicted: The node was low on resource: ephemeral-storage/,
  },
  {
    name: 'deadline exceeded',
    input: [
      pod({
        phase: 'Failed',
        reason: 'DeadlineExceeded',
        message: 'Pod was active on the node longer than the specified deadline',
        containers: { build: term(137) },
      }),
    ],
    want: { state: 'timed_out', reason: 'DeadlineExceeded', exitCode: 137 },
    message: /raise input "timeout"/,
  },
  {
    name: 'spot preemption is retryable',
    input: [
      pod({
        phase: 'Failed',
        reason: 'Terminated',
        message: 'Pod was terminated in response to imminent node shutdown.',
        conditions: [
          {
            type: 'DisruptionTarget',
            status: 'True',
            reason: 'TerminationByKubelet',
            message: 'Pod was terminated in response to imminent node shutdown.',
          },
        ],
        containers: { build: term(143) },
      }),
    ],
    want: { state: 'failed', reason: 'Preempted', retryable: true, exitCode: 143 },
    message: /stopped by its node: Pod was terminated in response to imminent node shutdown/,
  },
  {
    name: 'pod succeeded without statuses',
    input: [pod({ phase: 'Succeeded' })],
    want: { state: 'succeeded' },
  },
  {
    name: 'pod failed otherwise',
    input: [pod({ phase: 'Failed', reason: 'UnexpectedAdmissionError', message: 'x' })],
    want: { state: 'failed', reason: 'UnexpectedAdmissionError' },
  },
];

for (const c of cases) {
  test(`podVerdict: ${c.name}`, () => {
    const [p, seconds = 0] = c.input;
    const v = podVerdict(p, EVENTS, new Date(T0.getTime() + seconds * 1000), OPTS);
    assert.deepEqual(
      Object.fromEntries(Object.keys(c.want).map((k) => [k, v[k as keyof Verdict]])),
      c.want,
    );
    if (c.message) assert.match(v.message, c.message);
    if (v.state === 'failed' && !('exitCode' in c.want)) {
      assert.match(v.message, /FailedScheduling/);
      assert.doesNotMatch(v.message, /elsewhere/);
    }
  });
}

test('formatEvents lists the last events oldest first in aligned columns', () => {
  assert.deepEqual(formatEvents(EVENTS, 10).split('\n'), [
    'LAST SEEN  TYPE     REASON            OBJECT                    MESSAGE',
    '10:00:30   Normal   Scheduled         pod/other-pod             elsewhere',
    '10:01:00   Warning  FailedScheduling  pod/kb-brotli-arm64-3f2a  0/4 nodes are available: 2 node(s) had untolerated taint (x3)',
  ]);
  assert.equal(formatEvents(EVENTS, 1).split('\n').length, 2);
  assert.match(formatEvents(EVENTS, 1), /FailedScheduling/);
  assert.equal(formatEvents([], 5), '(no events)');
});

function job(
  conditions: Array<[string, string?, string?]>,
  extra: { suspend?: boolean; active?: number } = {},
): V1Job {
  return {
    metadata: { name: 'kb-hello-amd64-1234', labels: { 'kueue.x-k8s.io/queue-name': 'team-a' } },
    spec: { template: {}, suspend: extra.suspend },
    status: {
      active: extra.active,
      conditions: conditions.map(([type, reason, message]) => ({
        type,
        status: 'True',
        reason,
        message,
      })),
    },
  };
}

test('jobVerdict', () => {
  const cases: ReadonlyArray<{
    name: string;
    input: V1Job;
    want: Partial<Verdict>;
    message?: RegExp;
  }> = [
    {
      name: 'complete',
      input: job([['Complete']]),
      want: { state: 'succeeded', reason: 'Complete' },
    },
    {
      name: 'success criteria met',
      input: job([['SuccessCriteriaMet', 'CompletionsReached']]),
      want: { state: 'succeeded' },
    },
    {
      name: 'deadline',
      input: job([['Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline']]),
      want: { state: 'timed_out', reason: 'DeadlineExceeded' },
      message: /job kb-hello-amd64-1234 ran past its deadline: Job was active longer/,
    },
    {
      name: 'backoff',
      input: job([
        ['Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'],
      ]),
      want: { state: 'failed', reason: 'BackoffLimitExceeded' },
    },
    {
      name: 'failure target',
      input: job([['FailureTarget', 'PodFailurePolicy']]),
      want: { state: 'failed', reason: 'PodFailurePolicy' },
    },
    {
      name: 'suspended by kueue',
      input: job([['Suspended', 'JobSuspended']], { suspend: true }),
      want: { state: 'queued', reason: 'Suspended' },
      message: /queued in team-a/,
    },
    {
      name: 'suspend without condition yet',
      input: job([], { suspend: true }),
      want: { state: 'queued' },
    },
    { name: 'active', input: job([], { active: 1 }), want: { state: 'running' } },
    { name: 'new', input: job([]), want: { state: 'pending' } },
  ];
  for (const c of cases) {
    const v = jobVerdict(c.input);
    assert.deepEqual(
      Object.fromEntries(Object.keys(c.want).map((k) => [k, v[k as keyof Verdict]])),
      c.want,
      c.name,
    );
    if (c.message) assert.match(v.message, c.message, c.name);
  }
  const falseCondition = job([]);
  falseCondition.status!.conditions = [{ type: 'Complete', status: 'False' }];
  assert.equal(jobVerdict(falseCondition).state, 'pending');
});
