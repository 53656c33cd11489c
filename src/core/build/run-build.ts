/**
 * run-build.ts: the wiring mode `build` of the action and `kbuild run` share: connect to the
 * cluster and the bucket of a validated spec (connect.ts), then run the build (lifecycle.ts).
 * The entry points keep what differs: how they get OIDC tokens and mask secrets, their reporter,
 * their message once connected, their temporary directory and what they remember of the build.
 */
import type { AuthConfig } from '../inputs/auth-config.ts';
import { needsPodProgram } from '../manifest/podspec.ts';
import { podEndpointsOf, readPodProgram } from './pod-program-file.ts';
import { connect, type ConnectOptions } from './connect.ts';
import { runBuild, type BuildDeps } from './lifecycle.ts';
import type { BuildResult } from './record.ts';
import { systemClock, type Reporter } from '../base/report.ts';
import { traceHttp } from '../base/http-trace.ts';
import type { BuildSpec } from '../inputs/spec.ts';
import { autopilotIssues } from '../inputs/scheduling.ts';
import { InputError } from '../base/errors.ts';

/** ConnectedBuildOptions: how to connect, where to report, and the entry point's hooks. */
export interface ConnectedBuildOptions {
  auth: AuthConfig;
  /** connect: endpoints, OIDC tokens and masking (the bucket comes from the spec). */
  connect: Omit<ConnectOptions, 'bucket'>;
  reporter: Reporter;
  /** connected: the line reported once connected, from the cluster's name (Clients.clusterName). */
  connected: (clusterName: string) => string;
  /** tempDir: a directory outside the workspace for the build log copy (RUNNER_TEMP). */
  tempDir: string;
  onCreated?: BuildDeps['onCreated'];
  /**
   * entryUrl: `import.meta.url` of the entry point's bundle (dist/main, dist/cli); the pod
   * program of `upload: cluster` is read from `../pod/index.js` beside it (readPodProgram).
   */
  entryUrl?: string;
}

/**
 * connectAndRunBuild connects (credentials, the GKE lookup, the object store when the spec has
 * a bucket), refuses on an Autopilot cluster what Autopilot refuses (autopilotIssues; an
 * InputError before anything is created), reports o.connected, and runs the build with the
 * system clock. Throws what connect and runBuild throw (errors before anything was created); a
 * failed build is a result. Every HTTP request meanwhile is reported to o.reporter.debug, when it
 * has one (base/http-trace.ts).
 */
export async function connectAndRunBuild(
  spec: BuildSpec,
  o: ConnectedBuildOptions,
  signal: AbortSignal,
): Promise<BuildResult> {
  const { debug } = o.reporter;
  const untrace = debug ? traceHttp({ debug: (line) => debug.call(o.reporter, line) }) : undefined;
  try {
    return await connectAndRun(spec, o, signal);
  } finally {
    untrace?.();
  }
}

async function connectAndRun(
  spec: BuildSpec,
  o: ConnectedBuildOptions,
  signal: AbortSignal,
): Promise<BuildResult> {
  const clients = await connect(o.auth, {
    ...o.connect,
    ...(spec.bucket ? { bucket: spec.bucket } : {}),
    onRetry: (e) => {
      o.reporter.info(e.line);
      o.reporter.debug?.(
        `retry of ${e.what}: ${e.error instanceof Error ? e.error.message : String(e.error)}`,
      );
    },
    notify: (line) => o.reporter.warning(line),
  });
  if (clients.autopilot) {
    const issues = autopilotIssues(spec, clients.clusterName);
    if (issues.length > 0)
      throw InputError.of(issues.map(([input, message]) => ({ input, message })));
  }
  o.reporter.info(o.connected(clients.clusterName));
  const podProgram =
    needsPodProgram(spec) && o.entryUrl ? await readPodProgram(o.entryUrl) : undefined;
  return runBuild(
    spec,
    {
      kube: clients.kube,
      reachability: clients.reachability,
      ...(clients.store ? { store: clients.store } : {}),
      reporter: o.reporter,
      clock: systemClock,
      tempDir: o.tempDir,
      ...(o.onCreated ? { onCreated: o.onCreated } : {}),
      ...(podProgram ? { podProgram } : {}),
      podEndpoints: podEndpointsOf(o.connect.endpoints),
    },
    signal,
  ).finally(() => clients.reachability.close());
}
