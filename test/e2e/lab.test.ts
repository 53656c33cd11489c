// lab.test.ts: the lab itself behaves like GKE where kbuild-action depends on
// it (DESIGN.md section 8, docs/lab.md): the three node pools with GKE's
// labels, taints and allocatable; scheduling by arch, taint and resources;
// `kubectl logs -f` and exit codes; `kubectl exec` with tar, byte for byte;
// the GCS stand-in through gcloud; and an idempotent `lab.sh up`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gcloud } from './action.ts';
import { kubectl, labEnv, ROOT } from './lab.ts';
import {
  create,
  getJson,
  mustShell,
  podEvents,
  readPids,
  waitFor,
  waitForPhase,
  type PodLike,
  useScope,
} from './lab-kube.ts';
import { makeTree, snapshotTree } from './lab-tree.ts';

const IMAGE = 'debian:bookworm';
const ARM64_TOLERATION = {
  key: 'kubernetes.io/arch',
  operator: 'Equal',
  value: 'arm64',
  effect: 'NoSchedule',
};

const scope = useScope('lab-e2e');

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
  const seen = rows.map((r) => r.trim().split(/\s+/));
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
  assert.match(message, /^0\/5 nodes are available: /);
  // The two arm64 nodes and the Spot node have taints the pod does not tolerate.
  assert.match(message, /3 node\(s\) had untolerated taint/);
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

/** sleeper creates a pod whose one container `main` waits, and waits until it runs. */
async function sleeper(name: string, script: string): Promise<void> {
  create(scope.ns, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image: IMAGE, command: ['sh', '-c', script] }],
    },
  });
  await waitForPhase(scope.ns, name, ['Running'], 60_000);
}

test('kubectl logs -f shows exactly the 1000 lines, and the pod ends with exit code 3 (Error)', async () => {
  const name = 'counter';
  // The loop starts once /workspace/go exists, so the log is followed while it is written.
  await sleeper(
    name,
    'while [ ! -e /workspace/go ]; do sleep 0.1; done; for i in $(seq 1 1000); do echo line $i; done; exit 3',
  );
  const follow = spawn('kubectl', ['logs', '-f', '-n', scope.ns, name], {
    env: { ...process.env, ...labEnv() },
  });
  const chunks: Buffer[] = [];
  follow.stdout.on('data', (c: Buffer) => chunks.push(c));
  let stderr = '';
  follow.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((res) => follow.on('close', (code) => res(code)));
  kubectl(['exec', '-n', scope.ns, name, '--', 'touch', '/workspace/go']);
  assert.equal(await exited, 0, `kubectl logs -f: ${stderr}`);

  const want = Array.from({ length: 1000 }, (_, i) => `line ${i + 1}\n`).join('');
  assert.equal(Buffer.concat(chunks).toString('utf8'), want);
  const pod = await waitForPhase(scope.ns, name, ['Failed', 'Succeeded'], 60_000);
  assert.equal(pod.status.phase, 'Failed');
  const terminated = pod.status.containerStatuses?.[0]?.state?.terminated;
  assert.deepEqual(
    { exitCode: terminated?.exitCode, reason: terminated?.reason },
    { exitCode: 3, reason: 'Error' },
  );
  assert.equal(kubectl(['logs', '-n', scope.ns, name]), want, 'the log of the finished container');
});

test('kubectl exec -i with tar copies a directory in and out byte for byte', async () => {
  const name = 'tar';
  const src = join(scope.dir, 'tar-src');
  const random = randomBytes(3 << 20);
  await makeTree(src, random);
  await sleeper(name, 'mkdir -p /workspace/in; exec sleep 3600');

  mustShell('tar -cf - -C "$1" . | kubectl exec -i -n "$2" "$3" -- tar -xf - -C /workspace/in', [
    src,
    scope.ns,
    name,
  ]);
  // Inside the pod: the bytes arrived, and the executable runs.
  const sum = kubectl([
    'exec',
    '-n',
    scope.ns,
    name,
    '--',
    'sha256sum',
    '/workspace/in/data/random.bin',
  ]);
  assert.equal(sum.split(' ')[0], createHash('sha256').update(random).digest('hex'));
  assert.equal(
    kubectl(['exec', '-n', scope.ns, name, '--', '/workspace/in/bin/run.sh']),
    'run.sh ran\n',
  );

  const back = mustShell('kubectl exec -n "$1" "$2" -- tar -cf - -C /workspace/in .', [
    scope.ns,
    name,
  ]);
  const out = join(scope.dir, 'tar-out');
  await writeFile(`${out}.tar`, back);
  mustShell('mkdir "$1" && tar -xpf "$1.tar" -C "$1"', [out]);
  const want = await snapshotTree(src);
  assert.ok(want.length >= 10, `the tree has ${want.length} entries`);
  assert.deepEqual(await snapshotTree(out), want);
});

test('gcloud storage cp, ls, cat and rm work against the lab GCS', async () => {
  const bucket = labEnv()['KBUILD_LAB_BUCKET'];
  assert.equal(bucket, 'kbuild-lab-artifacts');
  const prefix = `gs://${bucket}/lab-e2e/${scope.ns}/`;
  const text = 'hello from the lab\n';
  const big = randomBytes(5 << 20);
  await writeFile(join(scope.dir, 'note.txt'), text);
  await writeFile(join(scope.dir, 'big.bin'), big);

  gcloud(['storage', 'cp', join(scope.dir, 'note.txt'), join(scope.dir, 'big.bin'), prefix]);
  const ls = gcloud(['storage', 'ls', '-l', prefix]).toString('utf8');
  assert.match(ls, new RegExp(`^\\s*19\\s+\\S+\\s+${prefix}note\\.txt$`, 'm'));
  assert.match(ls, new RegExp(`^\\s*${big.length}\\s+\\S+\\s+${prefix}big\\.bin$`, 'm'));
  assert.equal(gcloud(['storage', 'cat', `${prefix}note.txt`]).toString('utf8'), text);
  gcloud(['storage', 'cp', `${prefix}big.bin`, join(scope.dir, 'big.down')]);
  assert.ok(
    readFileSync(join(scope.dir, 'big.down')).equals(big),
    'downloaded bytes equal the uploaded ones',
  );

  gcloud(['storage', 'rm', `${prefix}**`]);
  assert.throws(() => gcloud(['storage', 'ls', prefix]), /matched no objects/);
});

test('lab.sh up on the running lab returns 0 and changes nothing', (t) => {
  const envFile = join(ROOT, '.lab', 'env');
  const before = {
    pids: readPids(join(ROOT, '.lab')),
    env: readFileSync(envFile, 'utf8'),
    envMtime: statSync(envFile).mtimeMs,
    nodes: kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.uid}{"\\n"}{end}']),
  };
  const env = { ...process.env };
  delete env['KBUILD_LAB_DIR'];
  delete env['KBUILD_LAB_PORT_BASE'];
  const started = performance.now();
  const r = spawnSync('bash', [join(ROOT, 'lab/scripts/lab.sh'), 'up'], { env, encoding: 'utf8' });
  t.diagnostic(`lab.sh up on the running lab took ${Math.round(performance.now() - started)} ms`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /the lab is already up/);
  assert.doesNotMatch(r.stderr, /starting|building|compiling/);
  assert.deepEqual(readPids(join(ROOT, '.lab')), before.pids);
  for (const pid of Object.values(before.pids)) assert.ok(alive(pid), `pid ${pid} alive`);
  assert.equal(readFileSync(envFile, 'utf8'), before.env);
  assert.equal(statSync(envFile).mtimeMs, before.envMtime);
  assert.equal(
    kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.uid}{"\\n"}{end}']),
    before.nodes,
  );
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
