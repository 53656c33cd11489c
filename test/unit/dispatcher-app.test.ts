// dispatcher-app.test.ts: the dispatcher's routes over an in-memory cluster and a local JWKS:
// refusals (401, 403 naming the rule, 400 naming the field) create nothing; POST is idempotent;
// GET reconciles (releases, skips); DELETE cancels what has not ended; logs carry the trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { createApp, type HttpRequestLike } from '../../functions/dispatcher/app.ts';
import { DEFAULT_FANOUT } from '../../functions/dispatcher/fanout.ts';
import { jsonLogger } from '../../functions/dispatcher/log.ts';
import { parsePolicy } from '../../functions/dispatcher/policy.ts';
import { TokenVerifier } from '../../functions/dispatcher/tokens.ts';
import { KubeApiError } from '../../src/core/kube/api.ts';
import { FakeJobs } from './dispatcher-fixtures.ts';

const ISSUER = 'https://issuer.example';
const AUDIENCE = 'https://dispatcher.example';
const keys = await generateKeyPair('RS256', { extractable: true });
const jwks = { keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS256' }] };
const CLAIMS = {
  repository: 'kbuild-lab/demo',
  repository_id: '90001',
  repository_owner: 'kbuild-lab',
  repository_owner_id: '4242',
  run_id: '555',
  run_attempt: '1',
  ref: 'refs/heads/main',
  event_name: 'push',
  sha: 'c'.repeat(40),
};
const token = (claims: JWTPayload = {}) =>
  new SignJWT({ ...CLAIMS, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(keys.privateKey);

const policy = parsePolicy({
  repository_owner_ids: [4242],
  images: ['debian:'],
  max_cpu: '4',
  max_memory: '8Gi',
  max_builds: 6,
});
const BODY = {
  packages: ['zlib', 'libpng', 'hello'],
  archs: ['amd64', 'arm64'],
  image: 'debian:bookworm',
  command: 'true',
  ref: 'refs/heads/main',
  sha: 'c'.repeat(40),
  dependencies: { libpng: ['zlib'] },
};

function setup(podProgram?: () => Promise<string | undefined>) {
  const api = new FakeJobs();
  const lines: string[] = [];
  const app = createApp({
    config: {
      namespace: 'default',
      policy,
      serverUrl: 'https://github.com',
      project: 'kbuild-lab',
      fanout: { ...DEFAULT_FANOUT, policy: { ...DEFAULT_FANOUT.policy, baseMs: 1, capMs: 2 } },
    },
    verifier: new TokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: createLocalJWKSet(jwks),
    }),
    jobs: async () => api,
    ...(podProgram ? { podProgram } : {}),
    logger: jsonLogger((l) => lines.push(l)),
  });
  const call = async (
    method: string,
    path: string,
    o: { body?: unknown; tok?: string | null; headers?: Record<string, string> } = {},
  ) => {
    const tok = o.tok === undefined ? await token() : o.tok;
    const req: HttpRequestLike = {
      method,
      path,
      headers: { ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...o.headers },
      body: o.body,
    };
    return app(req) as Promise<{
      status: number;
      body: Record<string, unknown> & {
        builds?: {
          package: string;
          arch: string;
          status: string;
          job_name: string;
          message?: string;
        }[];
      };
    }>;
  };
  return { api, app, call, lines };
}

test('healthz answers 200 without a token; unknown routes 404, wrong methods 405', async () => {
  const { call } = setup();
  assert.deepEqual(await call('GET', '/healthz', { tok: null }), {
    status: 200,
    body: { status: 'ok' },
  });
  assert.equal((await call('GET', '/v2/things')).status, 404);
  assert.equal((await call('PUT', '/v1/dispatches')).status, 405);
});

test('refusals answer 401/403/400 with a JSON reason and create nothing', async () => {
  const { api, call } = setup();
  const cases: {
    name: string;
    tok?: string | null;
    body?: unknown;
    status: number;
    want: Record<string, unknown>;
  }[] = [
    { name: 'no token', tok: null, body: BODY, status: 401, want: { error: 'unauthenticated' } },
    {
      name: 'garbage token',
      tok: 'abc',
      body: BODY,
      status: 401,
      want: { error: 'unauthenticated', code: 'malformed' },
    },
    {
      name: 'another owner',
      tok: await token({ repository_owner_id: '1' }),
      body: BODY,
      status: 403,
      want: { error: 'forbidden', rule: 'repository' },
    },
    {
      name: 'bad field',
      body: { ...BODY, cpu: 'lots' },
      status: 400,
      want: { error: 'invalid_request', field: 'cpu' },
    },
    {
      name: 'image',
      body: { ...BODY, image: 'evil.io/x' },
      status: 403,
      want: { error: 'forbidden', rule: 'images' },
    },
    {
      name: 'cpu',
      body: { ...BODY, cpu: '8' },
      status: 403,
      want: { error: 'forbidden', rule: 'max_cpu' },
    },
    {
      name: 'privileged',
      body: { ...BODY, privileged: true },
      status: 403,
      want: { error: 'forbidden', rule: 'privileged' },
    },
    {
      name: 'too many builds',
      body: { ...BODY, packages: ['a', 'b', 'c', 'd'], dependencies: {} },
      status: 403,
      want: { error: 'forbidden', rule: 'max_builds' },
    },
  ];
  for (const c of cases) {
    const r = await call('POST', '/v1/dispatches', { tok: c.tok, body: c.body });
    assert.equal(r.status, c.status, c.name);
    for (const [k, v] of Object.entries(c.want)) assert.equal(r.body[k], v, `${c.name}: ${k}`);
    assert.equal(typeof r.body.reason, 'string', c.name);
  }
  assert.equal(api.calls.filter((c) => c.startsWith('create')).length, 0);
});

test('POST creates 6 builds; the same request again creates none; another request for them is 409', async () => {
  const { api, call } = setup();
  const first = await call('POST', '/v1/dispatches', { body: BODY });
  assert.equal(first.status, 202);
  assert.match(String(first.body.dispatch_id), /^[0-9a-f]{32}$/);
  assert.equal(first.body.created, 6);
  const status = Object.fromEntries(
    first.body.builds!.map((b) => [`${b.package}/${b.arch}`, b.status]),
  );
  assert.deepEqual(status, {
    'zlib/amd64': 'pending',
    'zlib/arm64': 'pending',
    'libpng/amd64': 'pending',
    'libpng/arm64': 'pending',
    'hello/amd64': 'pending',
    'hello/arm64': 'pending',
  });
  const again = await call('POST', '/v1/dispatches', { body: BODY });
  assert.equal(again.status, 202);
  assert.equal(again.body.dispatch_id, first.body.dispatch_id);
  assert.equal(again.body.created, 0);
  assert.deepEqual(
    again.body.builds!.map((b) => b.job_name),
    first.body.builds!.map((b) => b.job_name),
  );
  assert.equal(api.calls.filter((c) => c.startsWith('create')).length, 6);
  const other = await call('POST', '/v1/dispatches', { body: { ...BODY, cpu: '2' } });
  assert.equal(other.status, 409);
  assert.equal(api.jobs.size, 6);
});

test('GET reconciles: releases dependents of a success, skips those of a failure; DELETE cancels the rest', async () => {
  const { api, call } = setup();
  const post = await call('POST', '/v1/dispatches', { body: BODY });
  const id = String(post.body.dispatch_id);
  const name = (pkg: string, arch: string) =>
    post.body.builds!.find((b) => b.package === pkg && b.arch === arch)!.job_name;
  assert.equal(api.jobs.get(name('libpng', 'amd64'))?.spec?.suspend, true);
  api.finish(name('zlib', 'amd64'), 'Complete');
  api.finish(name('zlib', 'arm64'), 'Failed');
  const get = await call('GET', `/v1/dispatches/${id}`);
  assert.equal(get.status, 200);
  const status = Object.fromEntries(
    get.body.builds!.map((b) => [`${b.package}/${b.arch}`, b.status]),
  );
  assert.equal(status['zlib/amd64'], 'succeeded');
  assert.equal(status['zlib/arm64'], 'failed');
  assert.equal(status['libpng/amd64'], 'pending');
  assert.equal(status['libpng/arm64'], 'skipped');
  assert.equal(api.jobs.get(name('libpng', 'amd64'))?.spec?.suspend, false, 'released');
  assert.match(
    api.jobs.get(name('libpng', 'arm64'))?.metadata?.annotations?.['kbuild.dev/skipped'] ?? '',
    /dependency zlib \(arm64\) failed/,
  );
  assert.equal(
    api.jobs.get(name('libpng', 'arm64'))?.spec?.suspend,
    true,
    'a skipped Job never runs',
  );

  const other = await call('GET', `/v1/dispatches/${id}`, {
    tok: await token({ repository_id: '90002' }),
  });
  assert.equal(other.status, 404, 'another repository of the owner cannot see it');
  assert.equal((await call('GET', '/v1/dispatches/not-an-id')).status, 400);

  const del = await call('DELETE', `/v1/dispatches/${id}`);
  assert.equal(del.status, 200);
  const cancelled = (del.body.cancelled as { package: string; arch: string }[])
    .map((b) => `${b.package}/${b.arch}`)
    .sort();
  assert.deepEqual(cancelled, ['hello/amd64', 'hello/arm64', 'libpng/amd64', 'libpng/arm64']);
  assert.deepEqual(
    [...api.jobs.keys()].sort(),
    [name('zlib', 'amd64'), name('zlib', 'arm64')].sort(),
    'ended Jobs stay',
  );
});

test('a build that cannot be created is reported failed, the others go on, its dependents are skipped', async () => {
  const { api, call } = setup();
  api.fail = (c, n) =>
    c === 'create' && n.startsWith('kb-zlib-arm64')
      ? new KubeApiError(403, 'Forbidden', 'quota exceeded')
      : undefined;
  const post = await call('POST', '/v1/dispatches', { body: BODY });
  assert.equal(post.status, 202);
  const status = Object.fromEntries(
    post.body.builds!.map((b) => [`${b.package}/${b.arch}`, b.status]),
  );
  assert.equal(status['zlib/arm64'], 'failed');
  assert.match(JSON.stringify(post.body.builds), /could not be created: quota exceeded/);
  assert.equal(status['libpng/arm64'], 'skipped');
  assert.equal(status['hello/arm64'], 'pending');
  assert.equal(api.jobs.size, 5);
});

test('POST logs one line per fan-out: Jobs created, failed, retries and its duration', async () => {
  const cases: {
    name: string;
    fail: (seen: Map<string, number>, name: string) => KubeApiError | undefined;
    want: { jobs_created: number; jobs_failed: number; create_retries: number };
    warnings: number;
    /** again: fan-out lines of the same request repeated (only what is still missing is created). */
    again: number;
  }[] = [
    { name: 'no trouble', fail: () => undefined, want: created(6, 0, 0), warnings: 0, again: 0 },
    {
      name: 'two Jobs answered 429 once each',
      fail: (seen, n) =>
        n.startsWith('kb-zlib-') && seen.get(n) === 1
          ? new KubeApiError(429, 'TooManyRequests', 'slow down')
          : undefined,
      want: created(6, 0, 2),
      warnings: 2,
      again: 0,
    },
    {
      name: 'one Job refused (403): not retried, failed',
      fail: (_seen, n) =>
        n.startsWith('kb-hello-amd64')
          ? new KubeApiError(403, 'Forbidden', 'quota exceeded')
          : undefined,
      want: created(5, 1, 0),
      warnings: 0,
      again: 1,
    },
  ];
  for (const c of cases) {
    const { api, call, lines } = setup();
    const seen = new Map<string, number>();
    api.fail = (op, n) => {
      if (op !== 'create') return undefined;
      seen.set(n, (seen.get(n) ?? 0) + 1);
      return c.fail(seen, n);
    };
    const post = await call('POST', '/v1/dispatches', { body: BODY });
    assert.equal(post.status, 202, c.name);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = entries.filter((e) =>
      /^created \d+ of 6 Jobs in \d+ ms/.test(String(e.message)),
    );
    assert.equal(summary.length, 1, c.name);
    const { jobs_created, jobs_failed, create_retries, create_ms, dispatch_id } = summary[0]!;
    assert.deepEqual({ jobs_created, jobs_failed, create_retries }, c.want, c.name);
    assert.equal(typeof create_ms, 'number', c.name);
    assert.equal(dispatch_id, post.body.dispatch_id, c.name);
    const retried = entries.filter((e) => /^create Job .* retrying/.test(String(e.message)));
    assert.equal(retried.length, c.warnings, c.name);
    assert.ok(
      retried.every((e) => e.severity === 'WARNING'),
      c.name,
    );
    lines.length = 0;
    await call('POST', '/v1/dispatches', { body: BODY });
    assert.equal(
      lines.filter((l) => / Jobs in \d+ ms/.test(l)).length,
      c.again,
      `${c.name}: the same request again`,
    );
  }
});

function created(jobs_created: number, jobs_failed: number, create_retries: number) {
  return { jobs_created, jobs_failed, create_retries };
}

test('logs are Cloud Logging JSON with the trace of the request', async () => {
  const { call, lines } = setup();
  await call('GET', '/healthz', {
    tok: null,
    headers: { 'x-cloud-trace-context': '0123456789abcdef0123456789abcdef/123;o=1' },
  });
  const entry = JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
  assert.equal(entry.severity, 'INFO');
  assert.equal(entry.message, 'GET /healthz 200');
  assert.equal(
    entry['logging.googleapis.com/trace'],
    'projects/kbuild-lab/traces/0123456789abcdef0123456789abcdef',
  );
  assert.equal(entry['logging.googleapis.com/spanId'], '000000000000007b');
  await call('POST', '/v1/dispatches', { body: { ...BODY, image: 'evil.io/x' } });
  const refused = JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
  assert.equal(refused.severity, 'NOTICE');
  assert.equal(refused.rule, 'images');
  assert.ok(!lines.join('').includes('eyJ'), 'no token in the logs');
});

test('without the plan holder Job the dispatch is still known from each Job own entry; a missing dependency skips its dependents', async () => {
  const { api, call } = setup();
  const post = await call('POST', '/v1/dispatches', { body: BODY });
  const id = String(post.body.dispatch_id);
  const name = (pkg: string, arch: string) =>
    post.body.builds!.find((b) => b.package === pkg && b.arch === arch)!.job_name;
  const holders = [...api.jobs.values()].filter(
    (j) => j.metadata?.annotations?.['kbuild.dev/dispatch-plan'] !== undefined,
  );
  assert.equal(holders.length, 1, 'one Job holds the whole plan');
  const holder = holders[0]!.metadata!.name!;
  assert.equal(holder, name('zlib', 'amd64'));
  api.jobs.delete(holder);
  const get = await call('GET', `/v1/dispatches/${id}`);
  assert.equal(get.status, 200, JSON.stringify(get.body));
  const status = Object.fromEntries(
    get.body.builds!.map((b) => [`${b.package}/${b.arch}`, [b.status, b.message]]),
  );
  assert.equal(status['zlib/amd64'], undefined, 'its entry went with it');
  assert.equal(status['libpng/amd64']?.[0], 'skipped');
  assert.match(
    String(status['libpng/amd64']?.[1]),
    /dependency kb-zlib-amd64-\w+ failed \(NotFound\)/,
  );
  assert.equal(status['libpng/arm64']?.[0], 'pending', 'zlib/arm64 is still there');
});

test('POST upload: cluster: each Job gets its pod program ConfigMap; without the program, 500 and nothing created', async () => {
  const body = { ...BODY, bucket: 'my-artifacts', upload: 'cluster' };
  const ok = setup(async () => '// program\n');
  const r = await ok.call('POST', '/v1/dispatches', { body });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(ok.api.configMaps.size, 6);
  for (const [name, cm] of ok.api.configMaps)
    assert.equal(cm.metadata?.ownerReferences?.[0]?.name, name);
  const missing = setup(async () => undefined);
  const m = await missing.call('POST', '/v1/dispatches', { body });
  assert.equal(m.status, 500);
  assert.equal(m.body.error, 'misconfigured');
  assert.match(String(m.body.reason), /need the pod program beside the dispatcher/);
  assert.equal(missing.api.jobs.size + missing.api.configMaps.size, 0);
});
