// dispatcher-request.test.ts: the body of POST /v1/dispatches (400 naming the field), dependency
// levels and cycles, and the dispatch plan: deterministic names, gated Jobs, the Kueue label.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { levelsOf, parseDispatchRequest, RequestError } from '../../src/core/dispatch/request.ts';
import { DISPATCH_ANNOTATION, DISPATCH_LABEL } from '../../src/core/dispatch/protocol.ts';
import { parseEntry, parsePlan, planDispatch } from '../../functions/dispatcher/plan.ts';
import type { GitHubClaims } from '../../functions/dispatcher/tokens.ts';

const SHA = 'b'.repeat(40);
const BODY = {
  packages: ['zlib', 'libpng', 'hello'],
  archs: ['amd64', 'aarch64'],
  image: 'debian:bookworm',
  ref: 'refs/heads/main',
  sha: SHA,
};
const CLAIMS: GitHubClaims = {
  repository: 'kbuild-lab/demo',
  repositoryId: '90001',
  repositoryOwner: 'kbuild-lab',
  repositoryOwnerId: '4242',
  runId: '77',
  runAttempt: '1',
  ref: 'refs/heads/main',
  eventName: 'push',
  sha: SHA,
};
const OPTS = { namespace: 'builds', serverUrl: 'https://github.com' };

test('parseDispatchRequest: defaults and normalisation', () => {
  const r = parseDispatchRequest({
    ...BODY,
    packages: 'zlib libpng, hello',
    cpu: 2,
    env: { B: '2', A: '1' },
  });
  assert.deepEqual(r.packages, ['zlib', 'libpng', 'hello']);
  assert.deepEqual(r.archs, ['amd64', 'arm64']);
  assert.equal(r.cpu.canonical, '2');
  assert.equal(r.memory.canonical, '2Gi');
  assert.deepEqual(Object.keys(r.env), ['A', 'B']);
  assert.equal(r.privileged, false);
  assert.equal(r.stage, undefined, 'stage only when asked (the request hash stays as before)');
  assert.equal(parseDispatchRequest({ ...BODY, stage: false }).stage, undefined);
  assert.equal(parseDispatchRequest({ ...BODY, stage: true }).stage, true);
});

test('parseDispatchRequest: every bad field is a 400 naming it', () => {
  const cases: { name: string; body: unknown; field: string; message: RegExp }[] = [
    { name: 'not an object', body: 'hello', field: 'body', message: /JSON object/ },
    {
      name: 'unknown field',
      body: { ...BODY, gpu: 1 },
      field: 'gpu',
      message: /unknown field "gpu"/,
    },
    {
      name: 'no packages',
      body: { ...BODY, packages: undefined },
      field: 'packages',
      message: /required/,
    },
    {
      name: 'empty packages',
      body: { ...BODY, packages: [] },
      field: 'packages',
      message: /is empty/,
    },
    {
      name: 'bad package name',
      body: { ...BODY, packages: ['Hello;rm'] },
      field: 'packages',
      message: /invalid package name "Hello;rm"/,
    },
    {
      name: 'packages of numbers',
      body: { ...BODY, packages: [1] },
      field: 'packages',
      message: /list of strings/,
    },
    {
      name: 'bad arch',
      body: { ...BODY, archs: ['riscv64'] },
      field: 'archs',
      message: /invalid arch "riscv64" for field "archs"/,
    },
    { name: 'no image', body: { ...BODY, image: undefined }, field: 'image', message: /required/ },
    {
      name: 'bad image',
      body: { ...BODY, image: 'Debian:Bookworm!' },
      field: 'image',
      message: /invalid image reference/,
    },
    {
      name: 'bad cpu',
      body: { ...BODY, cpu: '-1' },
      field: 'cpu',
      message: /invalid quantity "-1" for field "cpu"/,
    },
    {
      name: 'bad memory',
      body: { ...BODY, memory: '2GB' },
      field: 'memory',
      message: /invalid quantity "2GB"/,
    },
    {
      name: 'bad env name',
      body: { ...BODY, env: { '1X': 'a' } },
      field: 'env',
      message: /invalid variable name "1X"/,
    },
    {
      name: 'env value not a string',
      body: { ...BODY, env: { X: 1 } },
      field: 'env',
      message: /must be a string/,
    },
    { name: 'no ref', body: { ...BODY, ref: undefined }, field: 'ref', message: /required/ },
    { name: 'bad sha', body: { ...BODY, sha: 'abc' }, field: 'sha', message: /hex digit/ },
    {
      name: 'stage as string',
      body: { ...BODY, stage: 'true' },
      field: 'stage',
      message: /field "stage" must be true or false/,
    },
    {
      name: 'privileged as string',
      body: { ...BODY, privileged: 'yes' },
      field: 'privileged',
      message: /true or false/,
    },
    {
      name: 'dependency key not a package',
      body: { ...BODY, dependencies: { curl: ['zlib'] } },
      field: 'dependencies',
      message: /"curl", which is not in "packages"/,
    },
    {
      name: 'self dependency',
      body: { ...BODY, dependencies: { zlib: ['zlib'] } },
      field: 'dependencies',
      message: /zlib depends on itself/,
    },
    {
      name: 'cycle',
      body: { ...BODY, dependencies: { zlib: ['hello'], hello: ['libpng'], libpng: ['zlib'] } },
      field: 'dependencies',
      message: /cycle among packages zlib -> hello -> libpng -> zlib/,
    },
    {
      name: 'bad bucket',
      body: { ...BODY, bucket: 'Bad_Bucket' },
      field: 'bucket',
      message: /bucket/,
    },
    {
      name: 'bad artifacts_path',
      body: { ...BODY, artifacts_path: '../out' },
      field: 'artifacts_path',
      message: /invalid path/,
    },
  ];
  for (const c of cases) {
    assert.throws(
      () => parseDispatchRequest(c.body),
      (err: unknown) => {
        assert.ok(err instanceof RequestError, `${c.name}: ${String(err)}`);
        assert.equal(err.field, c.field, c.name);
        assert.match(err.message, c.message, c.name);
        return true;
      },
    );
  }
});

test('planDispatch: fields checked by the core build spec are named too', () => {
  const cases: { name: string; body: Record<string, unknown>; field: string; message: RegExp }[] = [
    {
      name: 'bad timeout',
      body: { timeout: '2 days' },
      field: 'timeout',
      message: /invalid duration "2 days" for field "timeout"/,
    },
    {
      name: 'bad command quoting',
      body: { command: 'sh -c "echo' },
      field: 'command',
      message: /field "command"/,
    },
    {
      name: 'bad package_target',
      body: { package_target: 'pkg/{name}' },
      field: 'package_target',
      message: /unknown placeholder \{name\}/,
    },
    {
      name: 'bad queue name',
      body: { queue_name: 'Big Queue' },
      field: 'queue_name',
      message: /field "queue_name"/,
    },
  ];
  for (const c of cases) {
    assert.throws(
      () => planDispatch(parseDispatchRequest({ ...BODY, ...c.body }), CLAIMS, OPTS),
      (err: unknown) => {
        assert.ok(err instanceof RequestError, `${c.name}: ${String(err)}`);
        assert.equal(err.field, c.field, c.name);
        assert.match(err.message, c.message, c.name);
        return true;
      },
    );
  }
});

test('levelsOf: levels follow dependencies; outside packages do not count', () => {
  const levels = levelsOf(['hello', 'libpng', 'zlib', 'png-tools'], {
    libpng: ['zlib'],
    'png-tools': ['libpng', 'zlib'],
  });
  assert.deepEqual(Object.fromEntries(levels), { hello: 0, zlib: 0, libpng: 1, 'png-tools': 2 });
  const r = parseDispatchRequest({ ...BODY, dependencies: { libpng: ['zlib', 'glibc'] } });
  assert.deepEqual(r.dependencies, { libpng: ['zlib'] });
});

test('planDispatch: one gated Job per package and arch, deterministic names, the whole plan on the first Job, its own entry on each', () => {
  const req = parseDispatchRequest({
    ...BODY,
    dependencies: { libpng: ['zlib'] },
    command: "sh -c 'echo $KBUILD_PACKAGES'",
    package_target: '',
    env: { V: '1' },
  });
  const plan = planDispatch(req, CLAIMS, OPTS);
  assert.equal(plan.builds.length, 6);
  assert.match(plan.dispatchId, /^[0-9a-f]{32}$/);
  assert.deepEqual(
    planDispatch(req, CLAIMS, OPTS).dispatchId,
    plan.dispatchId,
    'same request, same dispatch',
  );
  assert.notEqual(
    planDispatch(req, { ...CLAIMS, runAttempt: '2' }, OPTS).dispatchId,
    plan.dispatchId,
    'a re-run is another dispatch',
  );
  const names = plan.builds.map((b) => b.entry.job_name);
  assert.deepEqual(
    names.map((n) => n.replace(/-[0-9a-f]{8}$/, '')),
    [
      'kb-zlib-amd64',
      'kb-zlib-arm64',
      'kb-libpng-amd64',
      'kb-libpng-arm64',
      'kb-hello-amd64',
      'kb-hello-arm64',
    ],
  );
  const libpng = plan.builds.find((b) => b.entry.package === 'libpng' && b.entry.arch === 'arm64')!;
  const zlibArm = plan.builds.find((b) => b.entry.package === 'zlib' && b.entry.arch === 'arm64')!;
  assert.deepEqual(libpng.entry.depends_on, [zlibArm.entry.job_name]);
  assert.equal(libpng.entry.level, 1);
  assert.equal(libpng.job.spec?.suspend, true);
  assert.equal(libpng.job.metadata?.annotations?.[DISPATCH_ANNOTATION.gate], 'dependencies');
  assert.equal(zlibArm.job.spec?.suspend, undefined, 'level 0 starts at once');
  assert.equal(zlibArm.job.metadata?.annotations?.[DISPATCH_ANNOTATION.gate], undefined);
  for (const [i, b] of plan.builds.entries()) {
    assert.equal(b.job.metadata?.labels?.[DISPATCH_LABEL], plan.dispatchId);
    assert.equal(b.job.spec?.template.metadata?.labels?.[DISPATCH_LABEL], plan.dispatchId);
    assert.equal(b.job.metadata?.annotations?.[DISPATCH_ANNOTATION.repositoryId], '90001');
    assert.equal(b.job.metadata?.namespace, 'builds');
    // The first Job holds the whole plan; every Job its own entry (the size stays linear).
    assert.deepEqual(parsePlan(b.job), i === 0 ? plan.builds.map((x) => x.entry) : undefined);
    assert.deepEqual(parseEntry(b.job), b.entry);
    const build = b.job.spec?.template.spec?.containers[0];
    assert.deepEqual(build?.command, ['sh', '-c', 'echo $KBUILD_PACKAGES']);
    assert.ok(build?.env?.some((e) => e.name === 'V' && e.value === '1'));
  }
  assert.equal(libpng.job.spec?.template.spec?.tolerations?.[0]?.key, 'kubernetes.io/arch');
});

test('planDispatch: a gated Job waits for its Kueue label in an annotation; others carry it', () => {
  const req = parseDispatchRequest({
    ...BODY,
    packages: ['zlib', 'libpng'],
    archs: ['amd64'],
    dependencies: { libpng: ['zlib'] },
    queue_name: 'builds',
  });
  const [zlib, libpng] = planDispatch(req, CLAIMS, OPTS).builds;
  assert.equal(zlib?.job.metadata?.labels?.['kueue.x-k8s.io/queue-name'], 'builds');
  assert.equal(zlib?.job.spec?.suspend, true, 'Kueue admits it');
  assert.equal(libpng?.job.metadata?.labels?.['kueue.x-k8s.io/queue-name'], undefined);
  assert.equal(
    libpng?.job.spec?.template.metadata?.labels?.['kueue.x-k8s.io/queue-name'],
    undefined,
  );
  assert.equal(libpng?.job.metadata?.annotations?.[DISPATCH_ANNOTATION.queue], 'builds');
  assert.equal(libpng?.job.spec?.suspend, true);
});

test('planDispatch: another request for the same builds has the same dispatch id, another hash', () => {
  const a = planDispatch(parseDispatchRequest(BODY), CLAIMS, OPTS);
  const b = planDispatch(parseDispatchRequest({ ...BODY, cpu: '2' }), CLAIMS, OPTS);
  assert.equal(a.dispatchId, b.dispatchId);
  assert.notEqual(a.requestHash, b.requestHash);
});

test('compute_class, node_selector and tolerations reach every Job; bad ones are 400s naming the field', () => {
  const req = parseDispatchRequest({
    ...BODY,
    archs: ['amd64', 'arm64'],
    compute_class: 'Scale-Out',
    node_selector: { 'topology.kubernetes.io/zone': 'us-central1-a' },
    tolerations: ['dedicated=builds:NoSchedule'],
  });
  const plan = planDispatch(req, CLAIMS, OPTS);
  assert.ok(plan.builds.length >= 2);
  for (const b of plan.builds) {
    const pod = b.job.spec?.template.spec;
    assert.equal(pod?.nodeSelector?.['cloud.google.com/compute-class'], 'Scale-Out');
    assert.equal(pod?.nodeSelector?.['topology.kubernetes.io/zone'], 'us-central1-a');
    assert.ok(pod?.tolerations?.some((t) => t.key === 'dedicated' && t.value === 'builds'));
  }
  // Without them, the request (and its hash) is what it was.
  assert.equal('computeClass' in parseDispatchRequest(BODY), false);
  const bad: { body: Record<string, unknown>; field: string; message: RegExp }[] = [
    {
      body: { compute_class: 'scale out' },
      field: 'compute_class',
      message: /field "compute_class"/,
    },
    { body: { node_selector: ['a=b'] }, field: 'node_selector', message: /must be an object/ },
    {
      body: { node_selector: { 'bad key': 'x' } },
      field: 'node_selector',
      message: /invalid label key/,
    },
    { body: { tolerations: 'k=v' }, field: 'tolerations', message: /must be a list of strings/ },
    { body: { tolerations: ['k=v:Never'] }, field: 'tolerations', message: /invalid taint effect/ },
    // The arch taint belongs to archs: a toleration cannot widen where a build lands.
    {
      body: { tolerations: ['kubernetes.io/arch=arm64:NoSchedule'] },
      field: 'tolerations',
      message: /names kubernetes.io\/arch/,
    },
    {
      body: { archs: ['amd64'], node_selector: { 'kubernetes.io/arch': 'arm64' } },
      field: 'node_selector',
      message: /belongs to field "arch"/,
    },
    {
      body: { privileged: true, compute_class: 'Scale-Out' },
      field: 'compute_class',
      message: /Autopilot refuses privileged Pods/,
    },
  ];
  for (const c of bad) {
    assert.throws(
      () => planDispatch(parseDispatchRequest({ ...BODY, ...c.body }), CLAIMS, OPTS),
      (err: unknown) => {
        assert.ok(err instanceof RequestError, `${JSON.stringify(c.body)}: ${String(err)}`);
        assert.equal(err.field, c.field, JSON.stringify(c.body));
        assert.match(err.message, c.message, JSON.stringify(c.body));
        return true;
      },
    );
  }
});

test('parseDispatchRequest: data paths: upload, staging and the service account', () => {
  const bucket = { ...BODY, bucket: 'my-artifacts' };
  const r = parseDispatchRequest({ ...bucket, upload: 'cluster', service_account_name: 'up' });
  assert.equal(r.upload, 'cluster');
  assert.equal(r.serviceAccountName, 'up');
  // Defaults are left out, so requests without the fields keep their request hash.
  const plain = parseDispatchRequest({
    ...bucket,
    upload: 'runner',
    staging: 'exec',
    service_account_name: 'default',
  });
  assert.equal(plain.upload, undefined);
  assert.equal(plain.serviceAccountName, undefined);
  assert.deepEqual(plain, parseDispatchRequest(bucket));
  const cases: { name: string; body: unknown; field: string; message: RegExp }[] = [
    {
      name: 'upload: cluster without a bucket',
      body: { ...BODY, upload: 'cluster' },
      field: 'upload',
      message: /"cluster" needs a "bucket"/,
    },
    {
      name: 'unknown upload',
      body: { ...bucket, upload: 'pod' },
      field: 'upload',
      message: /invalid value "pod" for field "upload": use runner or cluster/,
    },
    {
      name: 'staging: bucket without stage',
      body: { ...bucket, staging: 'bucket', staging_crc32c: 'AAAAAA==' },
      field: 'staging',
      message: /"bucket" needs a "bucket" and "stage": true/,
    },
    {
      name: 'staging: bucket without a bucket',
      body: { ...BODY, stage: true, staging: 'bucket', staging_crc32c: 'AAAAAA==' },
      field: 'staging',
      message: /needs a "bucket"/,
    },
    {
      name: 'staging: bucket without the CRC32C',
      body: { ...bucket, stage: true, staging: 'bucket' },
      field: 'staging_crc32c',
      message: /field "staging_crc32c" is required with "staging": "bucket"/,
    },
    {
      name: 'a CRC32C that is not 4 bytes in base64',
      body: { ...bucket, stage: true, staging: 'bucket', staging_crc32c: 'abc' },
      field: 'staging_crc32c',
      message: /base64 as GCS gives it/,
    },
    {
      name: 'a CRC32C without staging: bucket',
      body: { ...bucket, stage: true, staging_crc32c: 'AAAAAA==' },
      field: 'staging_crc32c',
      message: /needs "staging": "bucket"/,
    },
    {
      name: 'unknown staging',
      body: { ...bucket, staging: 'rsync' },
      field: 'staging',
      message: /invalid value "rsync" for field "staging": use exec or bucket/,
    },
    {
      name: 'service account not a string',
      body: { ...bucket, service_account_name: 7 },
      field: 'service_account_name',
      message: /must be a string/,
    },
  ];
  for (const c of cases) {
    assert.throws(
      () => parseDispatchRequest(c.body),
      (err: unknown) => {
        assert.ok(err instanceof RequestError, c.name);
        assert.equal(err.field, c.field, c.name);
        assert.match(err.message, c.message, c.name);
        return true;
      },
    );
  }
});

test('planDispatch: upload: cluster gives each Job an uploader, no collector, and its ConfigMap', () => {
  const req = parseDispatchRequest({
    ...BODY,
    bucket: 'my-artifacts',
    upload: 'cluster',
    service_account_name: 'kbuild-uploader',
  });
  const plan = planDispatch(req, CLAIMS, {
    ...OPTS,
    podProgram: '// the pod program\n',
    podEndpoints: { storage: 'http://127.0.0.1:9' },
  });
  assert.equal(plan.builds.length, 6);
  for (const b of plan.builds) {
    const pod = b.job.spec!.template.spec!;
    assert.deepEqual(
      pod.containers.map((c) => c.name),
      ['build', 'uploader'],
    );
    assert.equal(pod.serviceAccountName, 'kbuild-uploader');
    const uploader = pod.containers[1]!;
    const env = Object.fromEntries((uploader.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env['KBUILD_BUCKET'], 'my-artifacts');
    assert.equal(env['KBUILD_GCS_ENDPOINT'], 'http://127.0.0.1:9');
    // The default destination, expanded from the verified token's run.
    assert.equal(env['KBUILD_PREFIX'], `kbuild-lab/demo/77-1/${b.entry.arch}/${b.entry.package}`);
    assert.equal(b.configMap?.metadata?.name, b.entry.job_name);
    assert.equal(b.configMap?.metadata?.labels?.[DISPATCH_LABEL], plan.dispatchId);
    assert.equal(Object.values(b.configMap?.data ?? {})[0], '// the pod program\n');
  }
  // Without upload: cluster, no ConfigMap.
  const runner = planDispatch(parseDispatchRequest({ ...BODY, bucket: 'b-1' }), CLAIMS, OPTS);
  assert.ok(runner.builds.every((b) => b.configMap === undefined));
});

test('planDispatch: staging: bucket gives every pod the fetch of the dispatch archive, named by the dispatch id', () => {
  const req = parseDispatchRequest({
    ...BODY,
    bucket: 'my-artifacts',
    stage: true,
    staging: 'bucket',
    staging_crc32c: 'q83vEg==',
  });
  assert.equal(req.stagingCrc32c, 'q83vEg==');
  const plan = planDispatch(req, CLAIMS, { ...OPTS, podProgram: '// p\n' });
  for (const b of plan.builds) {
    const pod = b.job.spec!.template.spec!;
    const init = (pod.initContainers ?? []).map((c) => c.name);
    assert.deepEqual(init, ['preflight', 'fetch'], 'no exec-fed stage container');
    const fetch = pod.initContainers!.find((c) => c.name === 'fetch')!;
    const env = Object.fromEntries((fetch.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env['KBUILD_STAGING_OBJECT'], `kbuild-staging/${plan.dispatchId}.tar.gz`);
    assert.equal(env['KBUILD_STAGING_CRC32C'], 'q83vEg==');
    assert.ok(b.configMap, 'the fetch runs the pod program');
  }
});
