// Unit tests of lab/google/config.ts and the lab's env file rendering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultGoogleLabConfig, parseGoogleLabConfig } from '../../lab/google/config.ts';
import { envFileText } from '../../lab/google/standins.ts';

test('defaults follow docs/lab.md (port base 16400)', () => {
  const c = parseGoogleLabConfig({});
  assert.deepEqual(c.ports, {
    oidc: 16410,
    sts: 16411,
    iam: 16412,
    gke: 16413,
    gcs: 16414,
    tokenReview: 16415,
    metadata: 16416,
  });
  assert.equal(c.gke.workloadPool, 'kbuild-lab.svc.id.goog');
  assert.equal(c.cluster.endpoint, '127.0.0.1:16443');
  assert.equal(c.workloadIdentity.attributeCondition, "assertion.repository_owner_id == '4242'");
  assert.deepEqual(c.serviceAccounts[0]?.members, [
    'principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/kbuild-pool/attribute.repository_owner_id/4242',
  ]);
  assert.equal(c.oidc.claims.repository_owner_id, '4242');
  assert.deepEqual(c.gcs.buckets, ['kbuild-lab-artifacts']);
});

test('another port base moves every port', () => {
  const c = defaultGoogleLabConfig(20000);
  assert.deepEqual(
    [c.ports.oidc, c.ports.tokenReview, c.cluster.endpoint],
    [20010, 20015, '127.0.0.1:20043'],
  );
});

test('fields given override defaults; claims merge over the default claims', () => {
  const c = parseGoogleLabConfig({
    ports: { gcs: 0 },
    accessTokenLifetimeSeconds: 60,
    oidc: { claims: { repository: 'o/r' } },
  });
  assert.deepEqual(
    [
      c.ports.gcs,
      c.ports.sts,
      c.accessTokenLifetimeSeconds,
      c.oidc.claims.repository,
      c.oidc.claims.ref,
    ],
    [0, 16411, 60, 'o/r', 'refs/heads/main'],
  );
});

const invalid: { name: string; input: unknown; error: RegExp }[] = [
  { name: 'not an object', input: [], error: /invalid config \[\]: want a JSON object/ },
  {
    name: 'port out of range',
    input: { ports: { sts: 70000 } },
    error: /invalid ports\.sts 70000: want a TCP port/,
  },
  { name: 'port not a number', input: { ports: { iam: '1' } }, error: /invalid ports\.iam "1"/ },
  {
    name: 'lifetime zero',
    input: { accessTokenLifetimeSeconds: 0 },
    error: /invalid accessTokenLifetimeSeconds 0: want whole seconds/,
  },
  { name: 'project number', input: { projectNumber: 'abc' }, error: /invalid projectNumber "abc"/ },
  {
    name: 'issuer with trailing slash',
    input: { oidc: { issuer: 'http://x/' } },
    error: /invalid oidc\.issuer/,
  },
  {
    name: 'claim not a string',
    input: { oidc: { claims: { run_id: 7 } } },
    error: /invalid oidc\.claims\.run_id 7/,
  },
  {
    name: 'service account without email',
    input: { serviceAccounts: [{ members: [] }] },
    error: /invalid serviceAccounts\[0\]\.email undefined/,
  },
];

for (const c of invalid) {
  test(`parseGoogleLabConfig refuses ${c.name}`, () => {
    assert.throws(() => parseGoogleLabConfig(c.input), c.error);
  });
}

test('envFileText quotes values for a POSIX shell', () => {
  assert.equal(
    envFileText({ A: 'http://127.0.0.1:1/', B: "it's" }),
    "export A='http://127.0.0.1:1/'\nexport B='it'\\''s'\n",
  );
});
