// autopilot.test.ts: GKE Autopilot on the lab (docs/autopilot.md). The lab's namespace
// kbuild-autopilot carries the ValidatingAdmissionPolicy of lab/config/autopilot.yaml, which
// refuses what Autopilot refuses. `kbuild render --compute-class Scale-Out --arch arm64` prints a
// Job that the policy admits (kubectl apply --dry-run=server); the policy refuses the same Job
// made privileged, with unequal requests and limits, or pinned to a node pool; a build through
// the action succeeds in that namespace on the Scale-Out node of the Autopilot cluster
// (`lab-autopilot`); privileged with compute_class, and privileged or node_pool on an Autopilot
// cluster, are refused by the action before anything is created. The action runs from its sources
// (runStep fromSources), so the test does not depend on a rebuilt dist/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { labInputs, newRunId, runStep } from './action.ts';
import { errorText } from './annotations.ts';
import { kubectl, labEnv, ROOT } from './lab.ts';

const NS = 'kbuild-autopilot';
/** AUTOPILOT_CLUSTER: the GKE stand-in answers the lab's API server as an Autopilot cluster too. */
const AUTOPILOT_CLUSTER = 'lab-autopilot';

/** render runs `kbuild render` from the sources and answers the Job it prints. */
function render(args: string[]): Record<string, unknown> {
  const r = spawnSync(
    resolve(ROOT, 'node_modules/.bin/node'),
    [resolve(ROOT, 'src/cli/index.ts'), 'render', 'hello', ...args],
    { encoding: 'utf8', cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', HOME: '/tmp' } },
  );
  assert.equal(r.status, 0, `kbuild render failed: ${r.stderr}`);
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, unknown>);
  const job = docs.find((d) => d['kind'] === 'Job');
  assert.ok(job, `no Job in:\n${r.stdout}`);
  return job;
}

/** dryRun applies a manifest with --dry-run=server; answers kubectl's exit status and stderr. */
function dryRun(manifest: Record<string, unknown>): { ok: boolean; stderr: string } {
  const r = spawnSync('kubectl', ['apply', '--dry-run=server', '-n', NS, '-f', '-'], {
    encoding: 'utf8',
    env: { ...process.env, ...labEnv() },
    input: stringify(manifest),
  });
  return { ok: r.status === 0, stderr: r.stderr };
}

type PodSpec = {
  containers: Record<string, unknown>[];
  initContainers?: Record<string, unknown>[];
  nodeSelector?: Record<string, string>;
  volumes?: Record<string, unknown>[];
};
const podOf = (job: Record<string, unknown>): PodSpec =>
  (job as { spec: { template: { spec: PodSpec } } }).spec.template.spec;

const RENDER = [
  '--image',
  'debian:bookworm',
  '--arch',
  'arm64',
  '--compute-class',
  'Scale-Out',
  '--namespace',
  NS,
  '--bucket',
  'kbuild-lab-artifacts',
];

test('kbuild render --compute-class Scale-Out --arch arm64: the lab Autopilot policy admits the Job', () => {
  const job = render(RENDER);
  const pod = podOf(job);
  assert.deepEqual(pod.nodeSelector, {
    'kubernetes.io/arch': 'arm64',
    'cloud.google.com/compute-class': 'Scale-Out',
  });
  assert.deepEqual(
    [...(pod.initContainers ?? []), ...pod.containers].map((c) => c['name']),
    ['stage', 'build', 'collector'],
  );
  const admitted = dryRun(job);
  assert.ok(admitted.ok, `the policy refused the rendered Job: ${admitted.stderr}`);
});

test('the lab Autopilot policy refuses privileged, unequal limits, hostPath and node pools', () => {
  const cases: { name: string; change: (pod: PodSpec) => void; error: RegExp }[] = [
    {
      name: 'privileged build container',
      change: (pod) => {
        pod.containers[0]!['securityContext'] = { privileged: true };
      },
      error: /GKE Autopilot refuses privileged containers: build/,
    },
    {
      name: 'collector limits above its requests',
      change: (pod) => {
        const collector = pod.containers.find((c) => c['name'] === 'collector')!;
        collector['resources'] = {
          requests: { cpu: '10m', memory: '64Mi' },
          limits: { memory: '256Mi' },
        };
      },
      error: /requests must equal limits in every container .*: collector/,
    },
    {
      name: 'hostPath volume',
      change: (pod) => {
        pod.volumes?.push({ name: 'host', hostPath: { path: '/' } });
      },
      error: /GKE Autopilot refuses hostPath volumes/,
    },
    {
      name: 'node pool pin',
      change: (pod) => {
        pod.nodeSelector!['cloud.google.com/gke-nodepool'] = 'arm64-pool';
      },
      error: /does not accept the nodeSelector keys cloud.google.com\/gke-nodepool/,
    },
  ];
  for (const c of cases) {
    const job = render(RENDER);
    c.change(podOf(job));
    const r = dryRun(job);
    assert.equal(r.ok, false, `${c.name}: admitted`);
    assert.match(r.stderr, /ValidatingAdmissionPolicy 'kbuild-lab-autopilot'/, c.name);
    assert.match(r.stderr, c.error, c.name);
  }
  // Outside an Autopilot namespace the same Job is admitted.
  const job = render(RENDER);
  podOf(job).containers[0]!['securityContext'] = { privileged: true };
  (job as { metadata: { namespace: string } }).metadata.namespace = 'default';
  const r = spawnSync('kubectl', ['apply', '--dry-run=server', '-f', '-'], {
    encoding: 'utf8',
    env: { ...process.env, ...labEnv() },
    input: stringify(job),
  });
  assert.equal(r.status, 0, r.stderr);
});

/**
 * refused runs the action (from its sources) with a trivial build plus inputs, checks that it
 * failed and created no Job, and answers its error text.
 */
async function refused(inputs: Record<string, string>): Promise<string> {
  const runId = newRunId();
  const run = await runStep({
    fromSources: true,
    runId,
    inputs: {
      ...labInputs(),
      namespace: NS,
      image: 'debian:bookworm',
      command: 'true',
      context: '',
      ...inputs,
    },
  });
  assert.notEqual(run.code, 0);
  assert.equal(
    kubectl(['get', 'jobs', '-A', '-l', `kbuild.dev/run-id=${runId}`, '-o', 'name']),
    '',
  );
  return errorText(run);
}

test('privileged: true with compute_class is refused by the action before anything is created', async () => {
  const error = await refused({ arch: 'arm64', compute_class: 'Scale-Out', privileged: 'true' });
  assert.match(
    error,
    /inputs "privileged" and "compute_class" cannot be used together: .*Autopilot refuses privileged Pods/,
  );
});

test('on an Autopilot cluster, privileged and node_pool are refused before anything is created', async () => {
  const error = await refused({
    cluster: AUTOPILOT_CLUSTER,
    privileged: 'true',
    node_pool: 'amd64-pool',
  });
  assert.match(
    error,
    /cluster projects\/kbuild-lab\/locations\/us-central1\/clusters\/lab-autopilot is a GKE Autopilot cluster, which refuses privileged Pods/,
  );
  assert.match(error, /no node pools to pin: leave node_pool empty/);
});

test('a build with compute_class Scale-Out on arm64 succeeds in the Autopilot namespace', async () => {
  const bucket = labEnv()['KBUILD_LAB_BUCKET']!;
  const run = await runStep({
    fromSources: true,
    inputs: {
      ...labInputs(),
      cluster: AUTOPILOT_CLUSTER,
      namespace: NS,
      image: 'debian:bookworm',
      command: "sh -c 'mkdir -p packages && uname -m > packages/arch.txt && echo built'",
      package_target: '',
      context: '',
      arch: 'arm64',
      compute_class: 'Scale-Out',
      cpu: '250m',
      memory: '512Mi',
      bucket,
    },
  });
  assert.equal(run.code, 0, `step failed:\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`);
  assert.equal(run.outputs['status'], 'succeeded');
  assert.equal(run.outputs['node_name'], 'gk3-lab-scale-out-arm64-0');
  // The build's artifact came back (uname -m: what the lab's runtime ran the container as).
  const artifacts = JSON.parse(run.outputs['artifacts'] ?? '[]') as {
    name: string;
    size: number;
  }[];
  assert.deepEqual(
    artifacts.map((a) => a.name),
    ['arch.txt'],
  );
  assert.ok(artifacts[0]!.size > 1);
});
