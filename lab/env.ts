// env.ts: what tests, benchmarks and the demo need to know about the running lab.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** ROOT is the repository root (tests run from it under npm). */
export const ROOT = resolve(import.meta.dirname, '..');

let cached: Record<string, string> | undefined;

/**
 * labEnv answers the variables of .lab/env (as a shell that sources it sees
 * them), to be merged into a child process's environment. Throws when the
 * lab is not up.
 */
export function labEnv(): Record<string, string> {
  if (cached) return cached;
  const file = resolve(ROOT, '.lab/env');
  if (!existsSync(file))
    throw new Error('the lab is not up: run `npm run lab:up` (or the e2e suite, which starts it)');
  const r = spawnSync('bash', ['-c', `set -a; source "${file}"; env -0`], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '' },
  });
  if (r.status !== 0) throw new Error(`cannot read ${file}: ${r.stderr}`);
  const env: Record<string, string> = {};
  for (const kv of r.stdout.split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  delete env['PWD'];
  delete env['SHLVL'];
  delete env['_'];
  cached = env;
  return env;
}

/** kubectl runs the lab's kubectl with the admin kubeconfig; answers stdout, throws on failure. */
export function kubectl(args: string[], input?: string): string {
  const env = labEnv();
  const r = spawnSync('kubectl', args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    input,
    maxBuffer: 256 << 20,
  });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * labIssuer POSTs `body` (JSON) to one of the lab OIDC issuer's own routes with the runner's
 * request token (lab/google/oidc-issuer.ts): `/_lab/mint` answers `{value}`, a token with the
 * given audience and claims; `/_lab/request-tokens` answers `{requestToken, requestUrl}`, a
 * runner token endpoint whose tokens carry the given claims. Throws on an answer that is not
 * 2xx, with its body. Tokens are never printed.
 */
export async function labIssuer<T>(
  path: '/_lab/mint' | '/_lab/request-tokens',
  body: unknown,
): Promise<T> {
  const env = labEnv();
  const res = await fetch(`${env['KBUILD_LAB_OIDC_ISSUER']}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  // /_lab/mint answers 200, /_lab/request-tokens 201 (it creates an endpoint).
  if (!res.ok)
    throw new Error(`the lab's issuer answered ${path} with ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/**
 * labIamBinding grants (or with `remove`, takes) one IAM role in the lab's
 * Google stand-ins through their `/_lab/iam-bindings` route (lab/google/README.md),
 * with the runner's request token. `resource` is `project`,
 * `buckets/NAME` or `serviceAccounts/EMAIL`; `member` an IAM member
 * (`serviceAccount:PROJECT.svc.id.goog[NS/KSA]`, `principal://...`). Throws
 * on an answer that is not 2xx, with its body.
 */
export async function labIamBinding(binding: {
  resource: string;
  role: string;
  member: string;
  remove?: boolean;
}): Promise<void> {
  const env = labEnv();
  const base = (env['CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS'] ?? '').replace(/\/$/, '');
  const res = await fetch(`${base}/_lab/iam-bindings`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(binding),
  });
  if (!res.ok) throw new Error(`/_lab/iam-bindings answered ${res.status}: ${await res.text()}`);
}
