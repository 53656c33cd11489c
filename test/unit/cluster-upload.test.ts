// cluster-upload.test.ts: `upload: cluster` in the manifests (pod program ConfigMap, preflight
// init container, uploader container, wrapped build command), its input validation, the
// uploader's report and the runner's check of every object against GCS's metadata.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import { renderManifests, toYaml, withOwner } from '../../src/core/manifest/manifest.ts';
import { BUILD_DONE_MARKER, BUILD_WRAPPER } from '../../src/core/manifest/podspec.ts';
import {
  DONE_LINE,
  parseUploadReport,
  roleFor,
  SKIPPED_LINE,
  UPLOADED_LINE,
  type UploadReport,
} from '../../src/core/manifest/pod-program.ts';
import { compareWithStore } from '../../src/core/build/cluster-upload.ts';
import type { ObjectStat, ObjectStore } from '../../src/core/gcs/storage.ts';
import { validateBuildSpec } from '../../src/core/inputs/spec.ts';
import { BASE, CTX, specOf } from './build-fixtures.ts';

const CLUSTER = { bucket: 'kbuild-artifacts', upload: 'cluster' };

function names(cs: V1Container[] | undefined): string[] {
  return (cs ?? []).map((c) => c.name);
}

test('upload: cluster renders the ConfigMap, the preflight, the uploader and the wrapped build', () => {
  const spec = specOf({ ...CLUSTER, context: '.' });
  const m = renderManifests(spec, {
    endpoints: { storage: 'http://127.0.0.1:16414' },
    podProgram: 'console.log(1)\n',
  });
  const pod = m.job?.spec?.template.spec as V1PodSpec;
  assert.deepEqual(names(pod.initContainers), ['preflight', 'stage']);
  assert.deepEqual(names(pod.containers), ['build', 'uploader']);
  assert.deepEqual(m.configMap?.data, { 'kbuild-pod.mjs': 'console.log(1)\n' });
  assert.equal(m.configMap?.metadata?.name, spec.jobName);
  assert.equal(m.configMap?.immutable, true);
  const volume = pod.volumes?.find((v) => v.name === 'kbuild-program');
  assert.deepEqual(volume?.configMap, {
    name: spec.jobName,
    items: [{ key: 'kbuild-pod.mjs', path: 'kbuild-pod.mjs' }],
  });
  const [preflight] = pod.initContainers ?? [];
  const uploader = pod.containers[1]!;
  for (const c of [preflight!, uploader]) {
    assert.equal(c.image, 'node:24-slim');
    assert.equal(c.securityContext?.runAsNonRoot, true);
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(
      c.volumeMounts?.find((v) => v.name === 'kbuild-program'),
      { name: 'kbuild-program', mountPath: '/kbuild', readOnly: true },
    );
  }
  assert.deepEqual(preflight!.command, ['node', '/kbuild/kbuild-pod.mjs', 'check']);
  assert.deepEqual(Object.fromEntries((preflight!.env ?? []).map((e) => [e.name, e.value])), {
    KBUILD_BUCKET: 'kbuild-artifacts',
    KBUILD_GCS_ENDPOINT: 'http://127.0.0.1:16414',
    KBUILD_PERMISSIONS: 'storage.objects.create',
    KBUILD_KSA: `${spec.namespace}/default`,
  });
  assert.deepEqual(uploader.command, ['node', '/kbuild/kbuild-pod.mjs', 'upload']);
  assert.deepEqual(Object.fromEntries((uploader.env ?? []).map((e) => [e.name, e.value])), {
    KBUILD_BUCKET: 'kbuild-artifacts',
    KBUILD_GCS_ENDPOINT: 'http://127.0.0.1:16414',
    KBUILD_PREFIX: spec.destination,
    KBUILD_ARTIFACTS_DIR: '/workspace/packages',
    KBUILD_DONE_MARKER: BUILD_DONE_MARKER,
    KBUILD_WAIT_SECONDS: String(spec.timeoutSeconds),
  });
  assert.deepEqual(pod.containers[0]!.command, [
    'sh',
    '-c',
    BUILD_WRAPPER,
    'kbuild-build',
    BUILD_DONE_MARKER,
    ...spec.command,
  ]);
  // create: false prints the ConfigMap before the Job.
  const kinds = [...toYaml(m).matchAll(/^kind: (\w+)$/gm)].map((x) => x[1]);
  assert.deepEqual(kinds, ['ConfigMap', 'Job']);
});

test('staging: bucket: the fetch init container replaces the exec-fed stage', () => {
  const spec = specOf({ ...CLUSTER, context: '.', staging: 'bucket' });
  const m = renderManifests(spec, {
    podProgram: 'x',
    staged: { object: 'kbuild-staging/abc.tar.gz', crc32c: 'q83vEg==' },
  });
  const pod = m.job?.spec?.template.spec as V1PodSpec;
  assert.deepEqual(names(pod.initContainers), ['preflight', 'fetch']);
  const [preflight, fetch] = pod.initContainers ?? [];
  assert.equal(
    preflight!.env?.find((e) => e.name === 'KBUILD_PERMISSIONS')?.value,
    'storage.objects.create,storage.objects.get',
  );
  assert.deepEqual(fetch!.command, ['node', '/kbuild/kbuild-pod.mjs', 'stage']);
  assert.deepEqual(Object.fromEntries((fetch!.env ?? []).map((e) => [e.name, e.value])), {
    KBUILD_BUCKET: 'kbuild-artifacts',
    KBUILD_STAGING_OBJECT: 'kbuild-staging/abc.tar.gz',
    KBUILD_STAGING_CRC32C: 'q83vEg==',
    KBUILD_WORKSPACE: '/workspace',
  });
  assert.equal(fetch!.securityContext?.runAsNonRoot, true);
  // staging: bucket with upload: runner: the pod program fetches, the collector collects.
  const runner = renderManifests(specOf({ bucket: 'b-1', context: '.', staging: 'bucket' }));
  const rpod = runner.job?.spec?.template.spec as V1PodSpec;
  assert.deepEqual(names(rpod.initContainers), ['preflight', 'fetch']);
  assert.deepEqual(names(rpod.containers), ['build', 'collector']);
  assert.ok(runner.configMap);
});

test('upload: runner (the default) keeps the collector and the command as given', () => {
  const spec = specOf({ bucket: 'kbuild-artifacts' });
  const m = renderManifests(spec);
  const pod = m.job?.spec?.template.spec as V1PodSpec;
  assert.equal(m.configMap, undefined);
  assert.deepEqual(names(pod.containers), ['build', 'collector']);
  assert.deepEqual(pod.containers[0]!.command, spec.command);
  assert.equal(spec.upload, 'runner');
});

test('withOwner gives the ConfigMap the Job as owner', () => {
  const m = renderManifests(specOf(CLUSTER));
  const owned = withOwner(m.configMap!, {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'j', uid: 'u-1' },
  });
  assert.deepEqual(owned.metadata?.ownerReferences, [
    { apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'u-1' },
  ]);
});

const bad: { name: string; input: Record<string, string>; error: RegExp }[] = [
  {
    name: 'an unknown value',
    input: { upload: 'pod' },
    error: /input "upload".*use one of runner, cluster/,
  },
  {
    name: 'cluster without a bucket',
    input: { upload: 'cluster', bucket: '' },
    error: /"upload: cluster" needs a "bucket"/,
  },
  {
    name: 'staging: an unknown value',
    input: { staging: 'scp' },
    error: /input "staging".*use one of exec, bucket/,
  },
  {
    name: 'staging: bucket without a bucket',
    input: { staging: 'bucket', bucket: '' },
    error: /"staging: bucket" needs a "bucket"/,
  },
];
for (const c of bad) {
  test(`input upload: ${c.name}`, () => {
    assert.throws(() => validateBuildSpec({ ...BASE, ...c.input }, CTX), c.error);
  });
}

test('parseUploadReport reads the report lines and ignores the rest', () => {
  const f = {
    name: 'a/b.deb',
    size: 3,
    crc32c: 'AAAAAA==',
    sha256: 'ab',
    generation: '7',
    attempts: 2,
  };
  const log = [
    'kbuild: retrying',
    `${UPLOADED_LINE}${JSON.stringify(f)}`,
    `${SKIPPED_LINE}${JSON.stringify({ name: 'l', reason: 'symlink' })}`,
    `${DONE_LINE}${JSON.stringify({ files: 1, bytes: 3, missing: false })}`,
    '',
  ].join('\n');
  assert.deepEqual(parseUploadReport(log), {
    files: [f],
    skipped: [{ name: 'l', reason: 'symlink' }],
    done: { files: 1, bytes: 3, missing: false },
  });
  assert.equal(parseUploadReport('kbuild: cut short\n').done, undefined);
  assert.throws(() => parseUploadReport(`${UPLOADED_LINE}{"name":"x"}`), /incomplete report line/);
});

test('roleFor: objectCreator for create alone, objectUser beyond', () => {
  assert.equal(roleFor(['storage.objects.create']), 'roles/storage.objectCreator');
  assert.equal(
    roleFor(['storage.objects.create', 'storage.objects.get']),
    'roles/storage.objectUser',
  );
});

test('compareWithStore: every difference from GCS, or none', async () => {
  const objects: Record<string, ObjectStat> = {
    'p/ok': { name: 'p/ok', size: 3, crc32c: 'AAAAAA==', generation: '1' },
    'p/size': { name: 'p/size', size: 4, crc32c: 'AAAAAA==', generation: '1' },
    'p/crc': { name: 'p/crc', size: 3, crc32c: 'BBBBBB==', generation: '1' },
    'p/gen': { name: 'p/gen', size: 3, crc32c: 'AAAAAA==', generation: '2' },
  };
  const store: ObjectStore = {
    upload: () => Promise.reject(new Error('no upload')),
    stat: async (name) => objects[name],
  };
  const file = (name: string) => ({
    name,
    size: 3,
    crc32c: 'AAAAAA==',
    sha256: '',
    generation: '1',
    attempts: 1,
  });
  const report = (...n: string[]): UploadReport => ({ files: n.map(file), skipped: [] });
  assert.deepEqual(await compareWithStore(store, 'p', report('ok')), []);
  assert.deepEqual(await compareWithStore(store, 'p', report('ok', 'size', 'crc', 'gen', 'gone')), [
    'crc: GCS has crc32c BBBBBB==, the pod sent AAAAAA==',
    'gen: GCS has generation 2, the pod stored 1',
    'gone: the pod reported generation 1, GCS has no such object',
    'size: GCS has size 4, the pod sent 3',
  ]);
});
