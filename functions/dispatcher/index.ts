// index.ts: the Cloud Run functions entry point (`--entry-point=dispatcher`, build/dispatcher).
// Registering the function with the Functions Framework is all that happens at import; the
// configuration is read and checked on the first request, the cluster reached on first use.
import * as functions from '@google-cloud/functions-framework';
import type { Request, Response } from '@google-cloud/functions-framework';
import { createApp, type App } from './app.ts';
import { configFromEnv, connectJobs, type DispatcherConfig } from './config.ts';
import type { JobsApi } from './kube.ts';
import { jsonLogger, type Logger } from './log.ts';
import { TokenVerifier } from './tokens.ts';
import { readPodProgram } from '../../src/core/build/pod-program-file.ts';

/** ENTRY_POINT is the function's name for `gcloud functions deploy --entry-point`. */
export const ENTRY_POINT = 'dispatcher';

/** DispatcherOverrides replace parts for tests and the lab (token keys, cluster, logs). */
export interface DispatcherOverrides {
  verifier?: TokenVerifier;
  jobs?: () => Promise<JobsApi>;
  logger?: Logger;
  now?: () => number;
  /** podProgram answers the pod program's text (default: pod/index.js beside the bundle). */
  podProgram?: () => Promise<string | undefined>;
}

/**
 * createDispatcher builds the App of a configuration: a TokenVerifier for its issuer and
 * audience, and the cluster connected once, on the first request that needs it (a failed
 * connection is retried by the next request).
 */
export function createDispatcher(config: DispatcherConfig, o: DispatcherOverrides = {}): App {
  let jobs: Promise<JobsApi> | undefined;
  const connectOnce = (): Promise<JobsApi> => {
    jobs ??= connectJobs(config).catch((err: unknown) => {
      jobs = undefined;
      throw err;
    });
    return jobs;
  };
  // The pod program (dist/pod/index.js, copied to build/dispatcher/pod/ by scripts/build.mjs):
  // read once, on the first request with `upload: cluster`.
  let program: Promise<string | undefined> | undefined;
  const podProgram = o.podProgram ?? (() => (program ??= readPodProgram(import.meta.url)));
  return createApp({
    config,
    podProgram,
    verifier: o.verifier ?? new TokenVerifier({ issuer: config.issuer, audience: config.audience }),
    jobs: o.jobs ?? connectOnce,
    logger: o.logger ?? jsonLogger(),
    ...(o.now ? { now: o.now } : {}),
  });
}

/**
 * httpFunction adapts an App to the Functions Framework (Express request and response). The
 * framework has parsed a JSON body already; a body that is not JSON reaches the App as a string
 * and is refused as such.
 */
export function httpFunction(
  app: () => Promise<App>,
  logger: Logger,
): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    let handle: App;
    try {
      handle = await app();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      logger.log('CRITICAL', reason);
      res.status(500).json({ error: 'misconfigured', reason });
      return;
    }
    const body: unknown = req.body instanceof Buffer ? req.body.toString('utf8') : req.body;
    const answer = await handle({
      method: req.method,
      path: req.path,
      headers: req.headers,
      body: body === '' ? undefined : body,
    });
    res.status(answer.status).json(answer.body);
  };
}

let fromEnv: Promise<App> | undefined;

/** appFromEnv builds the App from process.env once; a configuration error fails every request. */
function appFromEnv(): Promise<App> {
  fromEnv ??= Promise.resolve().then(() => createDispatcher(configFromEnv(process.env)));
  return fromEnv;
}

/**
 * dispatcher is the HTTP function. It is registered with the Functions Framework and also
 * exported under the entry point's name, which the framework's loader falls back to.
 */
export const dispatcher = httpFunction(appFromEnv, jsonLogger());
functions.http(ENTRY_POINT, dispatcher);
