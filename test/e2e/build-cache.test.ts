// build-cache.test.ts: the build cache through the bundled action on the lab (real images, the
// GKE metadata server stand-in, the GCS stand-in). A real Debian package, libpng, is built
// twice with its dependency tree kept in the cache (run-pipeline.sh's KBUILD_REPO): the first
// build compiles zlib and libpng and saves the cache, the second restores it (cache_hit: exact),
// compiles only libpng and is faster. A pull-request build restores its base branch's cache, but
// what it saves is never restored by a build of the default branch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { exampleWorkspace, labInputs, newRunId, runStep, type ActionRun } from './action.ts';
import { labEnv } from './lab.ts';

const KSA = 'kbuild-uploader';

const show = (run: ActionRun): string =>
  `stdout:\n${run.stdout.slice(-5000)}\nstderr:\n${run.stderr.slice(-2000)}`;

/** unique: a suffix no other run of this file used, so keys and repositories never collide. */
const unique = newRunId();

test('libpng twice: the first build saves its dependency tree, the second restores it exactly and is faster', async (t) => {
  const ws = exampleWorkspace(['zlib', 'libpng1.6']);
  t.after(() => rmSync(ws, { recursive: true, force: true }));
  const key = `libpng-deps-amd64-${unique}-zlib1.2.13`;
  const step = async (): Promise<{ run: ActionRun; seconds: number }> => {
    const begin = performance.now();
    const run = await runStep({
      workspace: ws,
      inputs: {
        ...labInputs(),
        image: 'buildpack-deps:bookworm',
        packages: 'libpng',
        arch: 'amd64',
        cpu: '2',
        memory: '2Gi',
        artifacts_path: 'packages/x86_64',
        bucket: labEnv()['KBUILD_LAB_BUCKET']!,
        service_account_name: KSA,
        env: 'KBUILD_REPO=/var/cache/kbuild/x86_64',
        cache_key: key,
        cache_restore_keys: `libpng-deps-amd64-${unique}-`,
      },
    });
    const seconds = (performance.now() - begin) / 1000;
    t.after(() => rmSync(run.runDir, { recursive: true, force: true }));
    assert.equal(run.code, 0, show(run));
    return { run, seconds };
  };

  const cold = await step();
  assert.equal(cold.run.outputs['cache_hit'], 'none', show(cold.run));
  assert.equal(cold.run.outputs['cache_key'], '');
  assert.match(
    cold.run.stdout,
    /dependency zlib has no artifact in packages\/x86_64: building it first/,
  );
  assert.match(
    cold.run.stdout,
    new RegExp(`Cache: saved key ${key} \\(\\d+\\.\\d MiB\\) in [\\d.]+ s`),
  );
  assert.match(cold.run.summary, /\| Cache \| no archive for `libpng-deps-amd64-[\w.-]+`; saved `/);

  const warm = await step();
  assert.equal(warm.run.outputs['cache_hit'], 'exact', show(warm.run));
  assert.equal(warm.run.outputs['cache_key'], key);
  assert.match(
    warm.run.stdout,
    /libpng: dependency zlib from \/var\/cache\/kbuild\/x86_64\/zlib-1\.2\.13-r0\.tar\.gz/,
  );
  assert.doesNotMatch(warm.run.stdout, /building it first/);
  assert.match(warm.run.stdout, /Cache: not saved: key .* was restored exactly/);
  assert.match(
    warm.run.summary,
    /\| Cache \| restored `libpng-deps-amd64-[\w.-]+` \(exact, [\d.]+ (KiB|MiB)\) in [\d.]+ s/,
  );
  t.diagnostic(
    `libpng cold ${cold.seconds.toFixed(1)} s, warm ${warm.seconds.toFixed(1)} s, speed-up ${(cold.seconds / warm.seconds).toFixed(2)}x`,
  );
  assert.ok(
    warm.seconds < cold.seconds,
    `warm ${warm.seconds} s is not faster than cold ${cold.seconds} s`,
  );
});

test('a pull request reads its base branch cache and writes its own; the default branch never restores it', async () => {
  // A repository of its own, so no other test's caches are in scope.
  const repository = { GITHUB_REPOSITORY_ID: `7${unique}` };
  const step = async (
    key: string,
    content: string,
    event: Record<string, string>,
  ): Promise<ActionRun> => {
    const run = await runStep({
      inputs: {
        ...labInputs(),
        image: 'debian:bookworm',
        name: 'cache-scope',
        package_target: '',
        context: '',
        cpu: '250m',
        memory: '256Mi',
        command: `sh -c 'cat /var/cache/kbuild/from 2>/dev/null || echo cold; echo ${content} > /var/cache/kbuild/from'`,
        bucket: labEnv()['KBUILD_LAB_BUCKET']!,
        service_account_name: KSA,
        cache_key: key,
        cache_restore_keys: 'scope-',
      },
      env: { ...repository, ...event },
    });
    assert.equal(run.code, 0, show(run));
    return run;
  };
  const push = { GITHUB_REF: 'refs/heads/main', GITHUB_EVENT_NAME: 'push' };
  const pr = {
    GITHUB_REF: 'refs/pull/5/merge',
    GITHUB_BASE_REF: 'main',
    GITHUB_HEAD_REF: 'feature',
    GITHUB_EVENT_NAME: 'pull_request',
  };
  const main1 = await step('scope-main-1', 'main', push);
  assert.equal(main1.outputs['cache_hit'], 'none');
  assert.match(main1.stdout, /Cache: saved key scope-main-1/);
  // The PR restores main's cache (a restore-key match in its base branch) and saves its own key.
  const pr1 = await step('scope-pr-1', 'pr', pr);
  assert.deepEqual(
    [pr1.outputs['cache_hit'], pr1.outputs['cache_key']],
    ['partial', 'scope-main-1'],
  );
  assert.match(pr1.stdout, /^main$/m);
  assert.match(pr1.stdout, /Cache: saved key scope-pr-1/);
  // The default branch asks for the PR's exact key: it is not in its scope; it gets its own.
  const main2 = await step('scope-pr-1', 'main', push);
  assert.deepEqual(
    [main2.outputs['cache_hit'], main2.outputs['cache_key']],
    ['partial', 'scope-main-1'],
  );
  assert.doesNotMatch(main2.stdout, /^pr$/m);
  // The PR itself restores what it saved.
  const pr2 = await step('scope-pr-1', 'pr', pr);
  assert.equal(pr2.outputs['cache_hit'], 'exact');
  assert.match(pr2.stdout, /^pr$/m);
});
