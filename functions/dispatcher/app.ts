// app.ts: the dispatcher's routes over plain request/answer values (no HTTP framework here, so
// every route is testable without a server): authenticate, apply the policy, validate, fan out,
// reconcile, report, cancel (docs/design.md, "The dispatcher").
import { KubeApiError } from '../../src/core/kube/api.ts';
import { podEndpointsOf } from '../../src/core/build/pod-program-file.ts';
import type { DispatcherConfig } from './config.ts';
import { createJobs } from './fanout.ts';
import type { JobsApi } from './kube.ts';
import type { Logger, Severity } from './log.ts';
import { traceFields } from './log.ts';
import { isDispatchId, planDispatch } from './plan.ts';
import { checkCaller, checkRequest, type CallerIdentity } from './policy.ts';
import { parseDispatchRequest, RequestError } from '../../src/core/dispatch/request.ts';
import { cancelDispatch, loadDispatch, refreshDispatch, type DispatchView } from './status.ts';
import {
  IssuerUnavailableError,
  TokenError,
  type GitHubClaims,
  type TokenVerifier,
} from './tokens.ts';

/** HttpRequestLike is what a route needs of a request; header names are lowercase. */
export interface HttpRequestLike {
  method: string;
  path: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** body: the parsed JSON body (undefined without one). */
  body: unknown;
}

/** HttpAnswer is a status and a JSON body. */
export interface HttpAnswer {
  status: number;
  body: unknown;
}

/**
 * AppDeps: configuration, the token verifier, the cluster (connected on first use), the pod
 * program for `upload: cluster` (read on first use; undefined when the bundle lacks it), logs,
 * clock.
 */
export interface AppDeps {
  config: Pick<DispatcherConfig, 'namespace' | 'policy' | 'serverUrl' | 'project' | 'fanout'> &
    Partial<Pick<DispatcherConfig, 'endpoints'>>;
  verifier: Pick<TokenVerifier, 'verify'>;
  jobs: () => Promise<JobsApi>;
  podProgram?: () => Promise<string | undefined>;
  logger: Logger;
  now?: () => number;
}

/** App answers one request. */
export type App = (req: HttpRequestLike) => Promise<HttpAnswer>;

/** Refused ends a route early with an answer (401, 403, 400, 404, 409). */
class Refused extends Error {
  readonly answer: HttpAnswer;
  readonly severity: Severity;
  constructor(status: number, body: Record<string, unknown>, severity: Severity = 'NOTICE') {
    super(String(body.reason ?? body.error));
    this.answer = { status, body };
    this.severity = severity;
  }
}

function identityOf(c: GitHubClaims): CallerIdentity {
  return {
    repository: c.repository,
    repositoryId: c.repositoryId,
    repositoryOwnerId: c.repositoryOwnerId,
    ref: c.ref,
    eventName: c.eventName,
  };
}

const DISPATCH_PATH = /^\/v1\/dispatches\/([^/]+)$/;

/**
 * createApp builds the routes: `GET /healthz`; `POST /v1/dispatches` (202 with the builds);
 * `GET /v1/dispatches/{id}` (status of each build, after one reconcile step);
 * `DELETE /v1/dispatches/{id}` (cancels what has not ended). Refusals are JSON
 * `{error, reason}`: 401 token, 403 policy (with `rule`), 400 body (with `field`), 404, 409.
 */
export function createApp(deps: AppDeps): App {
  const { config } = deps;
  const now = deps.now ?? Date.now;
  const ns = config.namespace;

  async function authenticate(req: HttpRequestLike): Promise<GitHubClaims> {
    const auth = req.headers['authorization'];
    const m = /^Bearer\s+(\S+)$/i.exec(Array.isArray(auth) ? (auth[0] ?? '') : (auth ?? ''));
    if (!m)
      throw new Refused(401, {
        error: 'unauthenticated',
        reason: 'missing bearer token: send Authorization: Bearer <GitHub OIDC token for this URL>',
      });
    try {
      const claims = await deps.verifier.verify(m[1]!);
      const refusal = checkCaller(config.policy, identityOf(claims));
      if (refusal)
        throw new Refused(403, { error: 'forbidden', rule: refusal.rule, reason: refusal.reason });
      return claims;
    } catch (err) {
      if (err instanceof TokenError)
        throw new Refused(401, { error: 'unauthenticated', code: err.code, reason: err.message });
      if (err instanceof IssuerUnavailableError)
        throw new Refused(503, { error: 'unavailable', reason: err.message }, 'ERROR');
      throw err;
    }
  }

  async function view(api: JobsApi, id: string, claims: GitHubClaims): Promise<DispatchView> {
    if (!isDispatchId(id))
      throw new Refused(400, {
        error: 'invalid_request',
        field: 'id',
        reason: `dispatch id ${JSON.stringify(id.slice(0, 80))} is not 32 hex digits`,
      });
    const v = await loadDispatch(api, ns, id);
    // Another repository's dispatch is answered like a missing one.
    if (!v || v.repositoryId !== claims.repositoryId)
      throw new Refused(404, {
        error: 'not_found',
        reason: `no dispatch ${id} of repository ${claims.repository}`,
      });
    return v;
  }

  async function cluster(): Promise<JobsApi> {
    try {
      return await deps.jobs();
    } catch (err) {
      throw new Refused(
        503,
        { error: 'unavailable', reason: `cannot reach the cluster: ${(err as Error).message}` },
        'ERROR',
      );
    }
  }

  async function create(
    req: HttpRequestLike,
    log: (f: Record<string, unknown>) => void,
  ): Promise<HttpAnswer> {
    const claims = await authenticate(req);
    let request;
    let plan;
    try {
      request = parseDispatchRequest(req.body);
      const ask = {
        image: request.image,
        archs: request.archs,
        cpu: request.cpu,
        memory: request.memory,
        builds: request.packages.length * request.archs.length,
        privileged: request.privileged,
        ...(request.computeClass !== undefined ? { computeClass: request.computeClass } : {}),
        ...(request.nodeSelector !== undefined ? { nodeSelector: request.nodeSelector } : {}),
        ...(request.tolerations !== undefined ? { tolerations: request.tolerations } : {}),
        ...(request.serviceAccountName !== undefined
          ? { serviceAccountName: request.serviceAccountName }
          : {}),
      };
      const refusal = checkRequest(config.policy, ask, identityOf(claims));
      if (refusal)
        throw new Refused(403, { error: 'forbidden', rule: refusal.rule, reason: refusal.reason });
      // Read only for requests that need it (upload: cluster, staging: bucket); missing,
      // nothing is created.
      const needsProgram = request.upload === 'cluster' || request.stagingCrc32c !== undefined;
      const podProgram = needsProgram ? await deps.podProgram?.() : undefined;
      if (needsProgram && podProgram === undefined)
        throw new Refused(
          500,
          {
            error: 'misconfigured',
            reason:
              'upload "cluster" and staging "bucket" need the pod program beside the dispatcher (pod/index.js in build/dispatcher, from npm run build); deploy the whole build/dispatcher directory',
          },
          'CRITICAL',
        );
      plan = planDispatch(request, claims, {
        namespace: ns,
        serverUrl: config.serverUrl,
        ...(podProgram !== undefined
          ? {
              podProgram,
              podEndpoints: config.endpoints ? podEndpointsOf(config.endpoints) : {},
            }
          : {}),
      });
    } catch (err) {
      if (err instanceof RequestError)
        throw new Refused(400, { error: 'invalid_request', field: err.field, reason: err.message });
      throw err;
    }
    log({
      dispatch_id: plan.dispatchId,
      repository: claims.repository,
      run_id: claims.runId,
      builds: plan.builds.length,
    });
    const api = await cluster();
    const existing = await loadDispatch(api, ns, plan.dispatchId);
    if (existing && existing.requestHash !== plan.requestHash) {
      throw new Refused(409, {
        error: 'conflict',
        reason: `dispatch ${plan.dispatchId} (the same builds of this run) exists with other settings: a retried request must be identical`,
      });
    }
    const have = new Set(existing?.jobs.map((j) => j.metadata?.name));
    const missing = plan.builds.filter((b) => !have.has(b.entry.job_name));
    const createStarted = now();
    const retries = retryLogger(deps.logger);
    const configMaps = new Map(
      missing.flatMap((b) => (b.configMap ? [[b.entry.job_name, b.configMap] as const] : [])),
    );
    const createErrors = await createJobs(
      api,
      ns,
      missing.map((b) => b.job),
      { ...config.fanout, onRetry: retries.onRetry },
      configMaps,
    );
    for (const [name, message] of createErrors)
      deps.logger.log('ERROR', `could not create Job ${name}: ${message}`, {
        dispatch_id: plan.dispatchId,
      });
    if (missing.length > 0) {
      // One line per fan-out, written as it ends (before the list and reconcile that follow):
      // how long creating took and how often the API server had to be asked again.
      const created = missing.length - createErrors.size;
      const ms = now() - createStarted;
      deps.logger.log(
        'INFO',
        `created ${created} of ${missing.length} Jobs in ${ms} ms (${retries.count} retries, ${createErrors.size} failed)`,
        {
          dispatch_id: plan.dispatchId,
          jobs_created: created,
          jobs_failed: createErrors.size,
          create_retries: retries.count,
          create_ms: ms,
        },
      );
    }
    const after = (await loadDispatch(api, ns, plan.dispatchId)) ?? {
      dispatchId: plan.dispatchId,
      plan: plan.builds.map((b) => b.entry),
      jobs: [],
      repositoryId: claims.repositoryId,
      requestHash: plan.requestHash,
    };
    const status = await refreshDispatch(api, ns, after, {
      now: now(),
      createErrors,
      fanout: config.fanout,
      warn: (m) => deps.logger.log('WARNING', m, { dispatch_id: plan.dispatchId }),
    });
    return {
      status: 202,
      body: { ...status, created: missing.length - createErrors.size, existing: have.size },
    };
  }

  async function route(
    req: HttpRequestLike,
    log: (f: Record<string, unknown>) => void,
  ): Promise<HttpAnswer> {
    if (req.path === '/healthz')
      return req.method === 'GET' ? { status: 200, body: { status: 'ok' } } : notAllowed('GET');
    if (req.path === '/v1/dispatches')
      return req.method === 'POST' ? create(req, log) : notAllowed('POST');
    const m = DISPATCH_PATH.exec(req.path);
    if (!m)
      return {
        status: 404,
        body: { error: 'not_found', reason: `no route ${req.method} ${req.path}` },
      };
    if (req.method !== 'GET' && req.method !== 'DELETE') return notAllowed('GET, DELETE');
    const claims = await authenticate(req);
    const api = await cluster();
    const v = await view(api, decodeURIComponent(m[1]!), claims);
    log({ dispatch_id: v.dispatchId, repository: claims.repository });
    const o = {
      now: now(),
      fanout: config.fanout,
      warn: (msg: string) => deps.logger.log('WARNING', msg, { dispatch_id: v.dispatchId }),
    };
    if (req.method === 'GET') return { status: 200, body: await refreshDispatch(api, ns, v, o) };
    return { status: 200, body: await cancelDispatch(api, ns, v, o) };
  }

  return async (req) => {
    const started = now();
    const fields: Record<string, unknown> = { ...traceFields(req.headers, config.project) };
    const logger = deps.logger.with(fields);
    let answer: HttpAnswer;
    let severity: Severity = 'INFO';
    try {
      answer = await route(req, (f) => Object.assign(fields, f));
    } catch (err) {
      if (err instanceof Refused) {
        answer = err.answer;
        severity = err.severity;
      } else if (
        err instanceof KubeApiError &&
        (err.status === 0 || err.status >= 500 || err.status === 429)
      ) {
        answer = {
          status: 503,
          body: {
            error: 'unavailable',
            reason: `the Kubernetes API is unavailable: ${err.message}`,
          },
        };
        severity = 'ERROR';
      } else {
        answer = {
          status: 500,
          body: { error: 'internal', reason: err instanceof Error ? err.message : String(err) },
        };
        severity = 'ERROR';
      }
    }
    const body = answer.body as { reason?: string; rule?: string; field?: string };
    logger.log(
      severity,
      `${req.method} ${req.path} ${answer.status}${body.reason ? `: ${body.reason}` : ''}`,
      {
        ...fields,
        status: answer.status,
        latency_ms: now() - started,
        ...(body.rule ? { rule: body.rule } : {}),
        ...(body.field ? { field: body.field } : {}),
      },
    );
    return answer;
  };
}

function notAllowed(allow: string): HttpAnswer {
  return { status: 405, body: { error: 'method_not_allowed', reason: `use ${allow}` } };
}

/** retryLogger logs each retried call as a WARNING and counts them (`count`). */
function retryLogger(logger: Logger): {
  onRetry: (what: string, error: Error, attempt: number) => void;
  readonly count: number;
} {
  let count = 0;
  return {
    onRetry: (what, error, attempt) => {
      count++;
      logger.log('WARNING', `${what} failed (attempt ${attempt}), retrying: ${error.message}`);
    },
    get count() {
      return count;
    },
  };
}
