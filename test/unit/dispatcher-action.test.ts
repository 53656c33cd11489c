// dispatcher-action.test.ts: the action's dispatch mode, pure parts: inputs checked before
// anything is sent (a bad value names its input), the same build names as the dispatcher's, and
// the `builds` output and summary rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateDispatchInputs } from '../../src/action/dispatch.ts';
import type { Tracked } from '../../src/action/dispatch-follow.ts';
import { dispatchedBuild, dispatchSummary } from '../../src/action/dispatch-summary.ts';
import type { GitHubContext } from '../../src/core/inputs/spec.ts';
import { parseDispatchRequest } from '../../src/core/dispatch/request.ts';
import { planDispatch } from '../../functions/dispatcher/plan.ts';

const CTX: GitHubContext = {
  repository: 'kbuild-lab/demo',
  repositoryId: '90001',
  owner: 'kbuild-lab',
  repo: 'demo',
  sha: 'e'.repeat(40),
  ref: 'refs/heads/main',
  runId: '42',
  runAttempt: '1',
  serverUrl: 'https://github.com',
};
const CLAIMS = {
  repository: 'kbuild-lab/demo',
  repositoryId: '90001',
  repositoryOwner: 'kbuild-lab',
  repositoryOwnerId: '4242',
  runId: '42',
  runAttempt: '1',
  ref: 'refs/heads/main',
  eventName: 'push',
  sha: CTX.sha,
};
const RAW = {
  mode: 'dispatch',
  dispatcher_url: 'https://dispatcher.example',
  packages: 'zlib hello',
  archs: 'amd64 arm64',
  image: 'debian:bookworm',
  bucket: 'kbuild-lab-artifacts',
  cluster: 'lab',
  location: 'us-central1',
  project_id: 'kbuild-lab',
};

test('validateDispatchInputs: the body, the local specs (same names as the dispatcher), the cluster', () => {
  const d = validateDispatchInputs({ ...RAW, env: 'A=1\nB=2', queue_name: 'q' }, CTX);
  assert.equal(d.url, 'https://dispatcher.example');
  assert.equal(d.wait, true);
  assert.deepEqual(d.body.packages, ['zlib', 'hello']);
  assert.deepEqual(d.body.env, { A: '1', B: '2' });
  assert.equal(d.body.bucket, 'kbuild-lab-artifacts', 'pods wait for this step to collect');
  assert.equal(d.body.ref, 'refs/heads/main');
  assert.equal(d.body.queue_name, 'q');
  assert.deepEqual(d.auth?.cluster, {
    name: 'lab',
    project: 'kbuild-lab',
    location: 'us-central1',
  });
  const plan = planDispatch(parseDispatchRequest(d.body), CLAIMS, {
    namespace: 'default',
    serverUrl: 'https://github.com',
  });
  for (const b of plan.builds) {
    const spec = d.specs.get(`${b.entry.package}/${b.entry.arch}`);
    assert.equal(spec?.jobName, b.entry.job_name);
    assert.equal(spec?.destination, `kbuild-lab/demo/42-1/${b.entry.arch}/${b.entry.package}`);
  }
});

test('validateDispatchInputs: without wait no collector and no staging are asked for, and no cluster is needed', () => {
  const d = validateDispatchInputs(
    { ...RAW, wait: 'false', cluster: '', location: '', project_id: '' },
    CTX,
  );
  assert.equal(d.body.bucket, undefined);
  assert.equal(d.body.stage, undefined);
  assert.equal(d.context, undefined);
  assert.equal(d.auth, undefined);
});

test('validateDispatchInputs: with wait the context is staged into every build (pods get a stage container)', () => {
  const cases: { name: string; raw: Record<string, string>; want?: string }[] = [
    { name: 'default context', raw: {}, want: '.' },
    { name: 'a subdirectory', raw: { context: 'src' }, want: 'src' },
    { name: 'empty context: nothing staged', raw: { context: '' } },
    { name: 'no cluster to reach: nothing staged', raw: { cluster: '', location: '' } },
  ];
  for (const c of cases) {
    const raw = { ...RAW, ...c.raw };
    const d = validateDispatchInputs(raw, CTX);
    assert.equal(d.context, c.want, c.name);
    assert.equal(d.body.stage, c.want ? true : undefined, c.name);
    const req = parseDispatchRequest(d.body);
    const plan = planDispatch(req, CLAIMS, {
      namespace: 'default',
      serverUrl: 'https://github.com',
    });
    for (const b of plan.builds) {
      const inits = b.job.spec?.template.spec?.initContainers?.map((i) => i.name) ?? [];
      assert.equal(inits.includes('stage'), Boolean(c.want), `${c.name}: ${inits.join(',')}`);
      assert.equal(d.specs.get(`${b.entry.package}/${b.entry.arch}`)?.context, c.want, c.name);
    }
  }
});

test('validateDispatchInputs: upload: cluster goes to the dispatcher with the bucket and the service account, even without wait', () => {
  for (const wait of ['true', 'false']) {
    const d = validateDispatchInputs(
      { ...RAW, upload: 'cluster', service_account_name: 'kbuild-uploader', wait, context: '' },
      CTX,
    );
    assert.equal(d.upload, 'cluster');
    assert.equal(d.body.upload, 'cluster');
    assert.equal(d.body.bucket, 'kbuild-lab-artifacts', `wait: ${wait}`);
    assert.equal(d.body.service_account_name, 'kbuild-uploader');
    const spec = d.specs.get('zlib/amd64');
    assert.equal(spec?.upload, 'cluster');
    assert.equal(spec?.serviceAccountName, 'kbuild-uploader');
  }
  const runner = validateDispatchInputs(RAW, CTX);
  assert.equal(runner.upload, 'runner');
  assert.equal(runner.body.upload, undefined);
  assert.equal(runner.body.service_account_name, undefined);
});

test('validateDispatchInputs: staging: bucket sends the archive in place of exec, under the id the dispatcher will give', () => {
  const d = validateDispatchInputs({ ...RAW, staging: 'bucket', upload: 'cluster' }, CTX);
  assert.equal(d.staging, 'bucket');
  assert.equal(d.body.staging, 'bucket');
  assert.equal(d.body.stage, true);
  const req = parseDispatchRequest({ ...d.body, staging_crc32c: 'q83vEg==' });
  const plan = planDispatch(req, CLAIMS, {
    namespace: 'kbuild',
    serverUrl: 'https://github.com',
    podProgram: '// p\n',
  });
  assert.equal(d.dispatchId, plan.dispatchId);
  // Without a context to stage (or without following the builds) staging is moot, as context is.
  const none = validateDispatchInputs({ ...RAW, staging: 'bucket', context: '' }, CTX);
  assert.equal(none.staging, 'exec');
  assert.equal(none.body.staging, undefined);
});

test("validateDispatchInputs: dependencies (plan mode's output) go into the body", () => {
  const d = validateDispatchInputs(
    { ...RAW, packages: 'zlib libpng hello', dependencies: '{"libpng": ["zlib"]}' },
    CTX,
  );
  assert.deepEqual(d.body.dependencies, { libpng: ['zlib'] });
  assert.deepEqual(parseDispatchRequest(d.body).dependencies, { libpng: ['zlib'] });
  const none = validateDispatchInputs({ ...RAW, dependencies: ' ' }, CTX);
  assert.equal(none.body.dependencies, undefined);
});

test('validateDispatchInputs: every bad input is named before anything is sent', () => {
  const cases: { name: string; raw: Record<string, string>; input: string; message: RegExp }[] = [
    {
      name: 'no URL',
      raw: { dispatcher_url: '' },
      input: 'dispatcher_url',
      message: /input "dispatcher_url" is required/,
    },
    {
      name: 'bad URL',
      raw: { dispatcher_url: 'dispatcher.example' },
      input: 'dispatcher_url',
      message: /invalid URL/,
    },
    {
      name: 'no packages',
      raw: { packages: '' },
      input: 'packages',
      message: /input "packages" is empty/,
    },
    {
      name: 'bad package',
      raw: { packages: 'Zlib!' },
      input: 'packages',
      message: /invalid package name "Zlib!"/,
    },
    {
      name: 'bad arch',
      raw: { archs: 'sparc' },
      input: 'archs',
      message: /invalid arch "sparc" for input "archs"/,
    },
    { name: 'no image', raw: { image: '' }, input: 'image', message: /input "image" is required/ },
    { name: 'bad cpu', raw: { cpu: 'x' }, input: 'cpu', message: /for input "cpu"/ },
    {
      name: 'bad timeout',
      raw: { timeout: '1d' },
      input: 'timeout',
      message: /for input "timeout"/,
    },
    { name: 'bad wait', raw: { wait: 'maybe' }, input: 'wait', message: /use true or false/ },
    {
      name: 'dependencies not JSON',
      raw: { dependencies: 'hello: zlib' },
      input: 'dependencies',
      message: /input "dependencies": use a JSON object \{"package": \["packages it needs"\]\}/,
    },
    {
      name: 'dependencies a list',
      raw: { dependencies: '[["zlib"],["hello"]]' },
      input: 'dependencies',
      message: /use a JSON object/,
    },
    {
      name: 'dependencies on a package not dispatched',
      raw: { dependencies: '{"libpng": ["zlib"]}' },
      input: 'dependencies',
      message: /input "dependencies" names package "libpng", which is not in "packages"/,
    },
    {
      name: 'dependency cycle',
      raw: { dependencies: '{"hello": ["zlib"], "zlib": ["hello"]}' },
      input: 'dependencies',
      message: /hello.*zlib|zlib.*hello/,
    },
    {
      name: 'secret_env',
      raw: { secret_env: 'T=x' },
      input: 'secret_env',
      message: /not available in mode dispatch/,
    },
    {
      name: 'staging: bucket without a bucket',
      raw: { staging: 'bucket', bucket: '' },
      input: 'staging',
      message: /input "staging: bucket" needs a "bucket"/,
    },
    {
      name: 'upload: cluster without a bucket',
      raw: { upload: 'cluster', bucket: '' },
      input: 'upload',
      message: /input "upload: cluster" needs a "bucket"/,
    },
    {
      name: 'upload: cluster with another destination',
      raw: { upload: 'cluster', destination: 'builds/{arch}' },
      input: 'destination',
      message: /input "destination" cannot be changed with "upload: cluster" in mode dispatch/,
    },
  ];
  for (const c of cases) {
    assert.throws(
      () => validateDispatchInputs({ ...RAW, ...c.raw }, CTX),
      { name: 'InputError', input: c.input, message: c.message },
      c.name,
    );
  }
});

const tracked = (
  status: string,
  extra: Partial<Tracked['result']> = {},
  shown = true,
): Tracked => ({
  report: {
    build_id: 'b',
    package: 'zlib',
    arch: 'arm64',
    job_name: 'kb-zlib-arm64-1',
    level: 0,
    depends_on: [],
    status: status as Tracked['report']['status'],
    reason: 'R',
    message: 'dispatcher says',
  },
  result: {
    buildId: 'b',
    jobName: 'kb-zlib-arm64-1',
    namespace: 'ns',
    status: 'failed',
    reason: '',
    message: '',
    createdAt: '',
    artifacts: [],
    skipped: [],
    lastLines: [],
    logLines: 0,
    logReconnects: 0,
    ...extra,
  },
  shown,
});

test('dispatchedBuild: what the step saw wins over the report, except for skipped and cancelled builds', () => {
  const ok = dispatchedBuild(
    tracked('succeeded', {
      status: 'succeeded',
      reason: 'Completed',
      message: 'done',
      exitCode: 0,
      nodeName: 'n1',
      logUri: 'gs://b/l',
    }),
    'd',
    true,
  );
  assert.deepEqual(
    [ok.status, ok.exit_code, ok.node_name, ok.log_uri, ok.reason],
    ['succeeded', 0, 'n1', 'gs://b/l', 'Completed'],
  );
  const timedOut = dispatchedBuild(
    tracked('failed', { status: 'timed_out', reason: 'DeadlineExceeded', message: 'late' }),
    'd',
    true,
  );
  assert.equal(timedOut.status, 'timed_out');
  const skipped = dispatchedBuild(tracked('skipped', {}), 'd', true);
  assert.deepEqual([skipped.status, skipped.message], ['skipped', 'dispatcher says']);
  const cancelled = dispatchedBuild(tracked('running', { status: 'cancelled' }, false), 'd', true);
  assert.equal(cancelled.status, 'cancelled');
  const noWait = dispatchedBuild(tracked('pending', {}, false), 'd', false);
  assert.equal(noWait.status, 'pending');
});

test('dispatchSummary: one row per build, details for the ones that did not succeed', () => {
  const t = [
    tracked('succeeded', {
      status: 'succeeded',
      nodePool: 'arm64-pool',
      buildSeconds: 12.4,
      artifacts: [{ name: 'a', size: 2048, crc32c: '', sha256: '', uri: 'gs://b/a' }],
    }),
    tracked('skipped', {}),
  ];
  const md = dispatchSummary(
    'd1',
    t,
    t.map((x) => dispatchedBuild(x, 'd1', true)),
  );
  const rows = md.split('\n').filter((l) => l.startsWith('| zlib'));
  assert.equal(rows.length, 2);
  assert.equal(rows[0], '| zlib | arm64 | succeeded | arm64-pool | 12s | 1 (2.0 KiB) |  |');
  assert.equal(rows[1], '| zlib | arm64 | skipped | - | - | - | R: dispatcher says |');
});

test('cache through the dispatcher: keys per package and arch, scopes from the verified token, never the body', () => {
  const raw = {
    ...RAW,
    cache_key: 'deps-{package}-{arch}-v1',
    cache_restore_keys: 'deps-{package}-{arch}-',
    service_account_name: 'kbuild-uploader',
  };
  const d = validateDispatchInputs(raw, CTX);
  assert.equal(d.body.cache_key, 'deps-{package}-{arch}-v1');
  assert.deepEqual(d.body.cache_restore_keys, ['deps-{package}-{arch}-']);
  assert.equal(d.body.cache_path, undefined, 'the default path is not sent');
  assert.equal(d.specs.get('zlib/arm64')?.cache?.key, 'deps-zlib-arm64-v1');
  // A pull request's token: the body claims refs/heads/main, the token says refs/pull/3/merge.
  const pr = { ...CLAIMS, ref: 'refs/pull/3/merge', baseRef: 'main', eventName: 'pull_request' };
  const plan = planDispatch(parseDispatchRequest(d.body), pr, {
    namespace: 'kbuild',
    serverUrl: 'https://github.com',
    podProgram: '// pod program',
  });
  const spec = plan.builds.find(
    (b) => b.entry.package === 'hello' && b.entry.arch === 'amd64',
  )!.spec;
  assert.deepEqual(spec.cache, {
    key: 'deps-hello-amd64-v1',
    restoreKeys: ['deps-hello-amd64-'],
    path: '/var/cache/kbuild',
    read: ['kbuild-cache/90001/refs%2Fpull%2F3%2Fmerge', 'kbuild-cache/90001/refs%2Fheads%2Fmain'],
    write: 'kbuild-cache/90001/refs%2Fpull%2F3%2Fmerge',
  });
  const pod = plan.builds[0]!.job.spec!.template.spec!;
  assert.ok(pod.initContainers?.some((c) => c.name === 'cache-restore'));
  assert.ok(pod.containers.some((c) => c.name === 'cache-save'));
  assert.ok(plan.builds[0]!.configMap, 'the pod program travels in a ConfigMap');
  // Several packages and archs need both placeholders; a key needs a bucket; without wait, upload: cluster.
  const refused: [Record<string, string>, RegExp][] = [
    [{ cache_key: 'deps-{arch}' }, /input "cache_key" must contain \{package\}/],
    [{ cache_key: 'deps-{package}' }, /input "cache_key" must contain \{arch\}/],
    [{ cache_key: 'k-{package}-{arch}', bucket: '' }, /needs a "bucket"/],
    [{ cache_key: 'k/{package}-{arch}' }, /invalid cache key/],
    [{ cache_key: 'k-{package}-{arch}', wait: 'false' }, /needs "upload: cluster"/],
  ];
  for (const [extra, error] of refused)
    assert.throws(
      () => validateDispatchInputs({ ...raw, ...extra }, CTX),
      error,
      JSON.stringify(extra),
    );
});
