// dispatch-calls.ts: what the dispatcher's end-to-end tests send to a dispatcher on the lab:
// tokens minted by the lab's OIDC issuer (good or deliberately bad), HTTP calls with them, and
// following a dispatch to its end.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { labIssuer } from './lab.ts';

/** DispatchedBuild is one build of a dispatcher answer (docs/design.md, "The dispatcher"). */
export interface DispatchedBuild {
  build_id: string;
  package: string;
  arch: string;
  job_name: string;
  status: string;
  reason: string;
  message: string;
}

/** Answer is an HTTP status and the dispatcher's JSON body. */
export interface Answer {
  status: number;
  body: {
    dispatch_id?: string;
    state?: string;
    builds?: DispatchedBuild[];
    created?: number;
    error?: string;
    rule?: string;
    code?: string;
    reason?: string;
    cancelled?: DispatchedBuild[];
  };
}

/** MintOptions: what /_lab/mint changes in a token (default: good, audience = the dispatcher). */
export interface MintOptions {
  claims?: Record<string, unknown>;
  audience?: string;
  key?: 'other';
  kid?: null;
  alg?: 'none';
}

/**
 * TRIVIAL_BUILD is the body of a dispatch minus its packages, sha and dependencies: both arches,
 * a command that prints the package it builds, small requests, ref main.
 */
export const TRIVIAL_BUILD = {
  archs: ['amd64', 'arm64'],
  image: 'debian:bookworm',
  command: "sh -c 'echo building $KBUILD_PACKAGES'",
  package_target: '',
  cpu: '100m',
  memory: '64Mi',
  ref: 'refs/heads/main',
};

/** runId answers a fresh GitHub run id, so each test's Jobs carry their own kbuild.dev/run-id. */
export const runId = (): string => String(100_000 + Math.floor(Math.random() * 1e9));

/** byKey indexes builds by `package/arch`. */
export const byKey = (builds: DispatchedBuild[] = []): Record<string, DispatchedBuild> =>
  Object.fromEntries(builds.map((b) => [`${b.package}/${b.arch}`, b]));

/** DispatcherCalls talks to the dispatcher at `url` as a workflow would. */
export class DispatcherCalls {
  readonly url: string;

  constructor(url: string) {
    this.url = url;
  }

  /** mint asks the lab's issuer for a token (lab/google/oidc-issuer.ts, POST /_lab/mint). */
  async mint(o: MintOptions = {}): Promise<string> {
    return (await labIssuer<{ value: string }>('/_lab/mint', { audience: this.url, ...o })).value;
  }

  /** call sends one request with the token as Bearer; answers the status and the JSON body. */
  async call(method: string, path: string, token: string, body?: unknown): Promise<Answer> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  }

  /** follow GETs the dispatch every second (each GET reconciles) until it is no longer running. */
  async follow(id: string, token: string, limitMs = 180_000): Promise<Answer['body']> {
    const end = Date.now() + limitMs;
    for (;;) {
      const r = await this.call('GET', `/v1/dispatches/${id}`, token);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      if (r.body.state !== 'running') return r.body;
      if (Date.now() > end)
        assert.fail(
          `dispatch ${id} still running after ${limitMs} ms: ${JSON.stringify(r.body.builds)}`,
        );
      await sleep(1000);
    }
  }

  /** until GETs the dispatch every 500 ms until ok(builds) holds (at most limitMs). */
  async until(
    id: string,
    token: string,
    ok: (builds: DispatchedBuild[]) => boolean,
    what: string,
    limitMs = 120_000,
  ): Promise<DispatchedBuild[]> {
    const end = Date.now() + limitMs;
    for (;;) {
      const r = await this.call('GET', `/v1/dispatches/${id}`, token);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const builds = r.body.builds ?? [];
      if (ok(builds)) return builds;
      if (Date.now() > end) assert.fail(`${what} after ${limitMs} ms: ${JSON.stringify(builds)}`);
      await sleep(500);
    }
  }
}

/** tokenEnv answers the runner's ID token variables for a run: tokens carry its run_id. */
export async function tokenEnv(runId: string): Promise<Record<string, string>> {
  const t = await labIssuer<{ requestToken: string; requestUrl: string }>('/_lab/request-tokens', {
    claims: { run_id: runId },
  });
  return {
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: t.requestToken,
    ACTIONS_ID_TOKEN_REQUEST_URL: t.requestUrl,
  };
}
