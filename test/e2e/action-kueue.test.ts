// action-kueue.test.ts: the bundled action's `queue_name` path against the lab's real Kueue
// controller (docs/lab.md, "Kueue"). A build through deploy/kubernetes/kueue as a user installs
// it (namespace kbuild, LocalQueue `builds`) is admitted on the arm64 flavor, ephemeral_storage
// included; and the time a build waits in a full queue does not count against its
// pending_timeout, which starts when Kueue admits the Job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labInputs, runStep } from './action.ts';
import { workloadOf } from './kueue.ts';
import { getJson, uniqueName, waitFor } from './lab-kube.ts';
import { kubectl } from './lab.ts';

/** NS is the build namespace of deploy/kubernetes/lab, where the builder's Role applies. */
const NS = 'kbuild';

const BUILD = {
  image: 'debian:bookworm',
  context: '',
  package_target: '',
  command: "sh -c 'sleep 2; echo ok'",
  memory: '256Mi',
};

test('a build through deploy/kubernetes/kueue: admitted on the arm64 flavor, ephemeral_storage covered', async () => {
  kubectl(['apply', '-k', 'deploy/kubernetes/lab']);
  kubectl(['apply', '-k', 'deploy/kubernetes/kueue']);
  kubectl(['wait', '--for=condition=Active', '--timeout=60s', '-n', NS, 'localqueue/builds']);
  const run = await runStep({
    inputs: {
      ...labInputs(),
      ...BUILD,
      namespace: NS,
      queue_name: 'builds',
      arch: 'arm64',
      cpu: '250m',
      ephemeral_storage: '1Gi',
      keep: 'true',
    },
  });
  const job = run.outputs['job_name'] ?? '';
  try {
    assert.equal(run.code, 0, `${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`);
    assert.equal(run.outputs['status'], 'succeeded');
    const w = workloadOf(NS, job);
    assert.ok(w?.status?.admission, `Kueue admitted ${job}`);
    assert.equal(w.status.admission.clusterQueue, 'kbuild');
    assert.deepEqual(w.status.admission.podSetAssignments[0]?.flavors, {
      cpu: 'kbuild-arm64',
      'ephemeral-storage': 'kbuild-arm64',
      memory: 'kbuild-arm64',
    });
  } finally {
    if (job) kubectl(['delete', 'job', '-n', NS, job, '--ignore-not-found', '--wait=false']);
  }
});

test('time queued in Kueue does not count against pending_timeout', async (t) => {
  // A ClusterQueue for the build namespace with room for one 500m build, held by a blocker Job
  // for longer than the build's pending_timeout.
  kubectl(['apply', '-k', 'deploy/kubernetes/lab']);
  const name = uniqueName('kb-one-build');
  const objects = [
    `resourceflavor/${name}`,
    `clusterqueue/${name}`,
    `localqueue/${name}`,
    `job/${name}-blocker`,
  ];
  t.after(() => kubectl(['delete', '-n', NS, ...objects, '--ignore-not-found', '--wait=false']));
  kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'kueue.x-k8s.io/v1beta2',
          kind: 'ResourceFlavor',
          metadata: { name },
          spec: { nodeLabels: { 'kubernetes.io/arch': 'amd64' } },
        },
        {
          apiVersion: 'kueue.x-k8s.io/v1beta2',
          kind: 'ClusterQueue',
          metadata: { name },
          spec: {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } },
            resourceGroups: [
              {
                coveredResources: ['cpu', 'memory'],
                flavors: [
                  {
                    name,
                    resources: [
                      { name: 'cpu', nominalQuota: '600m' },
                      { name: 'memory', nominalQuota: '8Gi' },
                    ],
                  },
                ],
              },
            ],
          },
        },
        {
          apiVersion: 'kueue.x-k8s.io/v1beta2',
          kind: 'LocalQueue',
          metadata: { name, namespace: NS },
          spec: { clusterQueue: name },
        },
      ],
    }),
  );
  kubectl(['wait', '--for=condition=Active', '--timeout=60s', '-n', NS, `localqueue/${name}`]);
  kubectl(
    ['create', '-n', NS, '-f', '-'],
    JSON.stringify({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: `${name}-blocker`, labels: { 'kueue.x-k8s.io/queue-name': name } },
      spec: {
        suspend: true,
        template: {
          spec: {
            restartPolicy: 'Never',
            nodeSelector: { 'kubernetes.io/arch': 'amd64' },
            containers: [
              {
                name: 'main',
                image: 'debian:bookworm',
                command: ['sh', '-c', 'sleep 30'],
                resources: { requests: { cpu: '500m', memory: '64Mi' } },
              },
            ],
          },
        },
      },
    }),
  );
  await waitFor('the blocker admitted', 60_000, () =>
    getJson<{ spec: { suspend?: boolean } }>(['job', '-n', NS, `${name}-blocker`]).spec.suspend ===
    false
      ? true
      : undefined,
  );

  const run = await runStep({
    inputs: {
      ...labInputs(),
      ...BUILD,
      namespace: NS,
      queue_name: name,
      cpu: '500m',
      pending_timeout: '10s',
      keep: 'true',
    },
  });
  const job = run.outputs['job_name'] ?? '';
  if (job) objects.push(`job/${job}`);
  const log = `${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`;
  assert.equal(run.code, 0, log);
  assert.equal(run.outputs['status'], 'succeeded');
  assert.match(run.stdout, new RegExp(`queued in ${name}, waiting for admission`), log);
  // It did wait in the queue for longer than pending_timeout: from its creation until Kueue
  // unsuspended it (the Job's startTime), while the blocker held the quota.
  const built = getJson<{ metadata: { creationTimestamp: string }; status: { startTime: string } }>(
    ['job', '-n', NS, job],
  );
  const queued =
    (Date.parse(built.status.startTime) - Date.parse(built.metadata.creationTimestamp)) / 1000;
  t.diagnostic(`queued for ${queued} s with pending_timeout 10s`);
  assert.ok(queued > 10, `queued for ${queued} s only`);
});
