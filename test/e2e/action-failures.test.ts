// action-failures.test.ts: the bundled action fails a step for each way a
// build can go wrong on the lab, says why in the error annotation, reports the
// status output, and leaves no Job behind: a build that exits 2, an image that
// cannot be pulled (diagnosed within 60 s), a command the image lacks, an
// image name the kubelet refuses,
// a pod that cannot be scheduled (failed after pending_timeout, with the
// scheduler's message), and a build that runs past its timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labInputs, runStep, type ActionRun } from './action.ts';
import { errorText } from './annotations.ts';
import { kubectl } from './lab.ts';

/** failStep runs a build that must fail; answers the run and its wall time in seconds. */
async function failStep(
  inputs: Record<string, string>,
): Promise<{ run: ActionRun; seconds: number; error: string }> {
  const started = performance.now();
  const run = await runStep({
    inputs: { ...labInputs(), image: 'debian:bookworm', context: '', ...inputs },
  });
  const seconds = (performance.now() - started) / 1000;
  const show = `stdout:\n${run.stdout.slice(-4000)}\nstderr:\n${run.stderr.slice(-2000)}`;
  assert.notEqual(run.code, 0, `the step succeeded:\n${show}`);
  const error = errorText(run);
  assert.notEqual(error, '', `no ::error:: line:\n${show}`);
  // The build is cleaned up: no Job, no pod left with its build id.
  const id = run.outputs['build_id'] ?? '';
  assert.match(id, /^[0-9a-f]{32}$/, `build_id output: ${show}`);
  assert.equal(
    kubectl(['get', 'jobs,secrets', '-A', '-l', `kbuild.dev/build-id=${id}`, '-o', 'name']).trim(),
    '',
    'objects left behind',
  );
  return { run, seconds, error };
}

test('a build that exits 2 fails the step with exit code 2 and its last lines', async () => {
  const { run, error } = await failStep({
    command: "sh -c 'echo step one; echo about to fail >&2; exit 2'",
  });
  assert.equal(run.code, 2, 'the step exits with the build status');
  assert.equal(run.outputs['status'], 'failed');
  assert.equal(run.outputs['exit_code'], '2');
  assert.match(error, /exited with code 2/);
  assert.match(error, /Last lines of the build:[\s\S]*step one/);
  assert.match(error, /Last lines of the build:[\s\S]*about to fail/);
  assert.match(run.summary, /failed \(exit code 2\)/);
});

for (const image of ['lab.invalid/pull-error:1', 'no-such-registry.example/nothing:1']) {
  test(`an image that cannot be pulled (${image}) fails within 60 s, naming the pull error`, async (t) => {
    const { run, seconds, error } = await failStep({ image });
    t.diagnostic(`pull error diagnosed in ${seconds.toFixed(1)} s`);
    assert.ok(seconds < 60, `took ${seconds.toFixed(1)} s`);
    assert.equal(run.outputs['status'], 'failed');
    assert.equal(run.outputs['exit_code'], '');
    const quoted = image.replace(/[./]/g, (c) => `\\${c}`);
    assert.match(error, new RegExp(`(ErrImagePull|ImagePullBackOff) \\(image ${quoted}\\)`));
    assert.match(error, /not found/, 'the registry answer is in the message');
  });
}

test('a command the image does not have fails the step, naming it (StartError)', async () => {
  // debian:bookworm has no make: the build image must hold the command's tools.
  const { run, error } = await failStep({ command: 'make --version' });
  assert.equal(run.outputs['status'], 'failed');
  assert.match(error, /exec: "make": executable file not found in \$PATH/);
});

test('an image name the kubelet refuses fails with InvalidImageName', async (t) => {
  // A well-formed path the action accepts, but the kubelet's reference parser
  // (distribution/reference ParseNormalizedNamed) refuses 64-hex repository names.
  const image = 'f'.repeat(64);
  const { run, seconds, error } = await failStep({ image });
  t.diagnostic(`InvalidImageName diagnosed in ${seconds.toFixed(1)} s`);
  assert.ok(seconds < 60, `took ${seconds.toFixed(1)} s`);
  assert.equal(run.outputs['status'], 'failed');
  assert.match(error, /InvalidImageName/);
  assert.match(error, /cannot specify 64-byte hexadecimal strings/);
});

test('an unschedulable build fails after pending_timeout with the scheduler message', async (t) => {
  const { run, seconds, error } = await failStep({ cpu: '64', pending_timeout: '20s' });
  t.diagnostic(`unschedulable build failed after ${seconds.toFixed(1)} s (pending_timeout 20s)`);
  assert.ok(seconds >= 20, `failed before the pending timeout: ${seconds.toFixed(1)} s`);
  assert.equal(run.outputs['status'], 'failed');
  assert.match(error, /unschedulable after 20s/);
  assert.match(error, /Insufficient cpu/);
});

test('a build past its timeout ends timed_out', async (t) => {
  const { run, seconds, error } = await failStep({ command: 'sleep 300', timeout: '15s' });
  t.diagnostic(`timed out after ${seconds.toFixed(1)} s (timeout 15s)`);
  // activeDeadlineSeconds counts from the Job's status.startTime, which the API stores to the
  // second (metav1.Time): the deadline may fall up to 1 s before 15 s after the real start.
  assert.ok(seconds >= 14, `ended before the deadline: ${seconds.toFixed(1)} s`);
  assert.equal(run.outputs['status'], 'timed_out');
  assert.match(error, /timed out/);
  assert.match(error, /raise input "timeout"/);
  assert.match(run.summary, /timed_out/);
});
