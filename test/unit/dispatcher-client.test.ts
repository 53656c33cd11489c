// dispatcher-client.test.ts: the dispatcher's HTTP client (the action's dispatch mode): a token
// per call for the dispatcher's URL, retries on 429/5xx/network errors, refusals with reasons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DispatcherClient, DispatcherError } from '../../src/core/dispatch/client.ts';

const BODY = {
  packages: ['hello'],
  archs: ['amd64'],
  image: 'debian:bookworm',
  ref: 'refs/heads/main',
  sha: 'a'.repeat(40),
};

function fake(answers: (() => Response | Promise<Response>)[]) {
  const seen: { url: string; method: string; auth: string; body?: string }[] = [];
  const fetchFn = (async (url: string | URL | Request, init?: RequestInit) => {
    const h = new Headers(init?.headers);
    seen.push({
      url: String(url),
      method: init?.method ?? 'GET',
      auth: h.get('authorization') ?? '',
      ...(init?.body ? { body: String(init.body) } : {}),
    });
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next();
  }) as typeof fetch;
  return { fetchFn, seen };
}

test('create: a fresh token for the URL on each try; 503 and network errors are retried', async () => {
  const audiences: string[] = [];
  let n = 0;
  const { fetchFn, seen } = fake([
    () => Response.json({ error: 'unavailable', reason: 'busy' }, { status: 503 }),
    () => Promise.reject(new TypeError('fetch failed')),
    () =>
      Response.json(
        {
          dispatch_id: 'd1',
          namespace: 'ns',
          state: 'running',
          builds: [],
          counts: {},
          created: 1,
          existing: 0,
        },
        { status: 202 },
      ),
  ]);
  const c = new DispatcherClient({
    url: 'https://d.example/',
    token: async (aud) => (audiences.push(aud), `t${++n}`),
    fetch: fetchFn,
    minTimeoutMs: 1,
  });
  const r = await c.create(BODY);
  assert.equal(r.dispatch_id, 'd1');
  assert.deepEqual(
    seen.map((s) => [s.method, s.url, s.auth]),
    [
      ['POST', 'https://d.example/v1/dispatches', 'Bearer t1'],
      ['POST', 'https://d.example/v1/dispatches', 'Bearer t2'],
      ['POST', 'https://d.example/v1/dispatches', 'Bearer t3'],
    ],
  );
  assert.deepEqual(JSON.parse(seen[0]!.body!), BODY);
  assert.deepEqual(audiences, ['https://d.example/', 'https://d.example/', 'https://d.example/']);
});

test('refusals are not retried and carry the rule, field or code', async () => {
  const cases: { name: string; status: number; body: object; message: RegExp }[] = [
    {
      name: '403',
      status: 403,
      body: { error: 'forbidden', rule: 'images', reason: 'image evil is not allowed' },
      message: /HTTP 403 forbidden \(rule images\): image evil is not allowed/,
    },
    {
      name: '400',
      status: 400,
      body: { error: 'invalid_request', field: 'cpu', reason: 'bad cpu' },
      message: /HTTP 400 invalid_request \(field cpu\): bad cpu/,
    },
    {
      name: '401',
      status: 401,
      body: { error: 'unauthenticated', code: 'expired', reason: 'expired' },
      message: /HTTP 401 unauthenticated \(expired\)/,
    },
  ];
  for (const c of cases) {
    const { fetchFn, seen } = fake([() => Response.json(c.body, { status: c.status })]);
    const client = new DispatcherClient({
      url: 'https://d.example',
      token: async () => 't',
      fetch: fetchFn,
      minTimeoutMs: 1,
    });
    await assert.rejects(client.create(BODY), (err: unknown) => {
      assert.ok(err instanceof DispatcherError, c.name);
      assert.equal(err.status, c.status);
      assert.match(err.message, c.message);
      return true;
    });
    assert.equal(seen.length, 1, `${c.name} is not retried`);
  }
});

test('status and cancel address the dispatch', async () => {
  const { fetchFn, seen } = fake([
    () =>
      Response.json({
        dispatch_id: 'abc',
        namespace: 'ns',
        state: 'running',
        builds: [],
        counts: {},
      }),
    () => Response.json({ dispatch_id: 'abc', cancelled: [], errors: [] }),
  ]);
  const c = new DispatcherClient({
    url: 'https://d.example',
    token: async () => 't',
    fetch: fetchFn,
  });
  assert.equal((await c.status('abc')).state, 'running');
  assert.deepEqual((await c.cancel('abc')).cancelled, []);
  assert.deepEqual(
    seen.map((s) => `${s.method} ${s.url}`),
    ['GET https://d.example/v1/dispatches/abc', 'DELETE https://d.example/v1/dispatches/abc'],
  );
});

test('a token is reused while it has more than a minute left', async () => {
  const { UnsecuredJWT } = await import('jose');
  const now = Math.floor(Date.now() / 1000);
  const tokens = [
    new UnsecuredJWT({}).setExpirationTime(now + 30).encode(),
    new UnsecuredJWT({}).setExpirationTime(now + 600).encode(),
  ];
  let asked = 0;
  const ok = () =>
    Response.json({
      dispatch_id: 'abc',
      namespace: 'ns',
      state: 'running',
      builds: [],
      counts: {},
    });
  const { fetchFn, seen } = fake([ok, ok, ok, ok]);
  const c = new DispatcherClient({
    url: 'https://d.example',
    token: async () => tokens[Math.min(asked++, 1)]!,
    fetch: fetchFn,
  });
  for (let i = 0; i < 4; i++) await c.status('abc');
  assert.equal(asked, 2, 'the short-lived token is replaced, the long-lived one reused');
  assert.deepEqual(
    seen.map((s) => s.auth),
    [`Bearer ${tokens[0]}`, `Bearer ${tokens[1]}`, `Bearer ${tokens[1]}`, `Bearer ${tokens[1]}`],
  );
});
