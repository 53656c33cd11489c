/**
 * entry-main.ts: the action's main step (action.yml `runs.main`, dist/main.js).
 * It checks the Node version before loading the rest of the action (ESM
 * static imports are evaluated before a module's own code, so main.ts is
 * loaded by a dynamic import once the check passed; node-version.ts).
 */
import { startStep } from './node-version.ts';

await startStep(async () => (await import('./main.ts')).main);
