// dispatcher-tokens.test.ts: GitHub OIDC token verification against a local JWKS made here with
// jose: good tokens pass with their claims; every kind of bad token is refused with its code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  generateSecret,
  SignJWT,
  UnsecuredJWT,
  type JWTPayload,
} from 'jose';
import {
  IssuerUnavailableError,
  TokenError,
  TokenVerifier,
} from '../../functions/dispatcher/tokens.ts';

const ISSUER = 'https://issuer.example';
const AUDIENCE = 'https://dispatcher.example';
const KID = 'key-1';
const main = await generateKeyPair('RS256', { extractable: true });
const other = await generateKeyPair('RS256');
const jwks = {
  keys: [{ ...(await exportJWK(main.publicKey)), kid: KID, alg: 'RS256', use: 'sig' }],
};
const verifier = new TokenVerifier({
  issuer: ISSUER,
  audience: AUDIENCE,
  keys: createLocalJWKSet(jwks),
  clockToleranceSeconds: 0,
});

const now = () => Math.floor(Date.now() / 1000);
const CLAIMS: JWTPayload = {
  repository: 'kbuild-lab/demo',
  repository_id: '90001',
  repository_owner: 'kbuild-lab',
  repository_owner_id: '4242',
  run_id: '1234',
  run_attempt: '1',
  ref: 'refs/heads/main',
  event_name: 'push',
  sha: 'a'.repeat(40),
  workflow: 'build',
  actor: 'octocat',
};

interface MintOptions {
  claims?: JWTPayload;
  key?: Parameters<SignJWT['sign']>[0];
  kid?: string | null;
  iss?: string;
  aud?: string;
  exp?: number;
  nbf?: number;
}

async function mint(o: MintOptions = {}): Promise<string> {
  const t = now();
  const jwt = new SignJWT({ ...CLAIMS, ...o.claims })
    .setProtectedHeader({
      alg: 'RS256',
      typ: 'JWT',
      ...(o.kid === null ? {} : { kid: o.kid ?? KID }),
    })
    .setIssuer(o.iss ?? ISSUER)
    .setAudience(o.aud ?? AUDIENCE)
    .setIssuedAt(t)
    .setNotBefore(o.nbf ?? t - 300)
    .setExpirationTime(o.exp ?? t + 300);
  return jwt.sign(o.key ?? main.privateKey);
}

test('a good token passes with its claims', async () => {
  const c = await verifier.verify(await mint());
  assert.deepEqual(c, {
    repository: 'kbuild-lab/demo',
    repositoryId: '90001',
    repositoryOwner: 'kbuild-lab',
    repositoryOwnerId: '4242',
    runId: '1234',
    runAttempt: '1',
    ref: 'refs/heads/main',
    eventName: 'push',
    sha: 'a'.repeat(40),
    workflow: 'build',
    actor: 'octocat',
  });
});

test('bad tokens are refused, each with its own code', async () => {
  const good = await mint();
  const [h, p, s] = good.split('.');
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...CLAIMS, repository_owner_id: '1', iss: ISSUER, aud: AUDIENCE, exp: now() + 300, iat: now() })).toString('base64url')}.${s}`;
  const hs256 = await new SignJWT({ ...CLAIMS })
    .setProtectedHeader({ alg: 'HS256', kid: KID })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(await generateSecret('HS256'));
  const none = new UnsecuredJWT({
    ...CLAIMS,
    iss: ISSUER,
    aud: AUDIENCE,
    exp: now() + 300,
    iat: now(),
  }).encode();
  const cases: { name: string; token: string; code: string; message: RegExp }[] = [
    {
      name: 'bad signature',
      token: tampered,
      code: 'bad_signature',
      message: /signature verification failed/,
    },
    {
      name: 'alg none',
      token: none,
      code: 'alg_not_allowed',
      message: /"none" is not allowed: only RS256/,
    },
    { name: 'HS256', token: hs256, code: 'alg_not_allowed', message: /"HS256" is not allowed/ },
    {
      name: 'expired',
      token: await mint({ exp: now() - 10 }),
      code: 'expired',
      message: /"exp" claim timestamp check failed/,
    },
    {
      name: 'not yet valid',
      token: await mint({ nbf: now() + 600 }),
      code: 'bad_nbf',
      message: /claim "nbf"/,
    },
    {
      name: 'wrong audience',
      token: await mint({ aud: 'https://elsewhere.example' }),
      code: 'bad_aud',
      message: /claim "aud"/,
    },
    {
      name: 'wrong issuer',
      token: await mint({ iss: 'https://evil.example' }),
      code: 'bad_iss',
      message: /claim "iss"/,
    },
    { name: 'missing kid', token: await mint({ kid: null }), code: 'no_kid', message: /no kid/ },
    {
      name: 'unknown kid',
      token: await mint({ kid: 'key-2' }),
      code: 'unknown_kid',
      message: /no applicable key/,
    },
    {
      name: 'another key under the same kid',
      token: await mint({ key: other.privateKey }),
      code: 'bad_signature',
      message: /signature verification failed/,
    },
    { name: 'not a JWT', token: 'hello', code: 'malformed', message: /not a JWT/ },
    {
      name: 'missing GitHub claim',
      token: await mint({ claims: { repository_owner_id: undefined } }),
      code: 'missing_claim',
      message: /"repository_owner_id"/,
    },
    {
      name: 'non-numeric id',
      token: await mint({ claims: { repository_id: 'x1' } }),
      code: 'missing_claim',
      message: /"repository_id"/,
    },
  ];
  assert.ok(p);
  for (const c of cases) {
    await assert.rejects(verifier.verify(c.token), (err: unknown) => {
      assert.ok(err instanceof TokenError, `${c.name}: ${String(err)}`);
      assert.equal(err.code, c.code, c.name);
      assert.match(err.message, c.message, c.name);
      return true;
    });
  }
});

test('discovery: the JWKS comes from the discovery document, fetched once', async () => {
  const fetched: string[] = [];
  const fetchFn = (async (input: string | URL | Request) => {
    const url = String(input instanceof Request ? input.url : input);
    fetched.push(url);
    if (url === `${ISSUER}/.well-known/openid-configuration`)
      return Response.json({ issuer: ISSUER, jwks_uri: `${ISSUER}/keys` });
    if (url === `${ISSUER}/keys`) return Response.json(jwks);
    return new Response('no', { status: 404 });
  }) as typeof fetch;
  const v = new TokenVerifier({ issuer: `${ISSUER}/`, audience: AUDIENCE, fetch: fetchFn });
  assert.equal((await v.verify(await mint())).repository, 'kbuild-lab/demo');
  assert.equal((await v.verify(await mint())).runId, '1234');
  assert.deepEqual(fetched, [`${ISSUER}/.well-known/openid-configuration`, `${ISSUER}/keys`]);
});

test('discovery: an issuer that names another issuer, or is down, is unavailable (503), and retried', async () => {
  let calls = 0;
  const liar = (async () => {
    calls++;
    return Response.json({ issuer: 'https://evil.example', jwks_uri: 'https://evil.example/keys' });
  }) as typeof fetch;
  const v = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: liar });
  await assert.rejects(v.verify(await mint()), {
    name: 'IssuerUnavailableError',
    message: /names issuer "https:\/\/evil.example"/,
  });
  await assert.rejects(v.verify(await mint()), IssuerUnavailableError);
  assert.equal(calls, 2, 'a failed discovery is not cached');
  const down = (async () => new Response('down', { status: 502 })) as typeof fetch;
  await assert.rejects(
    new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: down }).verify(await mint()),
    { name: 'IssuerUnavailableError', message: /HTTP 502/ },
  );
});
