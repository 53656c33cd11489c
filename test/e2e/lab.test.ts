// lab.test.ts: the lab's node pools and scheduler behave like GKE where
// kbuild-action depends on them (docs/design.md, "The lab", docs/lab.md): the three
// node pools with GKE's labels, taints and allocatable; a Job for arm64 runs on
// an arm64 node only with the toleration; requests over the allocatable stay
// Pending. Pods: lab-pods.test.ts; GCS: lab-gcs.test.ts; a build:
// lab-build.test.ts; up and down: lab-down.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubectl } from './lab.ts';
import { create, getJson, podEvents, useScope, waitFor, type PodLike } from './lab-kube.ts';

const IMAGE = 'debian:bookworm';
const ARM64_TOLERATION = {
  key: 'kubernetes.io/arch',
  operator: 'Equal',
  value: 'arm64',
  effect: 'NoSchedule',
};

const scope = useScope('lab-sched-e2e');

interface NodeLike {
  metadata: { name: string; labels: Record<string, string> };
  spec: { taints?: { key: string; value?: string; effect: string }[] };
  status: {
    allocatable: Record<string, string>;
    capacity: Record<string, string>;
    conditions: { type: string; status: string }[];
    nodeInfo: { architecture: string };
  };
}

// The node pools of the table: GKE's e2-standard-4 and t2a-standard-4
// (4 vCPU, 16 GB) with GKE's system reservations taken off the allocatable.
const POOLS = [
  { pool: 'amd64-pool', count: 2, arch: 'amd64', type: 'e2-standard-4', taints: [], spot: false },
  {
    pool: 'arm64-pool',
    count: 2,
    arch: 'arm64',
    type: 't2a-standard-4',
    taints: ['kubernetes.io/arch=arm64:NoSchedule'],
    spot: false,
  },
  {
    pool: 'spot-pool',
    count: 1,
    arch: 'amd64',
    type: 'e2-standard-4',
    taints: ['cloud.google.com/gke-spot=true:NoSchedule'],
    spot: true,
  },
];
const ALLOCATABLE = { cpu: '3920m', memory: '13484052Ki', pods: '110' };

test('kubectl get nodes shows the three node pools with GKE labels, taints and allocatable', () => {
  const table = kubectl(['get', 'nodes', '-L', 'kubernetes.io/arch,cloud.google.com/gke-nodepool']);
  const [header = '', ...rows] = table.trim().split('\n');
  assert.match(header, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+ARCH\s+GKE-NODEPOOL$/);
  // gk3- nodes are the Autopilot stand-in's (lab/config/autopilot.yaml, test/e2e/autopilot.test.ts).
  const seen = rows
    .map((r) => r.trim().split(/\s+/))
    .filter((cols) => !cols[0]?.startsWith('gk3-'));
  for (const want of POOLS) {
    const inPool = seen.filter((cols) => cols[6] === want.pool);
    assert.equal(inPool.length, want.count, `${want.pool} in:\n${table}`);
    for (const cols of inPool) {
      assert.equal(cols[1], 'Ready', `${cols[0]} status`);
      assert.equal(cols[5], want.arch, `${cols[0]} arch column`);
    }
  }
  assert.equal(seen.length, 5, `exactly five nodes:\n${table}`);

  const nodes = getJson<{ items: NodeLike[] }>(['nodes']).items;
  for (const want of POOLS) {
    const inPool = nodes.filter(
      (n) => n.metadata.labels['cloud.google.com/gke-nodepool'] === want.pool,
    );
    assert.equal(inPool.length, want.count, want.pool);
    for (const n of inPool) {
      const name = n.metadata.name;
      assert.match(name, new RegExp(`^gke-lab-${want.pool}-[0-9a-f]{4}-\\d$`));
      const labels = n.metadata.labels;
      assert.equal(labels['kubernetes.io/arch'], want.arch, name);
      assert.equal(labels['node.kubernetes.io/instance-type'], want.type, name);
      assert.equal(labels['kubernetes.io/os'], 'linux', name);
      assert.equal(labels['topology.kubernetes.io/zone'], 'us-central1-a', name);
      assert.equal(labels['cloud.google.com/gke-spot'], want.spot ? 'true' : undefined, name);
      assert.equal(n.status.nodeInfo.architecture, want.arch, name);
      const taints = (n.spec.taints ?? []).map((t) => `${t.key}=${t.value ?? ''}:${t.effect}`);
      assert.deepEqual(taints, want.taints, name);
      assert.equal(n.status.capacity['cpu'], '4', name);
      for (const [resource, value] of Object.entries(ALLOCATABLE)) {
        assert.equal(n.status.allocatable[resource], value, `${name} allocatable ${resource}`);
      }
      const ready = n.status.conditions.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'True', `${name} Ready`);
    }
  }
});

/** job is a Job of one pod that runs `sh -c script` once (no retries). */
function job(name: string, script: string, pod: Record<string, unknown>): object {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          ...pod,
          containers: [{ name: 'main', image: IMAGE, command: ['sh', '-c', script] }],
        },
      },
    },
  };
}

/** podOfJob waits for the pod the Job controller created and answers its name. */
function podOfJob(name: string): Promise<string> {
  return waitFor(`the pod of job ${name}`, 60_000, () => {
    const pods = getJson<{ items: PodLike[] }>([
      'pods',
      '-n',
      scope.ns,
      '-l',
      `job-name=${name}`,
    ]).items;
    return pods[0]?.metadata.name;
  });
}

/** schedulingFailure waits for the pod's FailedScheduling event and answers its message. */
function schedulingFailure(pod: string): Promise<string> {
  return waitFor(
    `FailedScheduling for ${pod}`,
    60_000,
    () => podEvents(scope.ns, pod).find((e) => e.reason === 'FailedScheduling')?.message,
  );
}

test('a Job with the arm64 nodeSelector and toleration completes on an arm64 node', async () => {
  const name = 'arm64-ok';
  create(
    scope.ns,
    job(name, 'echo built on $(cat /proc/sys/kernel/hostname)', {
      nodeSelector: { 'kubernetes.io/arch': 'arm64' },
      tolerations: [ARM64_TOLERATION],
    }),
  );
  await waitFor(`job ${name} complete`, 120_000, () => {
    const j = getJson<{ status: { succeeded?: number; failed?: number } }>([
      'job',
      '-n',
      scope.ns,
      name,
    ]);
    if (j.status.failed) throw new Error(`job ${name} failed`);
    return j.status.succeeded === 1 ? true : undefined;
  });
  const pod = getJson<PodLike>(['pod', '-n', scope.ns, await podOfJob(name)]);
  assert.equal(pod.status.phase, 'Succeeded');
  const node = getJson<NodeLike>(['node', pod.spec.nodeName ?? '']);
  assert.equal(node.metadata.labels['kubernetes.io/arch'], 'arm64');
  assert.equal(node.metadata.labels['cloud.google.com/gke-nodepool'], 'arm64-pool');
  assert.equal(
    kubectl(['logs', '-n', scope.ns, pod.metadata.name]),
    `built on ${pod.metadata.name}\n`,
  );
});

test('a Job with the arm64 nodeSelector but no toleration stays Pending: untolerated taint', async () => {
  const name = 'arm64-untolerated';
  create(scope.ns, job(name, 'true', { nodeSelector: { 'kubernetes.io/arch': 'arm64' } }));
  const pod = await podOfJob(name);
  const message = await schedulingFailure(pod);
  assert.match(message, /^0\/6 nodes are available: /);
  // The two arm64 nodes, the Spot node and the Autopilot stand-in's node have taints the pod
  // does not tolerate.
  assert.match(message, /4 node\(s\) had untolerated taint/);
  assert.match(message, /2 node\(s\) didn't match Pod's node affinity\/selector/);
  const p = getJson<PodLike>(['pod', '-n', scope.ns, pod]);
  assert.equal(p.status.phase, 'Pending');
  assert.equal(p.spec.nodeName, undefined);
});

// Requests just over the allocatable (but under the capacity) do not fit.
const TOO_BIG = [
  { name: 'cpu-5', requests: { cpu: '5' }, want: /: 2 Insufficient cpu/ },
  { name: 'cpu-over-allocatable', requests: { cpu: '3950m' }, want: /: 2 Insufficient cpu/ },
  {
    name: 'memory-over-allocatable',
    requests: { memory: '13Gi' },
    want: /: 2 Insufficient memory/,
  },
];
for (const c of TOO_BIG) {
  test(`a pod requesting ${JSON.stringify(c.requests)} on amd64 stays Pending`, async () => {
    create(scope.ns, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: c.name },
      spec: {
        restartPolicy: 'Never',
        nodeSelector: { 'kubernetes.io/arch': 'amd64' },
        containers: [
          { name: 'main', image: IMAGE, command: ['true'], resources: { requests: c.requests } },
        ],
      },
    });
    assert.match(await schedulingFailure(c.name), c.want);
    assert.equal(getJson<PodLike>(['pod', '-n', scope.ns, c.name]).status.phase, 'Pending');
  });
}
