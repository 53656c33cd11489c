/**
 * entry-main.ts: the action's main step (action.yml `runs.main`, dist/main.js).
 * It checks the Node version before loading the rest of the action (ESM
 * static imports are evaluated before a module's own code, so main.ts is
 * loaded by a dynamic import once the check passed; node-version.ts).
 */
import { startStep } from './node-version.ts';

await startStep(async () => (await import('./main.ts')).main);
// The step never hangs: every wait of a build has a deadline, and should something still hold the
// event loop once the step has ended (an idle keep-alive socket, a library's timer), the process
// exits anyway, with the exit code already set. The timer itself never keeps the process alive.
setTimeout(() => {
  process.stdout.write('::debug::the step ended with handles still open; exiting\n');
  process.exit();
}, 5000).unref();
