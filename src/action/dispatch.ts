/**
 * dispatch.ts: mode `dispatch` of the action. Sends the matrix (packages x archs) to the
 * dispatcher with the job's GitHub OIDC token (audience = dispatcher_url), and with `wait: true`
 * follows every build to its end: live progress lines, each build's complete log in its own
 * group once its build container ended (groups never interleave), its artifacts collected and
 * uploaded as in mode `build`, one summary row per build. Fails naming the builds that did not
 * succeed; on SIGINT/SIGTERM it cancels the dispatch (DELETE) before exiting.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import * as core from '@actions/core';
import { validateAuthConfig, type AuthConfig } from '../core/inputs/auth-config.ts';
import { endpointsFromEnv } from '../core/google/endpoints.ts';
import { listContext } from '../core/build/context.ts';
import { DEFAULT_CACHE_PATH } from '../core/inputs/cache.ts';
import { InputError } from '../core/base/errors.ts';
import { followPermissions, PermissionError } from '../core/build/permissions.ts';
import {
  INPUT_DEFAULTS,
  inputValue,
  type InputName,
  type RawInputs,
} from '../core/inputs/schema.ts';
import { parseBoolean, parseKeyValueLines, parseList, requireValue } from '../core/inputs/parse.ts';
import { parseNodeSelector } from '../core/inputs/scheduling.ts';
import { systemClock } from '../core/base/report.ts';
import { validateBuildSpec, type BuildSpec, type GitHubContext } from '../core/inputs/spec.ts';
import { DispatcherClient } from '../core/dispatch/client.ts';
import { parseDispatchRequest, RequestError, type DispatchBody } from '../core/dispatch/request.ts';
import { rawInputsOf } from '../core/dispatch/spec.ts';
import { dispatchIdOf } from '../core/dispatch/protocol.ts';
import { finishDispatch } from './dispatch-summary.ts';
import { buildKey, isTerminalBuildState } from '../core/dispatch/protocol.ts';
import { ActionsReporter } from './reporter.ts';
import { traceHttp } from '../core/base/http-trace.ts';
import { STATE } from './state.ts';

/** DispatchInputs are the validated inputs of mode `dispatch`. */
export interface DispatchInputs {
  url: string;
  body: DispatchBody;
  wait: boolean;
  /** specs: the build spec of each `package/arch`, computed like the dispatcher does (names, destinations). */
  specs: Map<string, BuildSpec>;
  /** auth: how to reach the cluster for logs and artifacts; absent: statuses only. */
  auth?: AuthConfig;
  bucket?: string;
  /** context: the directory this step stages into every build (wait: true and a cluster to reach). */
  context?: string;
  /** upload: who stores the artifacts, `runner` (this step collects them) or `cluster` (the pods). */
  upload: 'runner' | 'cluster';
  /** staging: how `context` reaches the pods: over exec into each, or one archive in the bucket. */
  staging: 'exec' | 'bucket';
  /** dispatchId: the id the dispatcher gives this dispatch (names the staging archive). */
  dispatchId: string;
}

/** PENDING_CRC32C stands in for the archive's CRC32C while the inputs are checked (not yet packed). */
const PENDING_CRC32C = 'AAAAAA==';

/** tolerationLines: the meaningful lines of input tolerations (the dispatcher parses each). */
function tolerationLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** DEFAULT_DESTINATION: input destination's default, the only one with upload: cluster in mode dispatch. */
const DEFAULT_DESTINATION = INPUT_DEFAULTS.destination;

/** POLL_MS: how often the dispatcher is asked (each GET also releases builds whose dependencies ended). */
const POLL_MS = 3000;

/**
 * validateDispatchInputs checks every input of mode `dispatch` before anything is sent: the body
 * with the dispatcher's own parser (a bad value names its input), and each build's spec.
 * Throws InputError.
 */
export function validateDispatchInputs(raw: RawInputs, ctx: GitHubContext): DispatchInputs {
  const value = (n: InputName) => inputValue(raw, n);
  const url = requireValue('dispatcher_url', value('dispatcher_url'), 'the URL of the dispatcher');
  if (!/^https?:\/\/[^/\s]+/.test(url)) {
    throw new InputError(
      'dispatcher_url',
      `invalid URL "${url}" for input "dispatcher_url": use https://HOST[/PATH]`,
    );
  }
  if (value('secret_env') !== '') {
    throw new InputError(
      'secret_env',
      'input "secret_env" is not available in mode dispatch: the dispatcher takes no secrets',
    );
  }
  const wait = parseBoolean('wait', value('wait'));
  const bucket = value('bucket') || undefined;
  const auth = validateAuthConfig(raw, { create: false });
  const reach = wait && Boolean(auth.cluster || auth.kubeconfig);
  // Only a step that follows the builds in the cluster can stage into them.
  const context = reach && value('context') !== '' ? value('context') : undefined;
  const { upload, staging } = dispatchDataPathsOf(raw, context !== undefined);
  const dependencies = parseDependencies(value('dependencies'));
  const cache = dispatchCacheOf(raw, wait, upload);
  const body: DispatchBody = {
    packages: parseList(value('packages')),
    archs: parseList(value('archs')),
    image: value('image'),
    command: value('command'),
    package_target: value('package_target'),
    cpu: value('cpu'),
    memory: value('memory'),
    env: parseKeyValueLines('env', value('env')),
    timeout: value('timeout'),
    ref: ctx.ref,
    sha: ctx.sha,
    privileged: parseBoolean('privileged', value('privileged')),
    artifacts_path: value('artifacts_path'),
    ...(value('queue_name') ? { queue_name: value('queue_name') } : {}),
    ...(value('compute_class') ? { compute_class: value('compute_class') } : {}),
    ...(value('node_selector')
      ? { node_selector: parseNodeSelector('node_selector', value('node_selector')) }
      : {}),
    ...(value('tolerations') ? { tolerations: tolerationLines(value('tolerations')) } : {}),
    ...(dependencies ? { dependencies } : {}),
    // Pods wait for a collector only when this step collects (wait) and uploads (bucket), and
    // for their source only when this step stages it. With upload: cluster the pods upload
    // themselves, so they get the bucket whether or not this step waits.
    ...((wait || upload === 'cluster' || cache) && bucket ? { bucket } : {}),
    ...(context ? { stage: true } : {}),
    // The archive's CRC32C is known once it is packed, just before the request is sent.
    ...(staging === 'bucket' ? { staging, staging_crc32c: PENDING_CRC32C } : {}),
    ...(upload === 'cluster' ? { upload } : {}),
    ...(value('service_account_name') !== 'default'
      ? { service_account_name: value('service_account_name') }
      : {}),
    ...(cache ?? {}),
  };
  const specs = new Map<string, BuildSpec>();
  try {
    const req = parseDispatchRequest(body);
    for (const pkg of req.packages) {
      for (const arch of req.archs) {
        const rawBuild = {
          ...rawInputsOf(req, pkg, arch, value('namespace')),
          destination: value('destination'),
          ...(context ? { context } : {}),
        };
        specs.set(buildKey({ package: pkg, arch }), validateBuildSpec(rawBuild, ctx));
      }
    }
  } catch (err) {
    if (!(err instanceof RequestError)) throw err;
    throw new InputError(err.field, err.message.replace(/\bfield "/g, 'input "'));
  }
  const dispatchId = dispatchIdOf(
    ctx,
    [...specs.values()].map((sp) => sp.buildId),
  );
  const out: DispatchInputs = { url, body, wait, specs, upload, staging, dispatchId };
  if (reach) out.auth = auth;
  if (bucket) out.bucket = bucket;
  if (context) out.context = context;
  return out;
}

/**
 * dispatchCacheOf reads inputs cache_key, cache_restore_keys and cache_path for mode dispatch
 * (the fields of the same names; `{package}` and `{arch}` in the keys are each build's). Without
 * `wait` the pods must upload themselves (`upload: cluster`): a pod that got the bucket would
 * otherwise wait for a collector that never comes. Throws InputError.
 */
function dispatchCacheOf(
  raw: RawInputs,
  wait: boolean,
  upload: 'runner' | 'cluster',
): Pick<DispatchBody, 'cache_key' | 'cache_restore_keys' | 'cache_path'> | undefined {
  const value = (n: InputName) => inputValue(raw, n);
  const key = value('cache_key');
  if (key === '') return undefined;
  if (!wait && upload !== 'cluster')
    throw new InputError(
      'cache_key',
      'input "cache_key" in mode dispatch with "wait: false" needs "upload: cluster": nobody would collect the artifacts of pods that wait for it',
    );
  const restore = value('cache_restore_keys')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const path = value('cache_path');
  return {
    cache_key: key,
    ...(restore.length ? { cache_restore_keys: restore } : {}),
    ...(path !== DEFAULT_CACHE_PATH ? { cache_path: path } : {}),
  };
}

/**
 * dispatchDataPathsOf reads inputs upload and staging for mode dispatch. `upload: cluster` is
 * sent to the dispatcher, whose pods then store their artifacts under the default `destination`
 * (the only one: the dispatcher expands it from the caller's verified token, so a request cannot
 * steer the pods' shared identity to another repository's prefix). `staging: bucket` (when this
 * step stages a context at all) uploads the context once, as the dispatch's archive, which every
 * pod fetches. Throws InputError before anything is sent.
 */
export function dispatchDataPathsOf(
  raw: RawInputs,
  stages: boolean,
): { upload: 'runner' | 'cluster'; staging: 'exec' | 'bucket' } {
  const value = (n: InputName) => inputValue(raw, n);
  const staging = value('staging') === 'bucket' && stages ? 'bucket' : 'exec';
  if (staging === 'bucket' && value('bucket') === '')
    throw new InputError(
      'staging',
      'input "staging: bucket" needs a "bucket": the context goes through it',
    );
  if (value('upload') !== 'cluster') return { upload: 'runner', staging };
  if (value('bucket') === '')
    throw new InputError(
      'upload',
      'input "upload: cluster" needs a "bucket": each build\'s pod uploads its artifacts to it',
    );
  if (value('destination') !== DEFAULT_DESTINATION)
    throw new InputError(
      'destination',
      `input "destination" cannot be changed with "upload: cluster" in mode dispatch: the dispatcher's pods store every build under the default ${DEFAULT_DESTINATION}, expanded from the caller's own token (docs/dispatcher.md, "Data paths")`,
    );
  return { upload: 'cluster', staging };
}

/**
 * parseDependencies reads input `dependencies`: empty, or a JSON object
 * `{"package": ["packages it needs"]}` (plan mode's `dependencies` output). Its names are checked
 * by the dispatcher's request parser. Throws InputError.
 */
export function parseDependencies(text: string): Record<string, string[]> | undefined {
  if (text.trim() === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new InputError(
      'dependencies',
      `invalid value for input "dependencies": use a JSON object {"package": ["packages it needs"]}, e.g. the \`dependencies\` output of mode plan (got ${JSON.stringify(text.slice(0, 80))})`,
    );
  return v as Record<string, string[]>;
}

/**
 * runDispatchMode runs mode `dispatch`; resolves with the exit code (0 when every build
 * succeeded, or when not waiting). SIGINT/SIGTERM (signal) cancel the dispatch.
 */
export async function runDispatchMode(
  raw: RawInputs,
  ctx: GitHubContext,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<number> {
  const input = validateDispatchInputs(raw, ctx);
  const reporter = new ActionsReporter();
  const untrace = traceHttp({ debug: (line) => reporter.debug(line) });
  try {
    return await dispatchWith(input, reporter, env, signal);
  } finally {
    untrace();
  }
}

/** dispatchWith runs a validated dispatch (runDispatchMode), reporting through reporter. */
async function dispatchWith(
  input: ReturnType<typeof validateDispatchInputs>,
  reporter: ActionsReporter,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<number> {
  // Listed before anything is sent: a missing context directory fails the step up front.
  const files = input.context
    ? (await listContext(input.context, env['GITHUB_WORKSPACE'] || process.cwd())).files
    : undefined;
  // The Kubernetes and Google clients are most of the bundle: loaded once the inputs are valid.
  const [{ connect }, { DispatchFollower }, staging] = await Promise.all([
    import('../core/build/connect.ts'),
    import('./dispatch-follow.ts'),
    import('../core/build/bucket-staging.ts'),
  ]);
  const clients = input.auth
    ? await connect(input.auth, {
        endpoints: endpointsFromEnv(env),
        getIdToken: (aud) => core.getIDToken(aud),
        mask: (s) => core.setSecret(s),
        ...(input.bucket ? { bucket: input.bucket } : {}),
        onRetry: (e) => reporter.info(e.line),
        notify: (line) => reporter.warning(line),
      })
    : undefined;
  const client = new DispatcherClient({ url: input.url, token: (aud) => core.getIDToken(aud) });
  // staging: bucket: the context goes up once, as the dispatch's archive, before the pods exist.
  const store = clients?.store;
  const staged =
    input.staging === 'bucket' && input.context && files && store
      ? await staging.uploadContext(store, input.dispatchId, input.context, files, reporter)
      : undefined;
  const unstage = async () => {
    if (staged && store) await staging.removeContext(store, staged, reporter);
  };
  const body = staged ? { ...input.body, staging_crc32c: staged.crc32c } : input.body;
  const created = await client.create(body).catch(async (err: unknown) => {
    await unstage();
    throw err;
  });
  const id = created.dispatch_id;
  if (staged && id !== input.dispatchId) {
    await client.cancel(id).catch(() => undefined);
    await unstage();
    core.saveState(STATE.finished, 'true');
    throw new Error(
      `the dispatcher named the dispatch ${id}, this step expected ${input.dispatchId}: the pods would not find the context archive ${staged.object} (does the token's run differ from GITHUB_REPOSITORY, GITHUB_RUN_ID and GITHUB_RUN_ATTEMPT?)`,
    );
  }
  // The post step cancels a followed dispatch that this step leaves running (killed, timed out).
  if (input.wait) core.saveState(STATE.dispatch, JSON.stringify({ url: input.url, id }));
  reporter.info(
    `Dispatch ${id}: ${created.builds.length} builds in namespace ${created.namespace} (${created.created} created, ${created.existing} existing)`,
  );
  // This step follows the builds with its own identity: without the permissions for that, cancel
  // the dispatch (nothing is left running) and name what is missing. The namespace is the
  // dispatcher's, known from its answer.
  const missing = clients?.kube.canI
    ? await clients.kube.canI(
        followPermissions(created.namespace, {
          stage: input.context !== undefined && input.staging === 'exec',
          collect: input.bucket !== undefined && input.upload === 'runner',
        }),
      )
    : [];
  if (missing.length > 0) {
    await client.cancel(id).catch(() => undefined);
    await unstage();
    core.saveState(STATE.finished, 'true');
    throw new PermissionError(missing, created.namespace);
  }
  const work = await mkdtemp(join(env['RUNNER_TEMP'] || tmpdir(), 'kbuild-dispatch-'));
  const follower = new DispatchFollower({
    dispatchId: id,
    specs: input.specs,
    ...(clients ? { clients } : {}),
    reporter,
    work,
    signal,
    ...(input.context && files && input.staging === 'exec'
      ? { stage: { dir: input.context, files } }
      : {}),
  });
  const tracked = () => [...follower.tracked.values()];
  follower.update(created);
  try {
    if (!input.wait) return await finishDispatch(id, tracked(), reporter, false);
    if (!clients)
      reporter.warning(
        'no "cluster" or "kubeconfig" input: following statuses only, without build logs or artifacts',
      );
    for (let namespace = created.namespace; ;) {
      await follower.showEnded(namespace);
      if (follower.done) break;
      await systemClock.sleep(POLL_MS, signal);
      if (signal.aborted) throw signal.reason;
      const now = await client.status(id);
      namespace = now.namespace;
      follower.update(now);
    }
    const code = await finishDispatch(id, tracked(), reporter, true);
    core.saveState(STATE.finished, 'true');
    return code;
  } catch (err) {
    if (!signal.aborted) throw err;
    reporter.warning(`cancelling dispatch ${id}`);
    const c = await client
      .cancel(id)
      .catch((e: Error) => reporter.error(`could not cancel dispatch ${id}: ${e.message}`));
    if (c)
      reporter.info(
        `Cancelled ${c.cancelled.length} builds: ${c.cancelled.map(buildKey).join(', ') || 'none was still running'}`,
      );
    if (c) core.saveState(STATE.finished, 'true');
    for (const t of tracked())
      if (!isTerminalBuildState(t.report.status)) t.result.status = 'cancelled';
    await finishDispatch(id, tracked(), reporter, true);
    return 1;
  } finally {
    // Staging needs wait (a context is only staged by a step that follows): every pod has
    // fetched the archive or ended by now.
    await unstage();
    reporter.close();
    await rm(work, { recursive: true, force: true });
  }
}
