// dispatcher.test.ts: the dispatcher on the lab, served by the Functions Framework on 127.0.0.1,
// verifying tokens from the lab's OIDC issuer: a real dispatch of 3 packages x 2 arches in
// dependency order on the right node pools, idempotence, refused tokens and policy violations
// that create nothing, a failed dependency that skips its dependents, and DELETE cancelling
// running builds. The `queue_name` path, with the lab's Kueue, is in dispatcher-kueue.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLabDispatcher } from '../../lab/dispatcher.ts';
import type { LocalServer } from '../../functions/dispatcher/local.ts';
import { jsonLogger } from '../../functions/dispatcher/log.ts';
import {
  byKey,
  DispatcherCalls,
  runId,
  TRIVIAL_BUILD,
  type Answer,
  type MintOptions,
} from './dispatch-calls.ts';
import { createNamespace, deleteNamespace } from './lab-kube.ts';
import { kubectl } from './lab.ts';

let ns = '';
let server: LocalServer;
let d: DispatcherCalls;
/** logs keeps the dispatcher's log entries (Cloud Logging JSON), for the test that reads them. */
const logs: string[] = [];

before(async () => {
  ns = await createNamespace('kb-dispatch');
  server = await startLabDispatcher({
    env: { KBUILD_NAMESPACE: ns },
    logger: jsonLogger((l) => logs.push(l)),
  });
  d = new DispatcherCalls(server.url);
});
after(async () => {
  await server?.close();
  deleteNamespace(ns);
});

const mint = (o?: MintOptions) => d.mint(o);
const call = (method: string, path: string, token: string, body?: unknown) =>
  d.call(method, path, token, body);
const follow = (id: string, token: string) => d.follow(id, token);

const SHA = '3'.repeat(40);
const jobsOf = (selector: string) =>
  kubectl(['get', 'jobs', '-n', ns, '-l', selector, '-o', 'name']).split('\n').filter(Boolean);

const REQUEST = {
  ...TRIVIAL_BUILD,
  packages: ['zlib', 'libpng', 'hello'],
  sha: SHA,
  dependencies: { libpng: ['zlib'] },
};

test('3 packages x 2 arches build in dependency order on the right pools; the same request again creates nothing', async () => {
  const token = await mint({ claims: { run_id: runId() } });
  const post = await call('POST', '/v1/dispatches', token, REQUEST);
  assert.equal(post.status, 202, JSON.stringify(post.body));
  assert.equal(post.body.created, 6);
  const id = post.body.dispatch_id!;
  const first = byKey(post.body.builds);
  assert.equal(first['libpng/amd64']?.reason, 'WaitingForDependencies');

  const again = await call('POST', '/v1/dispatches', token, REQUEST);
  assert.equal(again.status, 202);
  assert.equal(again.body.dispatch_id, id);
  assert.equal(again.body.created, 0);
  assert.deepEqual(
    again.body.builds?.map((b) => b.job_name).sort(),
    post.body.builds?.map((b) => b.job_name).sort(),
  );
  assert.equal(jobsOf(`kbuild.dev/dispatch-id=${id}`).length, 6, 'six Jobs, not twelve');

  const done = await follow(id, token);
  assert.equal(done.state, 'succeeded', JSON.stringify(done.builds));
  const pods = JSON.parse(
    kubectl(['get', 'pods', '-n', ns, '-l', `kbuild.dev/dispatch-id=${id}`, '-o', 'json']),
  ) as {
    items: {
      metadata: { name: string; creationTimestamp: string; labels: Record<string, string> };
      spec: { nodeName: string };
    }[];
  };
  assert.equal(pods.items.length, 6);
  const jobs = JSON.parse(
    kubectl(['get', 'jobs', '-n', ns, '-l', `kbuild.dev/dispatch-id=${id}`, '-o', 'json']),
  ) as {
    items: { metadata: { labels: Record<string, string> }; status: { completionTime?: string } }[];
  };
  const completed = (pkg: string, arch: string) =>
    Date.parse(
      jobs.items.find(
        (j) =>
          j.metadata.labels['kbuild.dev/package'] === pkg &&
          j.metadata.labels['kbuild.dev/arch'] === arch,
      )?.status.completionTime ?? '',
    );
  for (const pod of pods.items) {
    const { 'kbuild.dev/package': pkg = '', 'kbuild.dev/arch': arch = '' } = pod.metadata.labels;
    const node = JSON.parse(kubectl(['get', 'node', pod.spec.nodeName, '-o', 'json'])) as {
      metadata: { labels: Record<string, string> };
    };
    assert.equal(
      node.metadata.labels['cloud.google.com/gke-nodepool'],
      `${arch}-pool`,
      `${pkg}/${arch} ran on ${pod.spec.nodeName}`,
    );
    assert.equal(kubectl(['logs', '-n', ns, pod.metadata.name]).trim(), `building ${pkg}`);
    if (pkg === 'libpng') {
      // Created suspended; released only once zlib (same arch) had succeeded.
      assert.ok(
        Date.parse(pod.metadata.creationTimestamp) >=
          Math.floor(completed('zlib', arch) / 1000) * 1000,
        `libpng/${arch} started before zlib/${arch} ended`,
      );
    }
  }
});

test('refused tokens (7 kinds) answer 401 and create nothing', async () => {
  const run = runId();
  const claims = { run_id: run };
  const good = await mint({ claims });
  const [h, p, s] = good.split('.');
  const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, repository_owner_id: '4243' })).toString('base64url')}.${s}`;
  const cases: { name: string; token: string; code: string }[] = [
    { name: 'bad signature', token: forged, code: 'bad_signature' },
    { name: 'alg none', token: await mint({ claims, alg: 'none' }), code: 'alg_not_allowed' },
    {
      name: 'expired',
      token: await mint({
        claims: {
          ...claims,
          iat: Math.floor(Date.now() / 1000) - 600,
          exp: Math.floor(Date.now() / 1000) - 60,
        },
      }),
      code: 'expired',
    },
    {
      name: 'wrong audience',
      token: await mint({ claims, audience: 'https://elsewhere.example' }),
      code: 'bad_aud',
    },
    {
      name: 'wrong issuer',
      token: await mint({
        claims: { ...claims, iss: 'https://token.actions.githubusercontent.com' },
      }),
      code: 'bad_iss',
    },
    { name: 'missing kid', token: await mint({ claims, kid: null }), code: 'no_kid' },
    {
      name: 'another key under the same kid',
      token: await mint({ claims, key: 'other' }),
      code: 'bad_signature',
    },
  ];
  for (const c of cases) {
    const r = await call('POST', '/v1/dispatches', c.token, REQUEST);
    assert.equal(r.status, 401, `${c.name}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, 'unauthenticated', c.name);
    assert.equal(r.body.code, c.code, `${c.name}: ${r.body.reason}`);
  }
  assert.deepEqual(jobsOf(`kbuild.dev/run-id=${run}`), []);
});

test('policy violations answer 403 naming the rule and create nothing', async () => {
  const run = runId();
  const cases: {
    name: string;
    claims?: Record<string, unknown>;
    body?: Record<string, unknown>;
    rule: string;
  }[] = [
    {
      name: 'repository',
      claims: { repository_owner_id: '999', repository_id: '998', repository: 'strangers/repo' },
      rule: 'repository',
    },
    { name: 'image', body: { image: 'evil.example/debian:bookworm' }, rule: 'images' },
    { name: 'cpu', body: { cpu: '16' }, rule: 'max_cpu' },
    {
      name: 'privileged from a pull_request event',
      claims: { event_name: 'pull_request', ref: 'refs/pull/7/merge' },
      body: { privileged: true },
      rule: 'privileged',
    },
    {
      name: 'too many builds',
      body: { packages: Array.from({ length: 13 }, (_, i) => `p${i}`), dependencies: {} },
      rule: 'max_builds',
    },
  ];
  for (const c of cases) {
    const token = await mint({ claims: { run_id: run, ...c.claims } });
    const r = await call('POST', '/v1/dispatches', token, { ...REQUEST, ...c.body });
    assert.equal(r.status, 403, `${c.name}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, 'forbidden', c.name);
    assert.equal(r.body.rule, c.rule, c.name);
    assert.match(r.body.reason ?? '', /\S/, c.name);
  }
  assert.deepEqual(jobsOf(`kbuild.dev/run-id=${run}`), []);
  const refusals = logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e.status === 403);
  assert.deepEqual(
    refusals.map((e) => [e.severity, e.rule]).slice(-cases.length),
    cases.map((c) => ['NOTICE', c.rule]),
  );
});

test('a failed dependency: its dependents are skipped, other builds go on', async () => {
  const token = await mint({ claims: { run_id: runId() } });
  const body = {
    ...REQUEST,
    packages: ['base', 'app', 'tool'],
    archs: ['amd64'],
    command: `sh -c 'echo building $KBUILD_PACKAGES; test "$KBUILD_PACKAGES" != base'`,
    dependencies: { app: ['base'], tool: ['app'] },
  };
  const post = await call('POST', '/v1/dispatches', token, {
    ...body,
    packages: [...body.packages, 'other'],
  });
  assert.equal(post.status, 202, JSON.stringify(post.body));
  const done = byKey((await follow(post.body.dispatch_id!, token)).builds);
  assert.equal(done['base/amd64']?.status, 'failed');
  assert.equal(done['other/amd64']?.status, 'succeeded');
  assert.equal(done['app/amd64']?.status, 'skipped');
  assert.match(done['app/amd64']?.message ?? '', /dependency base \(amd64\) failed/);
  assert.equal(done['tool/amd64']?.status, 'skipped');
  assert.match(done['tool/amd64']?.message ?? '', /dependency app \(amd64\) was skipped/);
  const appPods = kubectl([
    'get',
    'pods',
    '-n',
    ns,
    '-l',
    `kbuild.dev/build-id=${done['app/amd64']?.build_id}`,
    '-o',
    'name',
  ]);
  assert.equal(appPods.trim(), '', 'a skipped build never ran');
});

test('DELETE cancels running builds: their Jobs and pods are gone within 5 s', async () => {
  const token = await mint({ claims: { run_id: runId() } });
  const body = {
    ...REQUEST,
    packages: ['slow'],
    command: `sh -c 'trap "exit 143" TERM; sleep 600 & wait'`,
    dependencies: {},
  };
  const post = await call('POST', '/v1/dispatches', token, body);
  assert.equal(post.status, 202, JSON.stringify(post.body));
  const id = post.body.dispatch_id!;
  const end = Date.now() + 120_000;
  for (;;) {
    const r = await call('GET', `/v1/dispatches/${id}`, token);
    if (r.body.builds?.every((b) => b.status === 'running')) break;
    if (Date.now() > end) assert.fail(`builds did not start: ${JSON.stringify(r.body.builds)}`);
    await sleep(500);
  }
  const started = Date.now();
  const del = await call('DELETE', `/v1/dispatches/${id}`, token);
  assert.equal(del.status, 200, JSON.stringify(del.body));
  assert.deepEqual(del.body.cancelled?.map((b) => `${b.package}/${b.arch}`).sort(), [
    'slow/amd64',
    'slow/arm64',
  ]);
  const selector = `kbuild.dev/dispatch-id=${id}`;
  for (;;) {
    const left = [
      ...jobsOf(selector),
      ...kubectl(['get', 'pods', '-n', ns, '-l', selector, '-o', 'name'])
        .split('\n')
        .filter(Boolean),
    ];
    if (left.length === 0) break;
    assert.ok(Date.now() - started < 5000, `still there 5 s after DELETE: ${left.join(', ')}`);
    await sleep(200);
  }
  assert.equal((await call('GET', `/v1/dispatches/${id}`, token)).status, 404);
});

test('through the GKE stand-in: Application Default Credentials (Workload Identity Federation) as on Cloud Run', async () => {
  const gke = await startLabDispatcher({
    gke: true,
    env: { KBUILD_NAMESPACE: 'default' },
    logger: jsonLogger((l) => logs.push(l)),
  });
  try {
    const token = await new DispatcherCalls(gke.url).mint({ claims: { run_id: runId() } });
    const post = await fetch(`${gke.url}/v1/dispatches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...REQUEST, packages: ['hello'], archs: ['arm64'], dependencies: {} }),
    });
    const body = (await post.json()) as Answer['body'];
    assert.equal(post.status, 202, JSON.stringify(body));
    const job = JSON.parse(
      kubectl(['get', 'job', '-n', 'default', body.builds![0]!.job_name, '-o', 'json']),
    ) as { metadata: { labels: Record<string, string> } };
    assert.equal(job.metadata.labels['kbuild.dev/dispatch-id'], body.dispatch_id);
    kubectl([
      'delete',
      'jobs',
      '-n',
      'default',
      '-l',
      `kbuild.dev/dispatch-id=${body.dispatch_id}`,
      '--wait=false',
    ]);
  } finally {
    await gke.close();
  }
});
