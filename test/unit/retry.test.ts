// retry.test.ts: the one retry policy (src/core/base/retry.ts), its Kubernetes classification and
// the API server's reachability, with a fake clock: sleeps advance the time and are recorded,
// nothing waits for real.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import {
  backoffMs,
  DEFAULT_RETRY_POLICY,
  networkCode,
  retryAfterMs,
  retrying,
  type RetryEvent,
} from '../../src/core/base/retry.ts';
import type { Clock } from '../../src/core/base/report.ts';
import { KubeApiError, kubeTransient } from '../../src/core/kube/api.ts';
import { HttpKubeApi } from '../../src/core/kube/client.ts';
import { OutageError, Reachability } from '../../src/core/kube/reachability.ts';

/** fakeClock: now() starts at 0; sleep(ms) records ms and moves now() on by ms at once. */
function fakeClock(): Clock & { slept: number[]; t: number } {
  const c = {
    t: 0,
    slept: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => {
      c.slept.push(ms);
      c.t += ms;
    },
  };
  return c;
}

/** failing answers a function that throws errs in turn, then resolves 'ok'; `calls` counts. */
function failing(errs: unknown[]): { fn: () => Promise<string>; calls: () => number } {
  let n = 0;
  return {
    fn: async () => {
      const e = errs[n++];
      if (e !== undefined) throw e;
      return 'ok';
    },
    calls: () => n,
  };
}

const k = (status: number, retryAfter?: number) => {
  const e = new KubeApiError(status, '', `HTTP ${status}`);
  if (retryAfter !== undefined) e.retryAfterMs = retryAfter;
  return e;
};
const refused = () =>
  Object.assign(new KubeApiError(0, 'NetworkError', 'x'), { code: 'ECONNREFUSED' });

test('backoffMs: full jitter below a doubling ceiling, capped', () => {
  const p = { ...DEFAULT_RETRY_POLICY, baseMs: 100, capMs: 1000 };
  const cases = [
    { attempt: 1, random: 0.5, want: 50 },
    { attempt: 2, random: 0.5, want: 100 },
    { attempt: 4, random: 0.999, want: 799 },
    { attempt: 10, random: 0.5, want: 500 },
    { attempt: 3, random: 0, want: 0 },
  ];
  for (const c of cases)
    assert.equal(
      backoffMs(c.attempt, p, () => c.random),
      c.want,
      `${c.attempt}`,
    );
});

test('retrying: transient answers are retried, with one line each; the call then succeeds', async () => {
  const clock = fakeClock();
  const events: RetryEvent[] = [];
  const f = failing([k(429, 1300), k(503), refused()]);
  const got = await retrying('create Job default/kb-x', f.fn, {
    who: 'API server',
    classify: kubeTransient,
    clock,
    random: () => 0.5,
    onRetry: (e) => events.push(e),
  });
  assert.equal(got, 'ok');
  assert.equal(f.calls(), 4);
  // Retry-After (1.3 s) is a floor over the jitter (0.25 s); then 0.5 s and 1 s ceilings, halved.
  assert.deepEqual(clock.slept, [1300, 500, 1000]);
  assert.deepEqual(
    events.map((e) => e.line),
    [
      'API server answered 429 to create Job default/kb-x; retrying in 1.3 s (attempt 2)',
      'API server answered 503 to create Job default/kb-x; retrying in 0.5 s (attempt 3)',
      'API server could not be reached for create Job default/kb-x (ECONNREFUSED); retrying in 1.0 s (attempt 4)',
    ],
  );
});

test('retrying: 400, 401, 403, 404, 409 and 422 fail at once', async () => {
  for (const status of [400, 401, 403, 404, 409, 422]) {
    const clock = fakeClock();
    const f = failing([k(status)]);
    await assert.rejects(
      retrying('x', f.fn, { who: 'API server', classify: kubeTransient, clock }),
      (e: unknown) => e instanceof KubeApiError && e.status === status,
    );
    assert.equal(f.calls(), 1, String(status));
    assert.deepEqual(clock.slept, []);
  }
});

test('retrying: stops when the next wait would end past the budget, throwing the last error', async () => {
  const clock = fakeClock();
  const f = failing(Array.from({ length: 100 }, () => k(503)));
  await assert.rejects(
    retrying('x', f.fn, {
      who: 'API server',
      classify: kubeTransient,
      clock,
      random: () => 0.99,
      policy: { budgetMs: 10_000, baseMs: 1000, capMs: 4000 },
    }),
    /HTTP 503/,
  );
  const total = clock.slept.reduce((a, b) => a + b, 0);
  assert.ok(total <= 10_000, `waited ${total} ms`);
  assert.ok(f.calls() >= 3 && f.calls() < 10, `${f.calls()} calls`);
});

test('retrying: a Retry-After beyond the budget is not waited for', async () => {
  const clock = fakeClock();
  const f = failing([k(429, 600_000)]);
  await assert.rejects(
    retrying('x', f.fn, { who: 'API server', classify: kubeTransient, clock }),
    /HTTP 429/,
  );
  assert.deepEqual(clock.slept, []);
});

test('retrying: an aborted signal ends the retries with its reason', async () => {
  const ac = new AbortController();
  const clock = fakeClock();
  let n = 0;
  await assert.rejects(
    retrying(
      'x',
      async () => {
        if (++n === 2) ac.abort(new Error('stop now'));
        throw k(503);
      },
      { who: 'API server', classify: kubeTransient, clock, signal: ac.signal },
    ),
    /HTTP 503|stop now/,
  );
  assert.equal(n, 2);
});

test('networkCode finds transient connection failures through the cause chain', () => {
  const cases: { name: string; err: unknown; want: string | undefined }[] = [
    {
      name: 'refused',
      err: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
      want: 'ECONNREFUSED',
    },
    {
      name: 'fetch failed, cause reset',
      err: new TypeError('fetch failed', {
        cause: Object.assign(new Error('y'), { code: 'ECONNRESET' }),
      }),
      want: 'ECONNRESET',
    },
    {
      name: 'TLS handshake cut',
      err: new Error(
        'Client network socket disconnected before secure TLS connection was established',
      ),
      want: 'TLS_HANDSHAKE',
    },
    { name: 'timeout', err: new DOMException('timed out', 'TimeoutError'), want: 'TIMEOUT' },
    { name: 'refusal', err: new Error('forbidden'), want: undefined },
  ];
  for (const c of cases) assert.equal(networkCode(c.err), c.want, c.name);
});

test('retryAfterMs reads seconds and HTTP dates', () => {
  assert.equal(retryAfterMs('2', 0), 2000);
  assert.equal(retryAfterMs('Thu, 01 Jan 1970 00:00:05 GMT', 1000), 4000);
  assert.equal(retryAfterMs('soon', 0), undefined);
  assert.equal(retryAfterMs(null, 0), undefined);
});

test('HttpKubeApi.call: one place retries every plain call, Retry-After from the answer headers', async () => {
  const clock = fakeClock();
  const lines: string[] = [];
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const api = new HttpKubeApi(kc, {
    clock,
    random: () => 0,
    onRetry: (e) => lines.push(e.line),
  });
  // client-node's ApiException: code, body (a Status) and headers.
  const throttled = {
    code: 429,
    body: { reason: 'TooManyRequests', message: 'slow down' },
    headers: { 'Retry-After': '2' },
  };
  const f = failing([
    throttled,
    new TypeError('fetch failed', { cause: Object.assign(new Error('r'), { code: 'ECONNRESET' }) }),
  ]);
  assert.equal(await api.call('create Job ns/kb-1', f.fn), 'ok');
  assert.deepEqual(clock.slept, [2000, 0]);
  assert.match(
    lines[0]!,
    /^API server answered 429 to create Job ns\/kb-1; retrying in 2\.0 s \(attempt 2\)$/,
  );
  assert.match(lines[1]!, /could not be reached for create Job ns\/kb-1 \(ECONNRESET\)/);
  // A 409 is not retried: create.ts adopts the existing build.
  const conflict = failing([{ code: 409, body: { reason: 'AlreadyExists', message: 'exists' } }]);
  await assert.rejects(
    api.call('create Job ns/kb-1', conflict.fn),
    (e: unknown) => e instanceof KubeApiError && e.status === 409,
  );
  assert.equal(conflict.calls(), 1);
});

test('Reachability: an outage is told once, its end with its length; past the budget the signal aborts', async () => {
  const clock = fakeClock();
  const lines: string[] = [];
  const r = new Reachability({ clock, notify: (l) => lines.push(l), announceAfterMs: 1000 });
  r.ride(60_000);
  r.unreachable('connect ECONNREFUSED');
  clock.t = 500;
  r.unreachable('connect ECONNREFUSED');
  assert.equal(lines.length, 0, 'a short blip is not an outage');
  clock.t = 2000;
  r.unreachable('connect ECONNREFUSED');
  assert.equal(lines.length, 1);
  assert.match(
    lines[0]!,
    /control plane is unreachable since .* \(connect ECONNREFUSED\); riding it out for up to 1m0?s? \(input "api_outage_budget"\)/,
  );
  clock.t = 92_000 - 60_000;
  r.reached();
  assert.match(lines[1]!, /reachable again after 32\.0 s unreachable/);
  assert.equal(r.signal.aborted, false);
  clock.t = 100_000;
  r.unreachable('connect ECONNREFUSED');
  clock.t = 100_000 + 60_000;
  r.unreachable('connect ECONNREFUSED');
  assert.equal(r.signal.aborted, true);
  assert.ok(r.signal.reason instanceof OutageError);
  assert.match(
    String(r.signal.reason.message),
    /unreachable for 1m since .*longer than input "api_outage_budget" \(1m\)/,
  );
  r.close();
});
