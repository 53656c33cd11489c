// cluster-upload.test.ts: `upload: cluster` through the bundled action on the lab (real images,
// the GKE metadata server stand-in, the GCS stand-in enforcing bucket IAM): a 512 MiB artifact
// goes from the pod to GCS without passing through the action (its reads are sampled from
// /proc/PID/io) and reads back byte for byte with gcloud; a byte flipped in flight is refused by
// GCS and the retry stores the right bytes; a KSA without a binding fails before the build runs,
// naming the KSA, the identity, the role and the command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { gcloud, labInputs, newRunId, runStep, type ActionRun } from './action.ts';
import { labEnv, labIamBinding } from './lab.ts';

const KSA = 'kbuild-uploader';
const NS = 'kbuild';

const show = (run: ActionRun): string =>
  `stdout:\n${run.stdout.slice(-4000)}\nstderr:\n${run.stderr.slice(-2000)}`;

/** inputs: a build in debian:bookworm whose command writes the artifacts, uploaded by the pod. */
function inputs(command: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...labInputs(),
    image: 'debian:bookworm',
    name: 'cu',
    package_target: '',
    command: `sh -c '${command}'`,
    cpu: '500m',
    memory: '256Mi',
    context: '',
    bucket: labEnv()['KBUILD_LAB_BUCKET'] ?? '',
    upload: 'cluster',
    service_account_name: KSA,
    ...extra,
  };
}

/** rcharOf samples /proc/PID/io of the action while it runs; answers the last rchar seen. */
function sampler(): { onStart: (c: { pid?: number }) => void; last: () => number } {
  let last = 0;
  return {
    onStart: (child) => {
      const t = setInterval(() => {
        try {
          const io = readFileSync(`/proc/${child.pid}/io`, 'utf8');
          last = Number(/^rchar: (\d+)$/m.exec(io)?.[1] ?? last);
        } catch {
          clearInterval(t);
        }
      }, 100);
    },
    last: () => last,
  };
}

test('a 512 MiB artifact: the pod uploads it, the action reads under 5 MiB, gcloud reads it back', async (t) => {
  const size = 512 * 1024 * 1024;
  const io = sampler();
  const begin = performance.now();
  const run = await runStep({
    inputs: inputs(`mkdir -p packages && head -c ${size} /dev/urandom > packages/big.bin`, {
      memory: '1Gi',
    }),
    onStart: (c) => io.onStart(c),
  });
  const seconds = (performance.now() - begin) / 1000;
  t.after(() => rmSync(run.runDir, { recursive: true, force: true }));
  assert.equal(run.code, 0, show(run));
  const [artifact] = JSON.parse(run.outputs['artifacts'] ?? '[]') as {
    name: string;
    size: number;
    sha256: string;
    uri: string;
  }[];
  assert.equal(artifact?.size, size);
  const back = gcloud(['storage', 'cat', artifact.uri]);
  assert.equal(back.length, size);
  assert.equal(createHash('sha256').update(back).digest('hex'), artifact.sha256);
  const rchar = io.last();
  t.diagnostic(
    `512 MiB in ${seconds.toFixed(1)} s (step); the action process read ${(rchar / 2 ** 20).toFixed(2)} MiB in all (rchar: files and sockets)`,
  );
  assert.ok(rchar < 5 * 2 ** 20, `the action read ${rchar} bytes`);
});

test('a byte flipped in flight is refused by GCS; the pod sends the file again', async () => {
  const runId = newRunId();
  const object = `kbuild-lab/demo/${runId}-1/amd64/cu/data.bin`;
  const gcs = labEnv()['STORAGE_EMULATOR_HOST'] ?? '';
  const arm = await fetch(`${gcs}/_lab/gcs/corrupt`, {
    method: 'POST',
    body: JSON.stringify({ bucket: labEnv()['KBUILD_LAB_BUCKET'], name: object, times: 1 }),
  });
  assert.equal(arm.status, 200, await arm.text());
  const run = await runStep({
    runId,
    inputs: inputs('mkdir -p packages && head -c 20000000 /dev/urandom > packages/data.bin'),
  });
  rmSync(run.runDir, { recursive: true, force: true });
  assert.equal(run.code, 0, show(run));
  assert.match(run.stdout, /data\.bin: GCS refused 1 attempt\(s\); stored on attempt 2/);
  const [artifact] = JSON.parse(run.outputs['artifacts'] ?? '[]') as { sha256: string }[];
  const back = gcloud(['storage', 'cat', `gs://${labEnv()['KBUILD_LAB_BUCKET']}/${object}`]);
  assert.equal(createHash('sha256').update(back).digest('hex'), artifact?.sha256);
});

test('a KSA without a binding fails before the build runs, naming the fix', async () => {
  // A bucket with its own IAM policy: the builder may write it, the KSA is not bound.
  const bucket = `kbuild-cu-${Date.now().toString(36)}`;
  const gcs = labEnv()['STORAGE_EMULATOR_HOST'] ?? '';
  const made = await fetch(`${gcs}/storage/v1/b?project=kbuild-lab`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: bucket }),
  });
  assert.equal(made.status, 200, await made.text());
  await labIamBinding({
    resource: `buckets/${bucket}`,
    role: 'roles/storage.objectAdmin',
    member: `serviceAccount:${labEnv()['KBUILD_LAB_SERVICE_ACCOUNT']}`,
  });
  const run = await runStep({
    inputs: inputs('mkdir -p packages && echo x > packages/x', { bucket }),
  });
  rmSync(run.runDir, { recursive: true, force: true });
  assert.notEqual(run.code, 0, show(run));
  const principal =
    'principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/' +
    `kbuild-lab.svc.id.goog/subject/ns/${NS}/sa/${KSA}`;
  const text = run.stdout.replace(/%0A/g, '\n');
  assert.match(text, /init container preflight of pod .* exited with code 1/);
  for (const want of [
    `Kubernetes service account ${NS}/${KSA}`,
    `(Google identity ${principal})`,
    `lacks storage.objects.create on bucket ${bucket}`,
    `gcloud storage buckets add-iam-policy-binding gs://${bucket} --member="${principal}" --role=roles/storage.objectCreator`,
  ]) {
    assert.ok(text.includes(want), `missing "${want}" in:\n${show(run)}`);
  }
  assert.doesNotMatch(run.stdout, /^Build started on node/m, 'the build must not run');
});
