import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { REDACTED, renderManifests, toYaml, withOwner } from '../../src/core/manifest/manifest.ts';
import { isDns1123Label, isLabelValue } from '../../src/core/inputs/names.ts';
import {
  COLLECTED_MARKER,
  NON_ROOT_ID,
  STAGED_MARKER,
  STAGE_TIMEOUT_SECONDS,
  WAIT_SCRIPT,
} from '../../src/core/manifest/podspec.ts';
import type { RawBuildInputs } from '../../src/core/inputs/schema.ts';
import { specOf } from './build-fixtures.ts';

function podSpecOf(input: RawBuildInputs = {}): V1PodSpec {
  const m = renderManifests(specOf(input));
  const spec = m.job?.spec?.template.spec ?? m.pod?.spec;
  assert.ok(spec);
  return spec;
}

function container(pod: V1PodSpec, name: string): V1Container {
  const c = [...(pod.initContainers ?? []), ...pod.containers].find((x) => x.name === name);
  assert.ok(c, `container ${name}`);
  return c;
}

test('placement: arch, arm64 toleration, spot and node pool', () => {
  const arm = {
    key: 'kubernetes.io/arch',
    operator: 'Equal',
    value: 'arm64',
    effect: 'NoSchedule',
  };
  const spot = {
    key: 'cloud.google.com/gke-spot',
    operator: 'Equal',
    value: 'true',
    effect: 'NoSchedule',
  };
  const cases = [
    { name: 'amd64', input: {}, want: { sel: { 'kubernetes.io/arch': 'amd64' }, tol: undefined } },
    {
      name: 'arm64',
      input: { arch: 'arm64' },
      want: { sel: { 'kubernetes.io/arch': 'arm64' }, tol: [arm] },
    },
    {
      name: 'spot arm64',
      input: { arch: 'aarch64', spot: 'true' },
      want: {
        sel: { 'kubernetes.io/arch': 'arm64', 'cloud.google.com/gke-spot': 'true' },
        tol: [arm, spot],
      },
    },
    {
      name: 'node pool',
      input: { node_pool: 'big-amd' },
      want: {
        sel: { 'kubernetes.io/arch': 'amd64', 'cloud.google.com/gke-nodepool': 'big-amd' },
        tol: undefined,
      },
    },
  ];
  for (const c of cases) {
    const pod = podSpecOf(c.input);
    assert.deepEqual({ sel: pod.nodeSelector, tol: pod.tolerations }, c.want, c.name);
  }
});

test('security: non-root by default, privileged root build only when asked', () => {
  const pod = podSpecOf({ secret_env: 'T=1' });
  assert.deepEqual(pod.securityContext, {
    fsGroup: NON_ROOT_ID,
    seccompProfile: { type: 'RuntimeDefault' },
    runAsNonRoot: true,
    runAsUser: NON_ROOT_ID,
    runAsGroup: NON_ROOT_ID,
  });
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    assert.deepEqual(
      c.securityContext,
      {
        runAsNonRoot: true,
        runAsUser: NON_ROOT_ID,
        runAsGroup: NON_ROOT_ID,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      },
      c.name,
    );
  }
  const priv = podSpecOf({ privileged: 'true' });
  assert.equal(priv.securityContext?.runAsNonRoot, undefined);
  assert.deepEqual(container(priv, 'build').securityContext, {
    privileged: true,
    allowPrivilegeEscalation: true,
    runAsNonRoot: false,
    runAsUser: 0,
    runAsGroup: 0,
  });
  assert.equal(container(priv, 'collector').securityContext?.runAsNonRoot, true);
  assert.equal(container(priv, 'stage').securityContext?.allowPrivilegeEscalation, false);
});

test('service account token is mounted only for a chosen service account', () => {
  const cases = [
    { input: {}, want: { sa: 'default', automount: false } },
    { input: { service_account_name: 'builder' }, want: { sa: 'builder', automount: undefined } },
  ];
  for (const c of cases) {
    const pod = podSpecOf(c.input);
    assert.deepEqual(
      { sa: pod.serviceAccountName, automount: pod.automountServiceAccountToken },
      c.want,
    );
    assert.equal(pod.enableServiceLinks, false);
    assert.equal(pod.restartPolicy, 'Never');
  }
});

test('containers: build argv, resources, volumes, stage, cache bundle, collector', () => {
  const pod = podSpecOf({
    cpu: '2',
    memory: '4Gi',
    ephemeral_storage: '10Gi',
    cache_bundle: 'ghcr.io/acme/cache:1',
  });
  assert.deepEqual(
    [...(pod.initContainers ?? []), ...pod.containers].map((c) => c.name),
    ['stage', 'cache-bundle', 'build', 'collector'],
  );
  const build = container(pod, 'build');
  assert.deepEqual(build.command, ['make', 'package/hello']);
  assert.equal(build.args, undefined);
  assert.equal(build.workingDir, '/workspace');
  assert.deepEqual(build.resources, {
    requests: { cpu: '2', memory: '4Gi', 'ephemeral-storage': '10Gi' },
    limits: { cpu: '2', memory: '4Gi', 'ephemeral-storage': '10Gi' },
  });
  assert.deepEqual(
    build.volumeMounts?.map((v) => v.mountPath),
    ['/workspace', '/var/cache/melange'],
  );
  assert.deepEqual(pod.volumes, [
    { name: 'workspace', emptyDir: {} },
    { name: 'cache', emptyDir: {} },
  ]);
  const stage = container(pod, 'stage');
  assert.equal(stage.image, 'cgr.dev/chainguard/sdk:latest');
  assert.deepEqual(stage.command?.slice(0, 3), ['sh', '-c', WAIT_SCRIPT]);
  assert.deepEqual(stage.command?.slice(4, 6), [STAGED_MARKER, String(STAGE_TIMEOUT_SECONDS)]);
  const cache = container(pod, 'cache-bundle');
  assert.equal(cache.image, 'ghcr.io/acme/cache:1');
  assert.deepEqual(cache.command, ['cp', '-R', '/cache/.', '/var/cache/melange/']);
  const collector = container(pod, 'collector');
  assert.deepEqual(collector.command?.slice(4, 6), [COLLECTED_MARKER, '7200']);
  assert.deepEqual(collector.resources, {
    requests: { cpu: '100m', memory: '256Mi' },
    limits: { cpu: '100m', memory: '256Mi' },
  });
  assert.equal(collector.volumeMounts?.length, 1);
});

test('optional containers follow context, cache_bundle, watch and bucket', () => {
  const cases = [
    { name: 'defaults', input: {}, want: ['stage', 'build', 'collector'] },
    { name: 'no context', input: { context: '' }, want: ['build', 'collector'] },
    { name: 'no bucket', input: { bucket: '' }, want: ['stage', 'build'] },
    {
      name: 'no watch: nothing staged, nothing collected',
      input: { watch: 'false' },
      want: ['build'],
    },
  ];
  for (const c of cases) {
    const pod = podSpecOf(c.input);
    assert.deepEqual(
      [...(pod.initContainers ?? []), ...pod.containers].map((x) => x.name),
      c.want,
      c.name,
    );
  }
});

test('the wait script waits for its marker and gives up after its timeout', async () => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'kbuild-wait-'));
  try {
    const marker = join(dir, '.kbuild', 'staged');
    const gaveUp = spawnSync('sh', ['-c', WAIT_SCRIPT, 'w', marker, '0', 'no source'], {
      encoding: 'utf8',
    });
    assert.deepEqual(
      { status: gaveUp.status, stderr: gaveUp.stderr },
      { status: 1, stderr: 'no source\n' },
    );
    writeFileSync(marker, '');
    const released = spawnSync('sh', ['-c', WAIT_SCRIPT, 'w', marker, '0', 'no source'], {
      encoding: 'utf8',
    });
    assert.equal(released.status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('secret env is only referenced from the pod, its values live in the Secret', () => {
  const spec = specOf({
    env: 'PLAIN=visible',
    secret_env: 'API_TOKEN=tok-very-secret\nPASS=pw-very-secret',
  });
  const m = renderManifests(spec);
  const podJson = JSON.stringify(m.job);
  assert.ok(!podJson.includes('very-secret'));
  const env = container(podSpecOf({ secret_env: 'API_TOKEN=x' }), 'build').env ?? [];
  assert.deepEqual(
    env.find((e) => e.name === 'API_TOKEN'),
    { name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: spec.jobName, key: 'API_TOKEN' } } },
  );
  assert.deepEqual(m.secret?.stringData, { API_TOKEN: 'tok-very-secret', PASS: 'pw-very-secret' });
  assert.equal(m.secret?.metadata?.name, spec.jobName);
  assert.equal(m.secret?.type, 'Opaque');
  const yaml = toYaml(m);
  assert.ok(!yaml.includes('very-secret'));
  const docs = parseAllDocuments(yaml).map(
    (d) => d.toJS() as { kind: string; stringData?: object },
  );
  assert.deepEqual(
    docs.map((d) => d.kind),
    ['Secret', 'Job'],
  );
  assert.deepEqual(docs[0]?.stringData, { API_TOKEN: REDACTED, PASS: REDACTED });
  assert.equal(renderManifests(specOf()).secret, undefined);
});

test('kbuild env vars and user env', () => {
  const env = container(
    podSpecOf({ env: 'A=1\nKBUILD_ARCH=mine', packages: 'a b', name: 'ab' }),
    'build',
  ).env;
  assert.deepEqual(
    env?.map((e) => [e.name, e.value]),
    [
      ['KBUILD_BUILD_ID', specOf({ packages: 'a b', name: 'ab' }).buildId],
      ['KBUILD_PACKAGES', 'a b'],
      ['KBUILD_ARTIFACTS_DIR', '/workspace/packages'],
      ['A', '1'],
      ['KBUILD_ARCH', 'mine'],
    ],
  );
});

test('Job and Pod objects, labels everywhere, names within 63', () => {
  const spec = specOf({ name: 'n'.repeat(100), queue_name: 'team-a', timeout: '1h' });
  const { job } = renderManifests(spec);
  assert.ok(job?.spec && job.metadata);
  assert.deepEqual(
    {
      backoffLimit: job.spec.backoffLimit,
      deadline: job.spec.activeDeadlineSeconds,
      ttl: job.spec.ttlSecondsAfterFinished,
      suspend: job.spec.suspend,
    },
    { backoffLimit: 0, deadline: 3600, ttl: 3600, suspend: true },
  );
  assert.ok(isDns1123Label(job.metadata.name ?? ''));
  for (const labels of [job.metadata.labels, job.spec.template.metadata?.labels]) {
    assert.equal(labels?.['app.kubernetes.io/managed-by'], 'kbuild');
    assert.equal(labels?.['kbuild.dev/build-id'], spec.buildId);
    assert.equal(labels?.['kueue.x-k8s.io/queue-name'], 'team-a');
    for (const v of Object.values(labels ?? {})) assert.ok(isLabelValue(v), v);
  }
  assert.equal(job.spec.template.metadata?.annotations?.['kbuild.dev/repository'], 'acme/packages');

  const { pod, job: none } = renderManifests(specOf({ kind: 'pod' }));
  assert.equal(none, undefined);
  assert.deepEqual(
    [pod?.apiVersion, pod?.kind, pod?.spec?.activeDeadlineSeconds],
    ['v1', 'Pod', 7200],
  );
  assert.equal(pod?.metadata?.labels?.['kbuild.dev/package'], 'hello');
});

test('withOwner adds the owner reference of the created Job', () => {
  const { job, secret } = renderManifests(specOf({ secret_env: 'T=1' }));
  assert.ok(job && secret);
  const created = { ...job, metadata: { ...job.metadata, uid: 'uid-1' } };
  const owned = withOwner(secret, created);
  assert.deepEqual(owned.metadata?.ownerReferences, [
    { apiVersion: 'batch/v1', kind: 'Job', name: job.metadata?.name, uid: 'uid-1' },
  ]);
  assert.equal(secret.metadata?.ownerReferences, undefined);
  assert.throws(() => withOwner(secret, job), /needs a created owner/);
});

test('toYaml renders plain YAML without aliases that parses back to the objects', () => {
  const m = renderManifests(specOf({ arch: 'arm64', cache_bundle: 'ghcr.io/acme/cache:1' }));
  const yaml = toYaml(m);
  assert.doesNotMatch(yaml, /[&*]a\d/);
  assert.deepEqual(parseAllDocuments(yaml)[0]?.toJS(), JSON.parse(JSON.stringify(m.job)));
});
