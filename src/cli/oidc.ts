/**
 * oidc.ts: a GitHub OIDC token from the runner's token endpoint, for the CLI
 * when it runs inside a workflow step (or against the lab). The protocol is
 * the one @actions/core getIDToken uses (GitHub docs "About security
 * hardening with OpenID Connect"): `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD`
 * with `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answering
 * `{"value": "<jwt>"}`.
 */

/** idTokenGetter answers a getIdToken function when the runner variables are set, else undefined. */
export function idTokenGetter(
  env: NodeJS.ProcessEnv,
): ((audience: string) => Promise<string>) | undefined {
  const url = env['ACTIONS_ID_TOKEN_REQUEST_URL'];
  const token = env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'];
  if (!url || !token) return undefined;
  return async (audience: string) => {
    const u = new URL(url);
    u.searchParams.set('audience', audience);
    const res = await fetch(u, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    if (!res.ok) throw new Error(`GitHub OIDC token request failed: HTTP ${res.status}`);
    const body = (await res.json()) as { value?: unknown };
    if (typeof body.value !== 'string')
      throw new Error('GitHub OIDC token request answered no token');
    return body.value;
  };
}
