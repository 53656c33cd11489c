// dispatcher-role.test.ts: the dispatcher under its own identity and nothing more. It runs as
// kbuild-dispatcher@ (Application Default Credentials through the lab's Workload Identity
// Federation, as on Cloud Run), reaches the cluster through the GKE stand-in, and has only the
// Role of deploy/kubernetes/dispatcher in namespace kbuild. A dispatch with a dependency builds,
// the same request again creates nothing, DELETE cancels, and an exec into a build pod with
// the dispatcher's own credentials is refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { configFromEnv } from '../../functions/dispatcher/config.ts';
import { LAB_POLICY, startLabDispatcher } from '../../lab/dispatcher.ts';
import type { LocalServer } from '../../functions/dispatcher/local.ts';
import { jsonLogger } from '../../functions/dispatcher/log.ts';
import { connect } from '../../src/core/build/connect.ts';
import { KubeApiError } from '../../src/core/kube/api.ts';
import { execInPod } from '../../src/core/kube/stream.ts';
import { byKey, DispatcherCalls, runId, TRIVIAL_BUILD } from './dispatch-calls.ts';
import { waitFor } from './lab-kube.ts';
import { kubectl, labEnv } from './lab.ts';

const NS = 'kbuild';
const SHA = '5'.repeat(40);
let server: LocalServer;
let d: DispatcherCalls;
const logs: string[] = [];

const REQUEST = {
  ...TRIVIAL_BUILD,
  packages: ['rbase', 'rapp'],
  sha: SHA,
  dependencies: { rapp: ['rbase'] },
};

before(async () => {
  kubectl(['apply', '-k', 'deploy/kubernetes/lab']);
  await waitFor(`service account default in ${NS}`, 60_000, () =>
    kubectl(['get', 'serviceaccounts', '-n', NS, '-o', 'name']).includes('serviceaccount/default')
      ? true
      : undefined,
  );
  server = await startLabDispatcher({
    gke: true,
    serviceAccount: labEnv()['KBUILD_LAB_DISPATCHER_SERVICE_ACCOUNT'] ?? '',
    env: { KBUILD_NAMESPACE: NS },
    logger: jsonLogger((l) => logs.push(l)),
  });
  d = new DispatcherCalls(server.url);
});
after(async () => {
  await server?.close();
});

test('the dispatcher identity is kbuild-dispatcher@ and its Role is all it has', () => {
  const user = labEnv()['KBUILD_LAB_DISPATCHER_SERVICE_ACCOUNT'] ?? '';
  assert.equal(user, 'kbuild-dispatcher@kbuild-lab.iam.gserviceaccount.com');
  const bindings = kubectl([
    'get',
    'rolebindings,clusterrolebindings',
    '-A',
    '-o',
    'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}:{.subjects[*].name}{"\\n"}{end}',
  ])
    .split('\n')
    .filter((l) => l.includes(user));
  assert.deepEqual(bindings, ['kbuild/kbuild-dispatcher:' + user]);
});

test('under its Role: a dispatch builds in dependency order, the same request again creates nothing', async () => {
  const token = await d.mint({ claims: { run_id: runId() } });
  const post = await d.call('POST', '/v1/dispatches', token, REQUEST);
  assert.equal(post.status, 202, JSON.stringify(post.body));
  assert.equal(post.body.created, 4);
  const id = post.body.dispatch_id!;
  const again = await d.call('POST', '/v1/dispatches', token, REQUEST);
  assert.equal(again.status, 202, JSON.stringify(again.body));
  assert.equal(again.body.dispatch_id, id);
  assert.equal(again.body.created, 0);
  const done = await d.follow(id, token);
  assert.equal(done.state, 'succeeded', JSON.stringify(done.builds));
  const builds = byKey(done.builds);
  for (const key of ['rbase/amd64', 'rbase/arm64', 'rapp/amd64', 'rapp/arm64'])
    assert.equal(builds[key]?.status, 'succeeded', key);
  const jobs = kubectl([
    'get',
    'jobs',
    '-n',
    NS,
    '-l',
    `kbuild.dev/dispatch-id=${id}`,
    '-o',
    'name',
  ]);
  assert.equal(jobs.split('\n').filter(Boolean).length, 4);
  kubectl(['delete', 'jobs', '-n', NS, '-l', `kbuild.dev/dispatch-id=${id}`, '--wait=false']);
});

test('under its Role: DELETE cancels, and exec with its credentials is refused', async () => {
  const token = await d.mint({ claims: { run_id: runId() } });
  const body = {
    ...REQUEST,
    packages: ['rslow'],
    archs: ['amd64'],
    command: `sh -c 'trap "exit 143" TERM; sleep 600 & wait'`,
    dependencies: {},
  };
  const post = await d.call('POST', '/v1/dispatches', token, body);
  assert.equal(post.status, 202, JSON.stringify(post.body));
  const id = post.body.dispatch_id!;
  await d.until(id, token, (b) => b[0]?.status === 'running', 'rslow not running');
  const selector = `kbuild.dev/dispatch-id=${id}`;
  const pod = kubectl([
    'get',
    'pods',
    '-n',
    NS,
    '-l',
    selector,
    '-o',
    'jsonpath={.items[0].metadata.name}',
  ]);
  assert.match(pod, /\S/);

  // The same credentials the dispatcher uses (ADC -> STS -> IAM Credentials -> GKE), as a client.
  const config = configFromEnv({
    KBUILD_CLUSTER: labEnv()['KBUILD_LAB_CLUSTER'],
    KBUILD_LOCATION: labEnv()['KBUILD_LAB_LOCATION'],
    KBUILD_PROJECT_ID: labEnv()['KBUILD_LAB_PROJECT_ID'],
    KBUILD_AUDIENCE: server.url,
    KBUILD_POLICY: JSON.stringify(LAB_POLICY),
    ...labEnv(),
  });
  const { kubeConfig } = await connect(config.auth, {
    endpoints: config.endpoints,
    mask: () => undefined,
  });
  const stdout = new PassThrough();
  await assert.rejects(
    execInPod(kubeConfig, {
      namespace: NS,
      pod,
      container: 'build',
      command: ['cat', '/etc/hostname'],
      stdout,
    }),
    (err: unknown) => {
      assert.ok(err instanceof KubeApiError, String(err));
      assert.equal(err.status, 403);
      assert.match(
        err.message,
        /kbuild-dispatcher@kbuild-lab\.iam\.gserviceaccount\.com.*cannot (get|create) resource "pods\/exec"/,
      );
      return true;
    },
  );

  const del = await d.call('DELETE', `/v1/dispatches/${id}`, token);
  assert.equal(del.status, 200, JSON.stringify(del.body));
  assert.deepEqual(
    del.body.cancelled?.map((b) => `${b.package}/${b.arch}`),
    ['rslow/amd64'],
  );
  await waitFor('the cancelled Job and its pod to go', 30_000, () =>
    kubectl(['get', 'jobs,pods', '-n', NS, '-l', selector, '-o', 'name']).trim() === ''
      ? true
      : undefined,
  );
});
