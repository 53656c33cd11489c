/**
 * main.ts: kbuild's pod program, run by `node /kbuild/kbuild-pod.mjs COMMAND` in containers of a
 * build pod (image node:24-slim; manifest/pod-program.ts has the contract). Commands:
 * `check` (the `preflight` init container: can this pod's identity use the bucket?), `stage`
 * (the `fetch` init container: the context archive into /workspace) and `upload` (the `uploader`
 * container: store the artifacts once the build ends). It is bundled on
 * its own (dist/pod/index.js, a few dozen KB) and imports neither the Kubernetes client nor the
 * Google SDKs. A failure is printed to stderr and written to the termination message
 * (/dev/termination-log), which the runner shows; the exit code is then 1.
 */
import { writeFileSync } from 'node:fs';
import { cacheEnvFrom, runCacheRestore, runCacheSave } from './cache.ts';
import { checkEnvFrom, runCheck } from './check.ts';
import { runStage, stageEnvFrom } from './stage.ts';
import { runUpload, uploadEnvFrom } from './upload.ts';

/** TERMINATION_LOG is Kubernetes' default terminationMessagePath (at most 4096 bytes are kept). */
const TERMINATION_LOG = '/dev/termination-log';

async function main(command: string | undefined): Promise<void> {
  process.once('SIGTERM', () => process.exit(143));
  if (command === 'check') {
    console.log(await runCheck(checkEnvFrom(process.env)));
  } else if (command === 'stage') {
    console.log(await runStage(stageEnvFrom(process.env)));
  } else if (command === 'upload') {
    await runUpload(uploadEnvFrom(process.env), (line) => console.log(line));
  } else if (command === 'cache-restore') {
    console.log(await runCacheRestore(cacheEnvFrom(process.env), (line) => console.log(line)));
  } else if (command === 'cache-save') {
    console.log(await runCacheSave(cacheEnvFrom(process.env), (line) => console.log(line)));
  } else {
    throw new Error(
      `unknown command ${JSON.stringify(command)}: use check, stage, upload, cache-restore or cache-save`,
    );
  }
}

main(process.argv[2]).catch((err: unknown) => {
  const message = `kbuild: ${err instanceof Error ? err.message : String(err)}`;
  console.error(message);
  try {
    writeFileSync(TERMINATION_LOG, message.slice(0, 4000));
  } catch {
    // No termination log outside Kubernetes: stderr has the message.
  }
  process.exitCode = 1;
});
