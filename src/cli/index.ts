#!/usr/bin/env node
/**
 * index.ts: the `kbuild` CLI (build/cli, `npm run build`): `kbuild run` and `kbuild render`
 * over the same core as the action. One top-level catch; SIGINT/SIGTERM
 * cancel the build and delete its Job.
 */
import { tmpdir } from 'node:os';
import { validateAuthConfig } from '../core/inputs/auth-config.ts';
import { listContext } from '../core/build/context.ts';
import { podEndpointsOf, readPodProgram } from '../core/build/pod-program-file.ts';
import { endpointsFromEnv } from '../core/google/endpoints.ts';
import { renderManifests, toYaml } from '../core/manifest/manifest.ts';
import { connectAndRunBuild } from '../core/build/run-build.ts';
import { validateBuildSpec } from '../core/inputs/spec.ts';
import { parseCliArgs, usage } from './args.ts';
import { cliContext } from './context.ts';
import { idTokenGetter } from './oidc.ts';
import { TerminalReporter } from './terminal.ts';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(usage());
    return command ? 0 : 2;
  }
  if (command !== 'run' && command !== 'render') {
    process.stderr.write(
      `kbuild: unknown command "${command}": use run or render (kbuild --help)\n`,
    );
    return 2;
  }
  const args = parseCliArgs(rest);
  if (args.help) {
    process.stdout.write(usage());
    return 0;
  }
  if (command === 'render') args.raw['create'] = 'false';
  const spec = validateBuildSpec(args.raw, cliContext(process.env, Date.now()));
  if (!spec.create) {
    const podProgram = await readPodProgram(import.meta.url);
    const endpoints = podEndpointsOf(endpointsFromEnv(process.env));
    process.stdout.write(
      toYaml(renderManifests(spec, { endpoints, ...(podProgram ? { podProgram } : {}) })),
    );
    return 0;
  }
  const auth = validateAuthConfig(args.raw, { create: true });
  if (spec.context) await listContext(spec.context);
  const reporter = new TerminalReporter(process.stdout, process.stderr, args.debug);
  const controller = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      reporter.warning(`${sig}: cancelling the build`);
      controller.abort(new Error(`cancelled by ${sig}`));
    });
  }
  const getIdToken = idTokenGetter(process.env);
  const result = await connectAndRunBuild(
    spec,
    {
      auth,
      connect: {
        endpoints: endpointsFromEnv(process.env),
        ...(getIdToken ? { getIdToken } : {}),
        mask: (s) => reporter.mask(s),
      },
      reporter,
      connected: (cluster) => `cluster ${cluster}, namespace ${spec.namespace}`,
      tempDir: tmpdir(),
      entryUrl: import.meta.url,
    },
    controller.signal,
  );
  if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  const line = `${result.status}${result.exitCode !== undefined ? ` (exit code ${result.exitCode})` : ''}`;
  if (result.status === 'succeeded' || result.status === 'created') {
    reporter.info(
      `${spec.jobName}: ${line}${result.artifactsUri ? `; artifacts in ${result.artifactsUri}` : ''}`,
    );
    return 0;
  }
  reporter.error(`${spec.jobName}: ${line}: ${result.message}`);
  return result.exitCode && result.exitCode > 0 ? result.exitCode : 1;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`kbuild: error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
