// dispatcher-kueue.test.ts: the dispatcher's `queue_name` path against the lab's real Kueue
// controller (docs/lab.md, "Kueue"): nobody but Kueue unsuspends a Job here. A ClusterQueue whose
// quota holds 2 builds keeps the rest of a 6-build dispatch queued until quota frees up (counted
// from a pod watch, not from timing), and dependents wait for their dependencies as before, on
// both arches, with the ResourceFlavors of deploy/kubernetes/kueue.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseAllDocuments } from 'yaml';
import { startLabDispatcher } from '../../lab/dispatcher.ts';
import type { LocalServer } from '../../functions/dispatcher/local.ts';
import { jsonLogger } from '../../functions/dispatcher/log.ts';
import { byKey, DispatcherCalls, runId, TRIVIAL_BUILD } from './dispatch-calls.ts';
import { workloadOf } from './kueue.ts';
import { createNamespace, deleteNamespace, getJson } from './lab-kube.ts';
import { kubectl, labEnv } from './lab.ts';

const QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';
const RUN_LABEL = 'kbuild.dev/run-id';

let ns = '';
let server: LocalServer;
let d: DispatcherCalls;
/** cluster names the test's cluster-scoped objects (ResourceFlavors, ClusterQueues). */
const cluster: string[] = [];

before(async () => {
  ns = await createNamespace('kb-kueue');
  server = await startLabDispatcher({
    env: { KBUILD_NAMESPACE: ns },
    logger: jsonLogger(() => {}),
  });
  d = new DispatcherCalls(server.url);
  // The deploy kit's flavors, under this test's names: the arm64 one carries the toleration
  // Kueue adds to the pods it admits.
  const kit = parseAllDocuments(kubectl(['kustomize', 'deploy/kubernetes/kueue'])).map(
    (doc) => doc.toJSON() as KueueObject,
  );
  for (const arch of ['amd64', 'arm64']) {
    const flavor = kit.find((o) => o.kind === 'ResourceFlavor' && o.metadata.name.endsWith(arch));
    assert.ok(flavor, `deploy/kubernetes/kueue has a ResourceFlavor for ${arch}`);
    apply({ ...flavor, metadata: { name: `${ns}-${arch}` } });
  }
});
after(async () => {
  await server?.close();
  for (const name of cluster.reverse()) {
    kubectl(['delete', name, '--ignore-not-found', '--wait=false']);
  }
  deleteNamespace(ns);
});

/** KueueObject is a kueue.x-k8s.io object as plain JSON (v1beta2 unless it says otherwise). */
interface KueueObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: unknown;
}

/** apply applies one object and remembers cluster-scoped ones for cleanup. */
function apply(o: KueueObject): void {
  kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'kueue.x-k8s.io/v1beta2', ...o }));
  if (o.kind !== 'LocalQueue') cluster.push(`${o.kind.toLowerCase()}/${o.metadata.name}`);
}

/**
 * queue makes a ClusterQueue for this test's namespace with the given quota per arch (cpu, and
 * memory enough for any count), and a LocalQueue `name` pointing at it; answers the LocalQueue.
 */
function queue(name: string, cpu: Partial<Record<'amd64' | 'arm64', string>>): string {
  const cq = `${ns}-${name}`;
  apply({
    kind: 'ClusterQueue',
    metadata: { name: cq },
    spec: {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
      resourceGroups: [
        {
          coveredResources: ['cpu', 'memory'],
          flavors: Object.entries(cpu).map(([arch, quota]) => ({
            name: `${ns}-${arch}`,
            resources: [
              { name: 'cpu', nominalQuota: quota },
              { name: 'memory', nominalQuota: '64Gi' },
            ],
          })),
        },
      ],
    },
  });
  apply({
    kind: 'LocalQueue',
    metadata: { name, namespace: ns },
    spec: { clusterQueue: cq },
  });
  return name;
}

/**
 * PodCounter follows the pods of one run with `kubectl get pods --watch` and keeps the peak
 * number of active pods (neither Succeeded nor Failed; created, pending or running) and of
 * Running ones, as the watch reported them.
 */
class PodCounter {
  peakActive = 0;
  peakRunning = 0;
  readonly phases = new Map<string, string>();
  private readonly child: ChildProcess;

  constructor(selector: string) {
    this.child = spawn(
      'kubectl',
      [
        'get',
        'pods',
        '-n',
        ns,
        '-l',
        selector,
        '--watch',
        '--output-watch-events',
        '-o',
        'jsonpath={.type} {.object.metadata.name} {.object.status.phase}{"\\n"}',
      ],
      { env: { ...process.env, ...labEnv() }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const [type, name, phase = ''] = line.trim().split(' ');
      if (!type || !name) return;
      if (type === 'DELETED') this.phases.delete(name);
      else this.phases.set(name, phase);
      const all = [...this.phases.values()];
      const active = all.filter((p) => p !== 'Succeeded' && p !== 'Failed').length;
      const running = all.filter((p) => p === 'Running').length;
      this.peakActive = Math.max(this.peakActive, active);
      this.peakRunning = Math.max(this.peakRunning, running);
    });
  }

  stop(): void {
    this.child.kill();
  }
}

test('a ClusterQueue with quota for 2 builds runs a 6-build dispatch 2 at a time; all 6 succeed', async (t) => {
  // Each build asks for 500m cpu (its collector sidecar, if any, 10m more): 1200m holds 2, not 3.
  const name = queue('two-builds', { amd64: '1200m' });
  const run = runId();
  const pods = new PodCounter(`${RUN_LABEL}=${run}`);
  try {
    const token = await d.mint({ claims: { run_id: run } });
    const post = await d.call('POST', '/v1/dispatches', token, {
      ...TRIVIAL_BUILD,
      packages: ['q1', 'q2', 'q3', 'q4', 'q5', 'q6'],
      archs: ['amd64'],
      sha: '6'.repeat(40),
      cpu: '500m',
      command: "sh -c 'sleep 2; echo ok'",
      queue_name: name,
    });
    assert.equal(post.status, 202, JSON.stringify(post.body));
    assert.equal(post.body.created, 6);
    const done = await d.follow(post.body.dispatch_id!, token, 300_000);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.builds));
    assert.deepEqual(
      done.builds?.map((b) => b.status),
      Array(6).fill('succeeded'),
    );
  } finally {
    pods.stop();
  }
  t.diagnostic(`peak: ${pods.peakActive} active build pods, ${pods.peakRunning} running`);
  assert.equal(pods.phases.size, 6, `one pod per build: ${[...pods.phases.keys()].join(', ')}`);
  assert.ok(pods.peakActive <= 2, `at most 2 build pods at once, saw ${pods.peakActive}`);
  assert.equal(pods.peakRunning, 2, 'the quota is used: 2 builds ran side by side');
  // The four that waited were held back by Kueue for quota.
  const waits = kubectl([
    'get',
    'events',
    '-n',
    ns,
    '--field-selector',
    'involvedObject.kind=Workload,reason=Pending',
    '-o',
    'jsonpath={range .items[*]}{.message}{"\\n"}{end}',
  ]);
  assert.match(waits, /insufficient unused quota for cpu in flavor/);
});

test('dependents wait for their dependencies, then Kueue admits them on the right flavor', async () => {
  const name = queue('deps', { amd64: '4', arm64: '4' });
  const token = await d.mint({ claims: { run_id: runId() } });
  const post = await d.call('POST', '/v1/dispatches', token, {
    ...TRIVIAL_BUILD,
    packages: ['qbase', 'qapp'],
    sha: '7'.repeat(40),
    command: "sh -c 'sleep 2; echo ok'",
    queue_name: name,
    dependencies: { qapp: ['qbase'] },
  });
  assert.equal(post.status, 202, JSON.stringify(post.body));
  const id = post.body.dispatch_id!;
  const built = byKey(post.body.builds);
  type Job = {
    metadata: { name: string; labels: Record<string, string> };
    spec: { suspend?: boolean };
    status: { completionTime?: string };
  };
  const job = (key: string) => getJson<Job>(['job', '-n', ns, built[key]!.job_name]);
  // Held back without the queue label (Kueue ignores it) until qbase succeeded.
  for (const arch of ['amd64', 'arm64']) {
    const app = job(`qapp/${arch}`);
    assert.equal(app.spec.suspend, true);
    assert.equal(app.metadata.labels[QUEUE_LABEL], undefined, `qapp/${arch} held back`);
    assert.equal(job(`qbase/${arch}`).metadata.labels[QUEUE_LABEL], name);
  }
  const done = await d.follow(id, token, 300_000);
  assert.equal(done.state, 'succeeded', JSON.stringify(done.builds));

  const podsOf = (key: string) =>
    getJson<{
      items: {
        metadata: { creationTimestamp: string };
        spec: { nodeName: string; tolerations?: { key?: string; value?: string }[] };
      }[];
    }>(['pods', '-n', ns, '-l', `kbuild.dev/build-id=${built[key]!.build_id}`]).items;
  for (const arch of ['amd64', 'arm64']) {
    for (const pkg of ['qbase', 'qapp']) {
      const key = `${pkg}/${arch}`;
      const w = workloadOf(ns, built[key]!.job_name);
      assert.ok(w?.status?.admission, `Kueue admitted ${key}`);
      assert.equal(w.status.admission.clusterQueue, `${ns}-deps`);
      assert.deepEqual(
        Object.values(w.status.admission.podSetAssignments[0]?.flavors ?? {}),
        [`${ns}-${arch}`, `${ns}-${arch}`],
        `${key} got the ${arch} flavor for cpu and memory`,
      );
      const [pod, ...more] = podsOf(key);
      assert.ok(pod && more.length === 0, `one pod for ${key}`);
      const node = getJson<{ metadata: { labels: Record<string, string> } }>([
        'node',
        pod.spec.nodeName,
      ]);
      assert.equal(node.metadata.labels['cloud.google.com/gke-nodepool'], `${arch}-pool`);
    }
    // qapp's pod was created only after qbase (same arch) completed.
    const completed = Date.parse(job(`qbase/${arch}`).status.completionTime ?? '');
    const created = Date.parse(podsOf(`qapp/${arch}`)[0]!.metadata.creationTimestamp);
    assert.ok(
      created >= Math.floor(completed / 1000) * 1000,
      `qapp/${arch} started before qbase/${arch} ended`,
    );
  }
});
