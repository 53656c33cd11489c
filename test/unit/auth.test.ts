import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdcTokenSource, CachingTokenSource, refreshAt } from '../../src/core/google/auth.ts';
import type { AccessToken } from '../../src/core/google/auth.ts';
import { WorkloadIdentityTokenSource } from '../../src/core/google/wif.ts';
import { DEFAULT_ENDPOINTS, endpointsFromEnv } from '../../src/core/google/endpoints.ts';
import { googleErrorText } from '../../src/core/google/http.ts';

const PROVIDER =
  'projects/123456789012/locations/global/workloadIdentityPools/kbuild-pool/providers/github';
const SA = 'kbuild-builder@kbuild-lab.iam.gserviceaccount.com';
const ENDPOINTS = { sts: 'http://sts.test/', iamcredentials: 'http://iam.test/' };
const FAST = { policy: { attempts: 3, baseMs: 1, capMs: 2 } };

/** FakeGoogle answers STS and IAM Credentials calls and records everything that happens, in order. */
class FakeGoogle {
  events: string[] = [];
  masked = new Set<string>();
  requests: Array<{ url: string; method: string; headers: Headers; body: string }> = [];
  now = 1_000_000;
  n = 0;
  stsStatus: number[] = [];
  iamStatus: number[] = [];
  stsLifetime = 3600;
  iamLifetime = 600;
  errorEcho = false;

  clock = { now: (): number => this.now, sleep: (): Promise<void> => Promise.resolve() };
  mask = (secret: string): void => {
    this.events.push(`mask ${secret}`);
    this.masked.add(secret);
  };
  getIdToken = (audience: string): Promise<string> => {
    const token = `oidc-${++this.n}`;
    this.events.push(`oidc ${audience}`);
    return Promise.resolve(token);
  };
  /** assertMasked fails when `text` contains a token that was not masked before. */
  assertMasked(text: string, where: string): void {
    for (const token of text.match(/(?:oidc|federated|sa)-\d+/g) ?? []) {
      assert.ok(this.masked.has(token), `${token} reached ${where} before it was masked`);
    }
  }
  fetch = (input: string | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    const headers = new Headers(init?.headers);
    const body = typeof init?.body === 'string' ? init.body : '';
    this.assertMasked(`${[...headers.values()].join(' ')} ${body}`, url);
    this.requests.push({ url, method: init?.method ?? 'GET', headers, body });
    this.events.push(`fetch ${url}`);
    if (url.startsWith(ENDPOINTS.sts)) {
      const status = this.stsStatus.shift() ?? 200;
      if (status !== 200) {
        const subject = new URLSearchParams(body).get('subject_token') ?? '';
        const description = this.errorEcho
          ? `The token ${subject} is not accepted.`
          : 'Bad audience.';
        return Promise.resolve(
          Response.json({ error: 'invalid_grant', error_description: description }, { status }),
        );
      }
      return Promise.resolve(
        Response.json({
          access_token: `federated-${this.n}`,
          token_type: 'Bearer',
          expires_in: this.stsLifetime,
        }),
      );
    }
    const status = this.iamStatus.shift() ?? 200;
    if (status !== 200) {
      const message = `Permission 'iam.serviceAccounts.getAccessToken' denied for ${headers.get('authorization')}`;
      return Promise.resolve(
        Response.json(
          { error: { code: status, message, status: 'PERMISSION_DENIED' } },
          { status },
        ),
      );
    }
    const expireTime = new Date(this.now + this.iamLifetime * 1000).toISOString();
    return Promise.resolve(Response.json({ accessToken: `sa-${this.n}`, expireTime }));
  };
  source(
    extra: { serviceAccount?: string; lifetimeSeconds?: number } = {},
  ): WorkloadIdentityTokenSource {
    return new WorkloadIdentityTokenSource({
      getIdToken: this.getIdToken,
      workloadIdentityProvider: PROVIDER,
      endpoints: ENDPOINTS,
      fetch: this.fetch,
      mask: this.mask,
      clock: this.clock,
      retry: FAST,
      ...extra,
    });
  }
}

test('refreshAt renews 5 min before expiry, or at 90% of a short lifetime', () => {
  const cases = [
    { name: 'one hour', input: [0, 3_600_000], want: 3_300_000 },
    { name: 'ten minutes', input: [0, 600_000], want: 540_000 },
    { name: 'five seconds', input: [1000, 6000], want: 5500 },
    { name: 'already expired', input: [5000, 4000], want: 4000 },
  ] as const;
  for (const c of cases) assert.equal(refreshAt(c.input[0], c.input[1]), c.want, c.name);
});

test('CachingTokenSource reuses, renews, shares one refresh and survives a failed early refresh', async () => {
  let now = 0;
  let mints = 0;
  let fail = false;
  const source = new CachingTokenSource(
    (): Promise<AccessToken> => {
      mints++;
      if (fail) return Promise.reject(new Error('STS down'));
      return Promise.resolve({ token: `t${mints}`, expiresAt: now + 10_000 });
    },
    { now: () => now, sleep: () => Promise.resolve() },
  );
  const first = await Promise.all([source.getAccessToken(), source.getAccessToken()]);
  assert.deepEqual(
    first.map((t) => t.token),
    ['t1', 't1'],
  );
  assert.equal(mints, 1);
  now = 8_999;
  assert.equal((await source.getAccessToken()).token, 't1');
  now = 9_000;
  assert.equal((await source.getAccessToken()).token, 't2');
  now = 18_500;
  fail = true;
  assert.equal(
    (await source.getAccessToken()).token,
    't2',
    'still valid: the cached token is used',
  );
  now = 19_000;
  await assert.rejects(source.getAccessToken(), /STS down/);
});

test('WIF without impersonation: one STS exchange with RFC 8693 form fields', async () => {
  const g = new FakeGoogle();
  const token = await g.source().getAccessToken();
  assert.deepEqual(token, { token: 'federated-1', expiresAt: g.now + 3_600_000 });
  assert.equal(g.requests.length, 1);
  const [req] = g.requests;
  assert.ok(req);
  assert.equal(req.url, 'http://sts.test/v1/token');
  assert.equal(req.method, 'POST');
  assert.equal(req.headers.get('content-type'), 'application/x-www-form-urlencoded');
  assert.deepEqual(Object.fromEntries(new URLSearchParams(req.body)), {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    audience: `//iam.googleapis.com/${PROVIDER}`,
    scope: 'https://www.googleapis.com/auth/cloud-platform',
    requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    subject_token: 'oidc-1',
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
  });
  assert.deepEqual(g.events, [
    `oidc https://iam.googleapis.com/${PROVIDER}`,
    'mask oidc-1',
    'fetch http://sts.test/v1/token',
    'mask federated-1',
  ]);
});

test('WIF with impersonation: generateAccessToken with the federated token; every token masked first', async () => {
  const g = new FakeGoogle();
  const token = await g.source({ serviceAccount: SA, lifetimeSeconds: 600 }).getAccessToken();
  assert.deepEqual(token, { token: 'sa-1', expiresAt: g.now + 600_000 });
  const iam = g.requests[1];
  assert.ok(iam);
  assert.equal(iam.url, `http://iam.test/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`);
  assert.equal(iam.headers.get('authorization'), 'Bearer federated-1');
  assert.deepEqual(JSON.parse(iam.body), {
    scope: ['https://www.googleapis.com/auth/cloud-platform'],
    lifetime: '600s',
  });
  assert.deepEqual(g.events, [
    `oidc https://iam.googleapis.com/${PROVIDER}`,
    'mask oidc-1',
    'fetch http://sts.test/v1/token',
    'mask federated-1',
    `fetch http://iam.test/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
    'mask sa-1',
  ]);
});

test('WIF refreshes with a new GitHub OIDC token when the access token nears expiry', async () => {
  const g = new FakeGoogle();
  g.iamLifetime = 5;
  const source = g.source({ serviceAccount: SA, lifetimeSeconds: 5 });
  assert.equal((await source.getAccessToken()).token, 'sa-1');
  g.now += 4_000;
  assert.equal((await source.getAccessToken()).token, 'sa-1', 'cached before 90% of 5 s');
  g.now += 600;
  assert.equal((await source.getAccessToken()).token, 'sa-2', 'renewed after 4.5 s');
  assert.equal(g.events.filter((e) => e.startsWith('oidc ')).length, 2);
});

test('WIF uses a custom audience for the GitHub OIDC token', async () => {
  const g = new FakeGoogle();
  const source = new WorkloadIdentityTokenSource({
    getIdToken: g.getIdToken,
    workloadIdentityProvider: PROVIDER,
    audience: 'my-audience',
    endpoints: ENDPOINTS,
    fetch: g.fetch,
    mask: g.mask,
  });
  await source.getAccessToken();
  assert.equal(g.events[0], 'oidc my-audience');
});

test('WIF errors name the step, the status and Google text, never a token', async () => {
  const cases = [
    {
      name: 'STS refuses the subject token',
      input: { sts: [400], iam: [], echo: true, sa: undefined },
      error:
        /^STS token exchange failed: HTTP 400: invalid_grant: The token \*\*\* is not accepted\.; check workload_identity_provider/,
    },
    {
      name: 'impersonation denied',
      input: { sts: [], iam: [403], echo: false, sa: SA },
      error:
        /^IAM Credentials generateAccessToken failed: HTTP 403: PERMISSION_DENIED: Permission 'iam\.serviceAccounts\.getAccessToken' denied for Bearer \*\*\*; .*roles\/iam\.workloadIdentityUser on kbuild-builder@/,
    },
    {
      name: 'STS keeps failing with 503',
      input: { sts: [503, 503, 503], iam: [], echo: false, sa: undefined },
      error: /^STS token exchange failed: HTTP 503: invalid_grant: Bad audience/,
    },
  ];
  for (const c of cases) {
    const g = new FakeGoogle();
    g.stsStatus = c.input.sts;
    g.iamStatus = c.input.iam;
    g.errorEcho = c.input.echo;
    const source = g.source(c.input.sa ? { serviceAccount: c.input.sa } : {});
    await assert.rejects(source.getAccessToken(), (error: Error) => {
      assert.match(error.message, c.error, c.name);
      assert.doesNotMatch(error.message, /oidc-\d|federated-\d/, c.name);
      return true;
    });
  }
});

test('WIF retries a 503 from STS and then succeeds', async () => {
  const g = new FakeGoogle();
  g.stsStatus = [503, 429];
  assert.equal((await g.source().getAccessToken()).token, 'federated-1');
  assert.equal(g.requests.length, 3);
});

test('WIF rejects bad configuration and explains a failed OIDC request', async () => {
  const g = new FakeGoogle();
  const bad = [
    {
      name: 'provider',
      input: { workloadIdentityProvider: 'github' },
      error: /invalid workload identity provider "github" for input "workload_identity_provider"/,
    },
    {
      name: 'service account',
      input: { serviceAccount: 'kbuild' },
      error: /invalid service account "kbuild" for input "service_account"/,
    },
    { name: 'lifetime', input: { lifetimeSeconds: 0 }, error: /invalid token lifetime 0/ },
  ];
  for (const c of bad) {
    assert.throws(
      () =>
        new WorkloadIdentityTokenSource({
          getIdToken: g.getIdToken,
          workloadIdentityProvider: PROVIDER,
          endpoints: ENDPOINTS,
          mask: g.mask,
          ...c.input,
        }),
      c.error,
      c.name,
    );
  }
  const source = new WorkloadIdentityTokenSource({
    getIdToken: () =>
      Promise.reject(new Error('Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable')),
    workloadIdentityProvider: PROVIDER,
    endpoints: ENDPOINTS,
    mask: g.mask,
  });
  await assert.rejects(
    source.getAccessToken(),
    /GitHub OIDC token request failed: .*permissions: id-token: write/,
  );
});

test('AdcTokenSource masks each new token once and explains a failure', async () => {
  const masked: string[] = [];
  let token = 'adc-1';
  const client = {
    credentials: { expiry_date: 42 },
    getAccessToken: () => Promise.resolve({ token }),
  };
  const auth = { getClient: () => Promise.resolve(client) } as unknown as ConstructorParameters<
    typeof AdcTokenSource
  >[0]['auth'];
  const source = new AdcTokenSource({ mask: (s) => masked.push(s), auth });
  assert.deepEqual(await source.getAccessToken(), { token: 'adc-1', expiresAt: 42 });
  await source.getAccessToken();
  token = 'adc-2';
  await source.getAccessToken();
  assert.deepEqual(masked, ['adc-1', 'adc-2']);
  const failing = {
    getClient: () => Promise.reject(new Error('Could not load the default credentials')),
  };
  const broken = new AdcTokenSource({ mask: () => undefined, auth: failing as typeof auth });
  await assert.rejects(
    broken.getAccessToken(),
    /Application Default Credentials failed: Could not load .*workload_identity_provider/,
  );
});

test('endpointsFromEnv applies gcloud overrides and STORAGE_EMULATOR_HOST', () => {
  const cases = [
    { name: 'defaults', input: {}, want: { ...DEFAULT_ENDPOINTS } },
    {
      name: 'lab overrides',
      input: {
        CLOUDSDK_API_ENDPOINT_OVERRIDES_STS: 'http://127.0.0.1:16411/',
        CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS: 'http://127.0.0.1:16412',
        CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER: 'http://127.0.0.1:16413/',
        CLOUDSDK_API_ENDPOINT_OVERRIDES_CONNECTGATEWAY: 'http://127.0.0.1:16413',
        STORAGE_EMULATOR_HOST: 'http://127.0.0.1:16414/storage/v1/',
      },
      want: {
        sts: 'http://127.0.0.1:16411/',
        iamcredentials: 'http://127.0.0.1:16412/',
        container: 'http://127.0.0.1:16413/',
        connectgateway: 'http://127.0.0.1:16413/',
        storage: 'http://127.0.0.1:16414',
      },
    },
  ];
  for (const c of cases) assert.deepEqual(endpointsFromEnv(c.input), c.want, c.name);
  assert.throws(
    () => endpointsFromEnv({ CLOUDSDK_API_ENDPOINT_OVERRIDES_STS: 'sts.local' }),
    /invalid URL "sts\.local" in CLOUDSDK_API_ENDPOINT_OVERRIDES_STS/,
  );
});

test('googleErrorText reads AIP-193, OAuth and plain bodies', () => {
  const cases = [
    {
      name: 'aip-193',
      input: '{"error":{"code":404,"message":"Not found","status":"NOT_FOUND"}}',
      want: 'NOT_FOUND: Not found',
    },
    {
      name: 'oauth',
      input: '{"error":"invalid_grant","error_description":"expired"}',
      want: 'invalid_grant: expired',
    },
    { name: 'html', input: '<html>\n  Bad Gateway </html>', want: '<html> Bad Gateway </html>' },
    { name: 'empty', input: '', want: '(empty response body)' },
  ];
  for (const c of cases) assert.equal(googleErrorText(c.input), c.want, c.name);
});
