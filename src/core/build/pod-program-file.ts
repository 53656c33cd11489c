/**
 * pod-program-file.ts: where an entry point finds the pod program of `upload: cluster`
 * (manifest/pod-program.ts) and which endpoints the pod is given. Small on purpose: mode `build`
 * with `create: false` uses it without loading the Kubernetes client.
 */
import { readFile } from 'node:fs/promises';
import { DEFAULT_ENDPOINTS, type GoogleEndpoints } from '../google/endpoints.ts';
import type { PodEndpoints } from '../manifest/podspec.ts';

/**
 * POD_PROGRAM_PLACES are where the pod program bundle (dist/pod/index.js, scripts/build.mjs) is
 * looked for, relative to the module that asks: dist/main.js, a shared chunk in dist/chunks/,
 * the CLI in build/cli/, or the dispatcher in build/dispatcher/ (which carries a copy).
 */
const POD_PROGRAM_PLACES = ['pod/index.js', '../pod/index.js', '../../dist/pod/index.js'];

/**
 * readPodProgram reads the pod program bundle relative to an entry point's bundle URL
 * (`import.meta.url`); answers undefined when it is not there (running from sources).
 */
export async function readPodProgram(entryUrl: string): Promise<string | undefined> {
  for (const place of POD_PROGRAM_PLACES) {
    const text = await readFile(new URL(place, entryUrl), 'utf8').catch(() => undefined);
    if (text !== undefined) return text;
  }
  return undefined;
}

/**
 * podEndpointsOf: the pod reaches Cloud Storage where the runner does when that is an override
 * (the lab's stand-in, a private endpoint), else at Google's default (nothing to pass).
 */
export function podEndpointsOf(endpoints: GoogleEndpoints): PodEndpoints {
  return endpoints.storage === DEFAULT_ENDPOINTS.storage ? {} : { storage: endpoints.storage };
}
