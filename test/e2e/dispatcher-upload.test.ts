// dispatcher-upload.test.ts: `upload: cluster` through the dispatcher on the lab. The dispatcher
// runs under its own identity (kbuild-dispatcher@, the Role of deploy/kubernetes/dispatcher) in
// namespace kbuild; the bundled action's mode dispatch sends the matrix with `upload: cluster`,
// each build's pod (KSA kbuild-uploader, Workload Identity through the lab's metadata server)
// stores its own artifacts from the pod program the dispatcher put in a ConfigMap, and the step
// only compares object metadata. The objects are then read back with gcloud: size, CRC32C and
// bytes match the step's `builds` output. With `staging: bucket` the step uploads its checkout
// once, as the dispatch's archive, and every pod fetches it (no exec): with both, a dispatch
// builds where the builder's Role is deploy/kubernetes/no-exec. Refusals of unsupported
// combinations create nothing. A build cache through the dispatcher: each build restores and
// saves its own key (`{package}`, `{arch}`), and the second dispatch restores it exactly.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { LAB_POLICY, startLabDispatcher } from '../../lab/dispatcher.ts';
import type { LocalServer } from '../../functions/dispatcher/local.ts';
import { jsonLogger } from '../../functions/dispatcher/log.ts';
import { gcloud, labInputs, newRunId, runStep } from './action.ts';
import { DispatcherCalls, runId, tokenEnv, TRIVIAL_BUILD } from './dispatch-calls.ts';
import { waitFor } from './lab-kube.ts';
import { kubectl, labEnv } from './lab.ts';

const NS = 'kbuild';
const KSA = 'kbuild-uploader';
let server: LocalServer;
let d: DispatcherCalls;
const dispatches = new Set<string>();

before(async () => {
  // The Roles as the deploy kit has them now (the dispatcher's may create ConfigMaps).
  kubectl(['apply', '-k', 'deploy/kubernetes/lab']);
  await waitFor(`service account ${KSA} in ${NS}`, 60_000, () =>
    kubectl(['get', 'serviceaccounts', '-n', NS, '-o', 'name']).includes(`serviceaccount/${KSA}`)
      ? true
      : undefined,
  );
  server = await startLabDispatcher({
    gke: true,
    serviceAccount: labEnv()['KBUILD_LAB_DISPATCHER_SERVICE_ACCOUNT'] ?? '',
    env: {
      KBUILD_NAMESPACE: NS,
      KBUILD_POLICY: JSON.stringify({ ...LAB_POLICY, service_accounts: [KSA] }),
    },
    logger: jsonLogger(() => undefined),
  });
  d = new DispatcherCalls(server.url);
});
after(async () => {
  await server?.close();
  for (const id of dispatches)
    kubectl(['delete', 'jobs', '-n', NS, '-l', `kbuild.dev/dispatch-id=${id}`, '--wait=false']);
});

interface Built {
  package: string;
  arch: string;
  status: string;
  dispatch_id: string;
  job_name: string;
  artifacts_uri: string;
  log_uri: string;
  artifacts: { name: string; size: number; crc32c: string; sha256: string; uri: string }[];
  cache_hit?: string;
  cache_key?: string;
}

/** inputs: mode dispatch to the dispatcher above, amd64 builds in debian, `upload: cluster` as KSA. */
function inputs(extra: Record<string, string>): Record<string, string> {
  return {
    ...labInputs(),
    mode: 'dispatch',
    dispatcher_url: server.url,
    namespace: NS,
    archs: 'amd64',
    image: 'debian:bookworm',
    package_target: '',
    cpu: '200m',
    memory: '256Mi',
    bucket: labEnv()['KBUILD_LAB_BUCKET'] ?? '',
    upload: 'cluster',
    service_account_name: KSA,
    ...extra,
  };
}

test('dispatch mode with upload: cluster: each pod stores its artifacts, gcloud reads them back', async () => {
  const id = newRunId();
  // 3 MB of random bytes and a small text per build: per-package content, so a mix-up shows.
  const command = `sh -c 'mkdir -p packages/sub && head -c 3000000 /dev/urandom > packages/$KBUILD_PACKAGES.bin && echo "$KBUILD_PACKAGES $KBUILD_ARCH" > packages/sub/info.txt'`;
  const run = await runStep({
    runId: id,
    env: await tokenEnv(id),
    inputs: inputs({ packages: 'upa upb', command, context: '' }),
  });
  rmSync(run.runDir, { recursive: true, force: true });
  const builds = JSON.parse(run.outputs['builds'] ?? '[]') as Built[];
  for (const b of builds) dispatches.add(b.dispatch_id);
  assert.equal(run.code, 0, `step failed:\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`);
  assert.equal(builds.length, 2);
  for (const b of builds) {
    assert.equal(b.status, 'succeeded', JSON.stringify(b));
    const at = (name: string): string => `${b.artifacts_uri.replace(/\/$/, '')}/${name}`;
    assert.match(
      run.stdout,
      new RegExp(`The pod of ${b.package}/amd64 uploaded 2 artifacts to gs://`),
    );
    assert.deepEqual(b.artifacts.map((a) => a.name).sort(), ['sub/info.txt', `${b.package}.bin`]);
    for (const a of b.artifacts) {
      assert.equal(a.uri, at(a.name));
      const crc32c = gcloud([
        'storage',
        'objects',
        'describe',
        a.uri,
        '--format=value(crc32c_hash)',
      ])
        .toString()
        .trim();
      assert.equal(crc32c, a.crc32c, `${a.uri}: CRC32C in GCS`);
      const bytes = gcloud(['storage', 'cat', a.uri]);
      assert.equal(bytes.length, a.size, `${a.uri}: size read back`);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), a.sha256, a.uri);
    }
    assert.equal(gcloud(['storage', 'cat', at('sub/info.txt')]).toString(), `${b.package} amd64\n`);
    // build.log and kbuild.json are stored by the step, as in mode build.
    const record = JSON.parse(gcloud(['storage', 'cat', at('kbuild.json')]).toString()) as {
      artifacts: { name: string }[];
    };
    assert.equal(record.artifacts.length, 2);
  }
  // The pods had an uploader and no collector; the dispatcher's ConfigMaps are owned by the Jobs.
  const [one] = builds;
  const containers = kubectl([
    'get',
    'job',
    '-n',
    NS,
    one!.job_name,
    '-o',
    'jsonpath={.spec.template.spec.containers[*].name}',
  ]);
  assert.equal(containers, 'build uploader');
  const owner = kubectl([
    'get',
    'configmap',
    '-n',
    NS,
    one!.job_name,
    '-o',
    'jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}',
  ]);
  assert.equal(owner, `Job/${one!.job_name}`);
});

test('dispatch mode with staging: bucket and upload: cluster: one archive for every build, no exec', async () => {
  const id = newRunId();
  const workspace = mkdtempSync(join(tmpdir(), 'kbuild-dispatch-ws-'));
  mkdirSync(join(workspace, 'src'));
  writeFileSync(join(workspace, 'src', 'greeting.txt'), `hello from run ${id}\n`);
  const run = await runStep({
    runId: id,
    workspace,
    env: await tokenEnv(id),
    inputs: inputs({
      packages: 'sta stb',
      // The staged checkout is the only source of the artifact.
      command: `sh -c 'mkdir -p packages && cp src/greeting.txt packages/$KBUILD_PACKAGES.txt'`,
      staging: 'bucket',
    }),
  });
  rmSync(run.runDir, { recursive: true, force: true });
  rmSync(workspace, { recursive: true, force: true });
  const builds = JSON.parse(run.outputs['builds'] ?? '[]') as Built[];
  for (const b of builds) dispatches.add(b.dispatch_id);
  assert.equal(run.code, 0, `step failed:\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`);
  assert.equal(builds.length, 2);
  const archive = /as (gs:\/\/\S+kbuild-staging\/[0-9a-f]{32}\.tar\.gz)/.exec(run.stdout)?.[1];
  assert.ok(archive, 'one archive, named by the dispatch id');
  assert.equal(run.stdout.match(/Staged \d+ files/g)?.length, 1, 'staged once for both builds');
  assert.doesNotMatch(run.stdout, /: staged \d+ files .* into \/workspace/, 'nothing over exec');
  for (const b of builds) {
    assert.equal(b.status, 'succeeded', JSON.stringify(b));
    const [a] = b.artifacts;
    assert.equal(gcloud(['storage', 'cat', a!.uri]).toString(), `hello from run ${id}\n`);
  }
  const init = kubectl([
    'get',
    'job',
    '-n',
    NS,
    builds[0]!.job_name,
    '-o',
    'jsonpath={.spec.template.spec.initContainers[*].name}',
  ]);
  assert.equal(init, 'preflight fetch');
  // The archive is deleted once every build ended.
  assert.throws(
    () => gcloud(['storage', 'objects', 'describe', archive!]),
    /not found|404|No URLs matched/i,
  );
});

test('under the no-exec Role: a dispatch with staging: bucket and upload: cluster builds without pods/exec', async (t) => {
  // A scratch namespace where the builder's Role is deploy/kubernetes/no-exec's, and a dispatcher
  // serving it (with the lab's admin kubeconfig: the dispatcher's own Role is in kbuild only).
  const ns = `kbuild-dp-noexec-${Date.now().toString(36)}`;
  const docs = parseAllDocuments(kubectl(['kustomize', 'deploy/kubernetes/no-exec']))
    .map((d) => d.toJSON() as { kind: string; metadata: { name: string; namespace?: string } })
    .filter((d) => ['Role', 'RoleBinding', 'ServiceAccount'].includes(d.kind))
    .map((d) => ({ ...d, metadata: { ...d.metadata, namespace: ns } }));
  kubectl(['create', 'namespace', ns]);
  t.after(() => kubectl(['delete', 'namespace', ns, '--wait=false']));
  const project = labEnv()['KBUILD_LAB_PROJECT_ID'] ?? '';
  kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }).replaceAll(
      '@PROJECT_ID.',
      `@${project}.`,
    ),
  );
  const builder = labEnv()['KBUILD_LAB_SERVICE_ACCOUNT'] ?? '';
  // `can-i VERB pods/exec` would ask about a pod named exec: the subresource is a flag.
  const canI = (...args: string[]): boolean => {
    try {
      return kubectl(['auth', 'can-i', '--as', builder, ...args, '-n', ns]).trim() === 'yes';
    } catch {
      return false; // kubectl auth can-i exits 1 for "no"
    }
  };
  await waitFor(`the no-exec Role in ${ns}`, 30_000, () =>
    canI('create', 'jobs.batch') ? true : undefined,
  );
  assert.equal(
    canI('create', 'pods', '--subresource=exec'),
    false,
    'the builder cannot exec there',
  );
  const noExec = await startLabDispatcher({
    env: {
      KBUILD_NAMESPACE: ns,
      KBUILD_POLICY: JSON.stringify({ ...LAB_POLICY, service_accounts: [KSA] }),
    },
    logger: jsonLogger(() => undefined),
  });
  t.after(() => noExec.close());
  const id = newRunId();
  const workspace = mkdtempSync(join(tmpdir(), 'kbuild-dispatch-ws-'));
  t.after(() => rmSync(workspace, { recursive: true, force: true }));
  writeFileSync(join(workspace, 'input.txt'), 'staged through the bucket\n');
  const run = await runStep({
    runId: id,
    workspace,
    env: await tokenEnv(id),
    inputs: inputs({
      dispatcher_url: noExec.url,
      namespace: ns,
      packages: 'nxa',
      command: `sh -c 'mkdir -p packages && cp input.txt packages/'`,
      staging: 'bucket',
    }),
  });
  rmSync(run.runDir, { recursive: true, force: true });
  assert.equal(run.code, 0, `step failed:\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`);
  const [b] = JSON.parse(run.outputs['builds'] ?? '[]') as Built[];
  assert.equal(b?.status, 'succeeded');
  assert.deepEqual(
    b.artifacts.map((a) => [a.name, a.size]),
    [['input.txt', 26]],
  );
});

test('unsupported combinations are refused before anything is created', async () => {
  const token = await d.mint({ claims: { run_id: runId() } });
  const body = {
    ...TRIVIAL_BUILD,
    archs: ['amd64'],
    packages: ['upx'],
    sha: '7'.repeat(40),
    bucket: labEnv()['KBUILD_LAB_BUCKET'],
  };
  const cases: { name: string; body: Record<string, unknown>; status: number; key: RegExp }[] = [
    {
      name: 'staging: bucket without stage',
      body: { ...body, upload: 'cluster', staging: 'bucket', staging_crc32c: 'AAAAAA==' },
      status: 400,
      key: /"field":"staging"/,
    },
    {
      name: 'upload: cluster without a bucket',
      body: { ...body, bucket: undefined, upload: 'cluster' },
      status: 400,
      key: /"field":"upload"/,
    },
    {
      name: 'a service account the policy does not list',
      body: { ...body, upload: 'cluster', service_account_name: 'kbuild-other' },
      status: 403,
      key: /"rule":"service_accounts"/,
    },
  ];
  for (const c of cases) {
    const r = await d.call('POST', '/v1/dispatches', token, c.body);
    assert.equal(r.status, c.status, `${c.name}: ${JSON.stringify(r.body)}`);
    assert.match(JSON.stringify(r.body), c.key, c.name);
  }
  const jobs = kubectl(['get', 'jobs', '-n', NS, '-l', 'kbuild.dev/package=upx', '-o', 'name']);
  assert.equal(jobs.trim(), '');
});

test('dispatch mode with a cache: each build saves its own key; the next dispatch restores it exactly', async () => {
  const key = `dc-{package}-{arch}-${newRunId()}`;
  // The build prints what the cache held, then leaves its own stamp there.
  const command = `sh -c 'cat /var/cache/kbuild/stamp 2>/dev/null || echo cold; echo "$KBUILD_PACKAGES" > /var/cache/kbuild/stamp; mkdir -p packages && echo x > packages/x'`;
  const dispatch = async (): Promise<{ builds: Built[]; stdout: string }> => {
    const id = newRunId();
    const run = await runStep({
      runId: id,
      env: await tokenEnv(id),
      inputs: inputs({ packages: 'cca ccb', command, context: '', cache_key: key }),
    });
    rmSync(run.runDir, { recursive: true, force: true });
    const builds = JSON.parse(run.outputs['builds'] ?? '[]') as Built[];
    for (const b of builds) dispatches.add(b.dispatch_id);
    assert.equal(
      run.code,
      0,
      `step failed:\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`,
    );
    return { builds, stdout: run.stdout };
  };
  const first = await dispatch();
  assert.deepEqual(first.builds.map((b) => [b.package, b.cache_hit]).sort(), [
    ['cca', 'none'],
    ['ccb', 'none'],
  ]);
  for (const p of ['cca', 'ccb'])
    assert.match(first.stdout, new RegExp(`Cache: saved key dc-${p}-amd64-\\d+`));
  const second = await dispatch();
  for (const b of second.builds) {
    assert.equal(b.cache_hit, 'exact', JSON.stringify(b));
    assert.equal(b.cache_key, key.replace('{package}', b.package).replace('{arch}', 'amd64'));
  }
  // Each build got its own archive back.
  assert.match(second.stdout, /^cca$/m);
  assert.match(second.stdout, /^ccb$/m);
});
