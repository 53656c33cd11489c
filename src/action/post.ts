/**
 * post.ts: the action's post step (`post-if: always()`), loaded by
 * entry-post.ts once the Node version is checked. When the
 * main step did not finish (killed, timed out, cancelled), the build it
 * created may still run: delete it; in mode dispatch, cancel the dispatch it
 * followed (DELETE /v1/dispatches/{id}). Credentials are obtained again the
 * same way as in the main step; nothing was written to disk.
 */
import * as core from '@actions/core';
import { validateAuthConfig } from '../core/inputs/auth-config.ts';
import { endpointsFromEnv } from '../core/google/endpoints.ts';
import type { RawBuildInputs } from '../core/inputs/schema.ts';
import { readInputs } from './inputs.ts';
import { traceHttp } from '../core/base/http-trace.ts';
import { parseSavedBuild, parseSavedDispatch, STATE } from './state.ts';

/** cancelDispatch cancels the dispatch a main step left running, with a fresh OIDC token. */
async function cancelDispatch(url: string, id: string): Promise<void> {
  const { DispatcherClient, DispatcherError } = await import('../core/dispatch/client.ts');
  const client = new DispatcherClient({ url, token: (aud) => core.getIDToken(aud) });
  const c = await client.cancel(id).catch((err: unknown) => {
    if (err instanceof DispatcherError && err.status === 404) return undefined;
    throw err;
  });
  if (!c) return core.info(`kbuild: dispatch ${id} is already gone`);
  const names = c.cancelled.map((b) => `${b.package}/${b.arch}`);
  core.info(
    `kbuild: cancelled dispatch ${id}, which the main step left running: ${names.length ? names.join(', ') : 'no build was still running'}`,
  );
}

/** post runs the post step; it never throws (a failed clean-up is a warning). */
export async function post(): Promise<void> {
  const untrace = traceHttp({ debug: (line) => core.debug(line) });
  try {
    const dispatch = parseSavedDispatch(core.getState(STATE.dispatch));
    if (dispatch) {
      if (core.getState(STATE.finished) === 'true')
        return core.info(`kbuild: dispatch ${dispatch.id} already ended`);
      return await cancelDispatch(dispatch.url, dispatch.id);
    }
    const saved = parseSavedBuild(core.getState(STATE.build));
    if (!saved) return core.info('kbuild: no build to clean up');
    if (core.getState(STATE.finished) === 'true')
      return core.info(`kbuild: ${saved.jobName} already ended`);
    if (!saved.watch)
      return core.info(`kbuild: ${saved.jobName} was created with watch: false; leaving it`);
    const { raw } = readInputs((name) => core.getInput(name), process.env);
    const auth = validateAuthConfig(raw as RawBuildInputs, { create: true });
    // The clients load only when there is a build to delete.
    const { connect } = await import('../core/build/connect.ts');
    const { deleteBuild } = await import('../core/build/create.ts');
    const clients = await connect(auth, {
      endpoints: endpointsFromEnv(process.env),
      getIdToken: (audience) => core.getIDToken(audience),
      mask: (s) => core.setSecret(s),
    });
    const existed = await deleteBuild(clients.kube, saved.namespace, saved.jobName, saved.kind);
    core.info(
      existed
        ? `kbuild: deleted ${saved.kind} ${saved.namespace}/${saved.jobName}, which the main step left running`
        : `kbuild: ${saved.jobName} is already gone`,
    );
  } catch (err) {
    core.warning(
      `kbuild-action post step could not clean up: ${err instanceof Error ? err.message : String(err)}`,
    );
  } finally {
    untrace();
  }
}
