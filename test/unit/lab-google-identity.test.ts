// Unit tests of the lab's identity rules: GitHub claims, Workload Identity
// Federation (mapping, condition, principals), tokens, IAM lifetimes and
// TokenReview answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callerIds, parseLifetime } from '../../lab/google/iam.ts';
import { githubClaims, githubSubject } from '../../lab/google/oidc-claims.ts';
import { parseStsRequest } from '../../lab/google/sts.ts';
import { reviewToken } from '../../lab/google/tokenreview.ts';
import { TokenStore } from '../../lab/google/tokens.ts';
import {
  acceptedAudiences,
  conditionHolds,
  isMember,
  mapAttributes,
  MappingError,
  parseStsAudience,
  principalOf,
  principalSetsOf,
} from '../../lab/google/wif.ts';

const ref = { projectNumber: '123', pool: 'pool-a', provider: 'gh' };
const POOL = 'projects/123/locations/global/workloadIdentityPools/pool-a';

const subjects: { name: string; input: Record<string, unknown>; want: string }[] = [
  {
    name: 'branch',
    input: { repository: 'o/r', ref: 'refs/heads/main', event_name: 'push' },
    want: 'repo:o/r:ref:refs/heads/main',
  },
  {
    name: 'pull request',
    input: { repository: 'o/r', ref: 'refs/pull/1/merge', event_name: 'pull_request' },
    want: 'repo:o/r:pull_request',
  },
  {
    name: 'environment wins',
    input: { repository: 'o/r', environment: 'prod', event_name: 'pull_request' },
    want: 'repo:o/r:environment:prod',
  },
];

for (const c of subjects) {
  test(`githubSubject: ${c.name}`, () => {
    assert.equal(githubSubject(c.input), c.want);
  });
}

test('githubClaims layers overrides, derives sub and aud, removes nulls', () => {
  const timing = {
    issuer: 'http://iss',
    audience: undefined,
    nowSeconds: 1000,
    lifetimeSeconds: 60,
    jti: 'j',
  };
  const claims = githubClaims(
    { repository: 'o/r', repository_owner: 'o', ref: 'refs/heads/main', actor: 'a' },
    [{ ref: 'refs/tags/v1' }, { actor: null, exp: 5 }],
    timing,
  );
  assert.deepEqual(claims, {
    jti: 'j',
    sub: 'repo:o/r:ref:refs/tags/v1',
    aud: 'https://github.com/o',
    iss: 'http://iss',
    nbf: 700,
    exp: 5,
    iat: 1000,
    repository: 'o/r',
    repository_owner: 'o',
    ref: 'refs/tags/v1',
  });
});

test('parseStsAudience reads the provider resource name', () => {
  assert.deepEqual(parseStsAudience(`//iam.googleapis.com/${POOL}/providers/gh`), ref);
  assert.equal(parseStsAudience(`https://iam.googleapis.com/${POOL}/providers/gh`), undefined);
  assert.equal(
    parseStsAudience(
      '//iam.googleapis.com/projects/x/locations/global/workloadIdentityPools/p/providers/g',
    ),
    undefined,
  );
});

test('acceptedAudiences: allowedAudiences, else the resource name with or without https:', () => {
  assert.deepEqual(acceptedAudiences(ref, []), [
    `https://iam.googleapis.com/${POOL}/providers/gh`,
    `//iam.googleapis.com/${POOL}/providers/gh`,
  ]);
  assert.deepEqual(acceptedAudiences(ref, ['aud-1']), ['aud-1']);
});

const mapping = {
  'google.subject': 'assertion.sub',
  'attribute.repository': 'assertion.repository',
  'attribute.owner_id': 'assertion.repository_owner_id',
  'attribute.tag': "'t-' + assertion.ref",
};

test('mapAttributes evaluates CEL; a failing attribute stays unset', () => {
  assert.deepEqual(mapAttributes(mapping, { sub: 's', repository: 'o/r', ref: 'main' }), {
    subject: 's',
    groups: [],
    attributes: { repository: 'o/r', tag: 't-main' },
  });
});

const mappingErrors: { name: string; input: Record<string, unknown>; error: RegExp }[] = [
  {
    name: 'no sub',
    input: { repository: 'o/r' },
    error: /mapping for google\.subject failed: No such key: sub/,
  },
  { name: 'sub too long', input: { sub: 'x'.repeat(128) }, error: /exceeds the 127 bytes limit/ },
  { name: 'sub not a string', input: { sub: 5 }, error: /must be a non-empty string/ },
];

for (const c of mappingErrors) {
  test(`mapAttributes refuses ${c.name}`, () => {
    assert.throws(
      () => mapAttributes(mapping, c.input),
      (err: Error) => {
        assert.ok(err instanceof MappingError);
        assert.match(err.message, c.error);
        return true;
      },
    );
  });
}

const conditions: { name: string; input: [string, Record<string, unknown>]; want: boolean }[] = [
  { name: 'empty holds', input: ['', {}], want: true },
  {
    name: 'owner matches',
    input: ["assertion.repository_owner_id == '4242'", { repository_owner_id: '4242' }],
    want: true,
  },
  {
    name: 'owner differs',
    input: ["assertion.repository_owner_id == '4242'", { repository_owner_id: '1' }],
    want: false,
  },
  { name: 'missing claim', input: ["assertion.repository_owner_id == '4242'", {}], want: false },
  {
    name: 'mapped attribute',
    input: ["attribute.repository.startsWith('o/')", { repository: 'o/r' }],
    want: true,
  },
  {
    name: 'non-boolean result',
    input: ['assertion.repository', { repository: 'o/r' }],
    want: false,
  },
];

for (const c of conditions) {
  test(`conditionHolds: ${c.name}`, () => {
    const [condition, claims] = c.input;
    const mapped = {
      subject: 's',
      groups: [],
      attributes: { repository: String(claims.repository ?? '') },
    };
    assert.equal(conditionHolds(condition, claims, mapped), c.want);
  });
}

test('principals and membership', () => {
  const mapped = {
    subject: 'repo:o/r:ref:x',
    groups: ['g1'],
    attributes: { repository_owner_id: '4242' },
  };
  const base = `iam.googleapis.com/${POOL}`;
  assert.equal(principalOf(ref, mapped.subject), `principal://${base}/subject/repo:o/r:ref:x`);
  const sets = principalSetsOf(ref, mapped);
  assert.deepEqual(sets, [
    `principalSet://${base}/attribute.repository_owner_id/4242`,
    `principalSet://${base}/group/g1`,
    `principalSet://${base}/*`,
  ]);
  const ids = callerIds({
    kind: 'federated',
    principal: principalOf(ref, mapped.subject),
    principalSets: sets,
    attributes: {},
    scopes: [],
    expiresAt: 0,
  });
  assert.equal(
    isMember([`principalSet://${base}/attribute.repository_owner_id/4242`], { ids }),
    true,
  );
  assert.equal(
    isMember([`principalSet://${base}/attribute.repository_owner_id/1`], { ids }),
    false,
  );
  assert.deepEqual(callerIds({ kind: 'serviceAccount', email: 'a@b', scopes: [], expiresAt: 0 }), [
    'serviceAccount:a@b',
  ]);
});

const lifetimes: { name: string; input: unknown; want?: number; error?: RegExp }[] = [
  { name: 'default', input: undefined, want: 3600 },
  { name: 'seconds', input: '600s', want: 600 },
  { name: 'fraction', input: '1.5s', want: 1 },
  { name: 'too long', input: '43201s', error: /between 1s and 43200s/ },
  { name: 'no unit', input: '600', error: /Invalid value at 'lifetime'/ },
  { name: 'number', input: 600, error: /Invalid value at 'lifetime'/ },
];

for (const c of lifetimes) {
  test(`parseLifetime: ${c.name}`, () => {
    if (c.error !== undefined) {
      assert.throws(
        () => parseLifetime(c.input),
        (err: Error & { status?: number }) => {
          assert.equal(err.status, 400);
          assert.match(err.message, c.error as RegExp);
          return true;
        },
      );
    } else {
      assert.equal(parseLifetime(c.input), c.want);
    }
  });
}

test('TokenStore forgets expired tokens', () => {
  let now = 1000;
  const store = new TokenStore(() => now);
  const token = store.issue({ kind: 'serviceAccount', email: 'a@b', scopes: [], expiresAt: 2000 });
  assert.match(token, /^ya29\.lab\.[A-Za-z0-9_-]{43}$/);
  assert.equal(store.lookup(token)?.kind, 'serviceAccount');
  assert.equal(store.lookup('ya29.other'), undefined);
  now = 2000;
  assert.equal(store.lookup(token), undefined);
});

test('reviewToken answers TokenReview status for known and unknown tokens', () => {
  const store = new TokenStore();
  const token = store.issue({
    kind: 'serviceAccount',
    email: 'sa@p.iam.gserviceaccount.com',
    scopes: [],
    expiresAt: Date.now() + 60_000,
  });
  const review = (t: string, audiences?: string[]) =>
    reviewToken(
      {
        apiVersion: 'authentication.k8s.io/v1beta1',
        kind: 'TokenReview',
        spec: { token: t, audiences },
      },
      store,
    );
  assert.deepEqual(review(token, ['api']), {
    apiVersion: 'authentication.k8s.io/v1beta1',
    kind: 'TokenReview',
    metadata: { creationTimestamp: null },
    status: {
      authenticated: true,
      user: {
        username: 'sa@p.iam.gserviceaccount.com',
        uid: 'sa@p.iam.gserviceaccount.com',
        groups: [],
      },
      audiences: ['api'],
    },
  });
  assert.deepEqual((review('nope') as { status: unknown }).status, {
    authenticated: false,
    error: 'unknown or expired access token',
  });
});

const stsBodies: { name: string; input: [string, string]; want: Record<string, string> }[] = [
  {
    name: 'RFC 8693 form',
    input: [
      'application/x-www-form-urlencoded',
      'grant_type=g&audience=a&scope=s1+s2&requested_token_type=r&subject_token=t&subject_token_type=st',
    ],
    want: {
      grantType: 'g',
      audience: 'a',
      scope: 's1 s2',
      requestedTokenType: 'r',
      subjectToken: 't',
      subjectTokenType: 'st',
    },
  },
  {
    name: 'Google JSON camelCase',
    input: [
      'application/json; charset=utf-8',
      '{"grantType":"g","audience":"a","subjectToken":"t"}',
    ],
    want: {
      grantType: 'g',
      audience: 'a',
      scope: '',
      requestedTokenType: '',
      subjectToken: 't',
      subjectTokenType: '',
    },
  },
  {
    name: 'JSON snake_case',
    input: ['application/json', '{"grant_type":"g","subject_token_type":"st"}'],
    want: {
      grantType: 'g',
      audience: '',
      scope: '',
      requestedTokenType: '',
      subjectToken: '',
      subjectTokenType: 'st',
    },
  },
];

for (const c of stsBodies) {
  test(`parseStsRequest: ${c.name}`, () => {
    assert.deepEqual(parseStsRequest(...c.input), c.want);
  });
}

test('parseStsRequest refuses malformed JSON with invalid_request', () => {
  assert.throws(
    () => parseStsRequest('application/json', '{'),
    (err: Error & { body?: unknown }) => {
      assert.match(
        JSON.stringify(err.body),
        /"error":"invalid_request","error_description":"Invalid JSON payload/,
      );
      return true;
    },
  );
});
