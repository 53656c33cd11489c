/**
 * entry-post.ts: the action's post step (action.yml `runs.post`, dist/post.js).
 * Like entry-main.ts, it checks the Node version before loading post.ts; main
 * and post share the bundle's chunks (scripts/build.mjs).
 */
import { startStep } from './node-version.ts';

await startStep(async () => (await import('./post.ts')).post);
