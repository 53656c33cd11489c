// action-cancel.test.ts: a cancelled workflow leaves no build running. SIGTERM
// to the running main step (what a runner sends on cancellation) deletes the
// Job and its pods within seconds; a main step killed with SIGKILL leaves its
// Job behind, and the post step, given the state the main step saved, deletes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { labInputs, newRunId, runStep, type ActionRun } from './action.ts';
import { kubectl } from './lab.ts';

/** NAMESPACE is the default of the `namespace` input, which these steps leave out. */
const NAMESPACE = 'kbuild';

/** Running: a main step whose build container has started. */
interface Running {
  child: ChildProcess;
  done: Promise<ActionRun>;
  jobName: string;
  inputs: Record<string, string>;
  runId: string;
}

/** startBuild starts a main step running `sleep 300` and resolves once the build container runs. */
async function startBuild(): Promise<Running> {
  const inputs = { ...labInputs(), image: 'debian:bookworm', context: '', command: 'sleep 300' };
  const runId = newRunId();
  let out = '';
  let child: ChildProcess | undefined;
  let started: () => void = () => undefined;
  const buildStarted = new Promise<void>((resolve) => (started = resolve));
  const done = runStep({
    inputs,
    runId,
    onStart: (c) => (child = c),
    onStdout: (chunk) => {
      out += chunk;
      if (/^Build started on node /m.test(out)) started();
    },
  });
  const ended = done.then((r) => {
    throw new Error(`the step ended before the build started:\n${r.stdout}\n${r.stderr}`);
  });
  await Promise.race([buildStarted, ended]);
  const jobName = new RegExp(`^Created Job ${NAMESPACE}/(kb-[a-z0-9-]+) `, 'm').exec(out)?.[1];
  assert.ok(child && jobName, `no Job in the step log:\n${out}`);
  return { child, done, jobName, inputs, runId };
}

function jobExists(name: string): boolean {
  try {
    kubectl(['get', 'job', '-n', NAMESPACE, name, '-o', 'name']);
    return true;
  } catch (err) {
    if (/NotFound/.test((err as Error).message)) return false;
    throw err;
  }
}

function podsOf(jobName: string): string[] {
  const out = kubectl(['get', 'pods', '-n', NAMESPACE, '-l', `job-name=${jobName}`, '-o', 'name']);
  return out.split('\n').filter(Boolean);
}

/** secondsUntil polls check until it holds; answers the seconds since `from`, or fails after limitS. */
async function secondsUntil(
  from: number,
  limitS: number,
  what: string,
  check: () => boolean,
): Promise<number> {
  while (!check()) {
    if ((performance.now() - from) / 1000 > limitS) assert.fail(`${what} after ${limitS} s`);
    await sleep(100);
  }
  return (performance.now() - from) / 1000;
}

test('SIGTERM to the main step deletes the Job and its pods within 5 s', async (t) => {
  const b = await startBuild();
  assert.ok(jobExists(b.jobName), 'the Job exists while the build runs');
  assert.ok(podsOf(b.jobName).length > 0, 'the build pod exists while the build runs');
  const signalled = performance.now();
  b.child.kill('SIGTERM');
  const jobGone = await secondsUntil(
    signalled,
    30,
    'the Job still exists',
    () => !jobExists(b.jobName),
  );
  const podsGone = await secondsUntil(
    signalled,
    30,
    'pods still exist',
    () => podsOf(b.jobName).length === 0,
  );
  const run = await b.done;
  const exited = (performance.now() - signalled) / 1000;
  t.diagnostic(
    `SIGTERM -> Job NotFound ${jobGone.toFixed(1)} s, pods gone ${podsGone.toFixed(1)} s, step exited ${exited.toFixed(1)} s`,
  );
  assert.ok(jobGone <= 5, `Job deleted after ${jobGone.toFixed(1)} s`);
  assert.ok(podsGone <= 5, `pods deleted after ${podsGone.toFixed(1)} s`);
  assert.notEqual(run.code, 0, 'a cancelled step fails');
  assert.equal(run.outputs['status'], 'cancelled');
  assert.match(run.stdout, /received SIGTERM: cancelling the build/);
  assert.match(run.stdout, new RegExp(`Deleted Job ${NAMESPACE}/${b.jobName}`));
});

test('after a main step killed with SIGKILL, the post step deletes the build', async (t) => {
  const b = await startBuild();
  b.child.kill('SIGKILL');
  const main = await b.done;
  assert.equal(main.signal, 'SIGKILL');
  assert.ok(jobExists(b.jobName), 'a killed main step cannot clean up: the Job is still there');
  assert.ok(main.state['build'], `the main step saved no state: ${JSON.stringify(main.state)}`);
  assert.equal(main.state['finished'], undefined, 'the main step did not finish');

  const started = performance.now();
  const post = await runStep({
    entry: 'post',
    inputs: b.inputs,
    runId: b.runId,
    state: main.state,
  });
  const postSeconds = (performance.now() - started) / 1000;
  assert.equal(post.code, 0, `post step failed:\n${post.stdout}\n${post.stderr}`);
  assert.match(
    post.stdout,
    new RegExp(`deleted job ${NAMESPACE}/${b.jobName}, which the main step left running`),
  );
  assert.doesNotMatch(post.stdout, /::warning::/);
  assert.equal(jobExists(b.jobName), false, 'the Job is gone when the post step ends');
  const podsGone = await secondsUntil(
    started,
    60,
    'pods still exist',
    () => podsOf(b.jobName).length === 0,
  );
  t.diagnostic(
    `post step ran ${postSeconds.toFixed(1)} s; pods gone ${podsGone.toFixed(1)} s after it started`,
  );

  // A second post step (a re-run) finds nothing left to delete.
  const again = await runStep({
    entry: 'post',
    inputs: b.inputs,
    runId: b.runId,
    state: main.state,
  });
  assert.equal(again.code, 0);
  assert.match(again.stdout, new RegExp(`${b.jobName} is already gone`));
});
