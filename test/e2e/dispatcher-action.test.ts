// dispatcher-action.test.ts: the bundled action's mode `dispatch` on the lab, against a
// dispatcher served on 127.0.0.1: real example packages built in dependency order from the
// checkout this step stages into every pod, each build's complete log in its own group (never
// interleaved), artifacts in GCS, one summary row per build; a failed build fails the step by
// name; SIGTERM cancels the dispatch.
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startLabDispatcher } from '../../lab/dispatcher.ts';
import type { LocalServer } from '../../functions/dispatcher/local.ts';
import { jsonLogger } from '../../functions/dispatcher/log.ts';
import {
  exampleWorkspace,
  gcloud,
  labInputs,
  newRunId,
  runStep,
  type StepOptions,
} from './action.ts';
import { createNamespace, deleteNamespace, waitFor } from './lab-kube.ts';
import { tokenEnv } from './dispatch-calls.ts';
import { kubectl, labEnv } from './lab.ts';

let server: LocalServer;
before(async () => {
  // The lab's service account may work in `default` only (lab/config/bootstrap.yaml).
  server = await startLabDispatcher({
    env: { KBUILD_NAMESPACE: 'default' },
    logger: jsonLogger(() => undefined),
  });
});
/** dispatches made by this file, deleted at the end (their Jobs keep a 7-day TTL otherwise). */
const dispatches = new Set<string>();
after(async () => {
  await server?.close();
  for (const id of dispatches)
    kubectl(['delete', 'jobs', '-l', `kbuild.dev/dispatch-id=${id}`, '--wait=false']);
});

interface Built {
  package: string;
  arch: string;
  status: string;
  job_name: string;
  message: string;
  exit_code: number | null;
  node_name: string;
  log_uri: string;
  artifacts: { name: string; size: number; sha256: string; uri: string }[];
}

// Writes one artifact and prints a few lines, so that logs and artifacts are per build.
const COMMAND = `sh -c 'mkdir -p packages && echo "$KBUILD_PACKAGES for $KBUILD_ARCH" > packages/$KBUILD_PACKAGES.txt; for i in 1 2 3; do echo "building $KBUILD_PACKAGES $KBUILD_ARCH line $i"; done; test "$KBUILD_PACKAGES" != broken'`;

function inputs(extra: Record<string, string>): Record<string, string> {
  return {
    ...labInputs(),
    mode: 'dispatch',
    dispatcher_url: server.url,
    // The dispatcher's namespace (above): the step follows and collects its builds there.
    namespace: 'default',
    image: 'debian:bookworm',
    command: COMMAND,
    package_target: '',
    cpu: '100m',
    memory: '128Mi',
    bucket: labEnv()['KBUILD_LAB_BUCKET']!,
    ...extra,
  };
}

/**
 * step runs the bundled action with a fresh run id, and ID tokens that carry it (the lab's
 * issuer would otherwise mint its default run_id, and runs would share their dispatches).
 */
async function step(o: StepOptions): Promise<Awaited<ReturnType<typeof runStep>>> {
  const runId = o.runId ?? newRunId();
  const run = await runStep({ ...o, runId, env: { ...o.env, ...(await tokenEnv(runId)) } });
  const builds = JSON.parse(run.outputs['builds'] ?? '[]') as { dispatch_id: string }[];
  for (const b of builds) dispatches.add(b.dispatch_id);
  return run;
}

/** groups answers the step log's groups: title and lines, and fails on a group opened inside another. */
function groups(stdout: string): { title: string; lines: string[] }[] {
  const out: { title: string; lines: string[] }[] = [];
  let open: { title: string; lines: string[] } | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('::group::')) {
      assert.equal(open, undefined, `group "${line}" opened inside "${open?.title}"`);
      open = { title: line.slice('::group::'.length), lines: [] };
    } else if (line === '::endgroup::') {
      if (open) out.push(open);
      open = undefined;
    } else if (open && !line.startsWith('::')) open.lines.push(line);
  }
  return out;
}

// amd64 only: arm64 compiles are emulated (qemu-user) and slow; action-build.test.ts builds zlib
// on arm64, and the next tests dispatch to both arches.
test('dispatch mode builds 3 real example packages in dependency order: the checkout staged into each, one log group each, artifacts in GCS, a summary row each', async (t) => {
  // A checkout like a user's: examples/ (Makefile, run-pipeline.sh, packages/*.yaml) plus the
  // Debian sources, staged by this step into every build pod (input `context`, default ".").
  const workspace = exampleWorkspace(['zlib', 'libpng1.6', 'hello']);
  t.after(() => rmSync(workspace, { recursive: true, force: true }));
  const run = await step({
    workspace,
    inputs: inputs({
      packages: 'zlib libpng hello',
      archs: 'amd64',
      // What plan mode outputs for these definitions (test/e2e/action-plan.test.ts).
      dependencies: '{"libpng": ["zlib"]}',
      // make and the compilers are in buildpack-deps, not in debian.
      image: 'buildpack-deps:bookworm',
      command: 'make',
      package_target: 'package/{package}',
      artifacts_path: 'out',
      cpu: '1',
      memory: '1Gi',
    }),
  });
  assert.equal(run.code, 0, `step failed:\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`);
  const builds = JSON.parse(run.outputs['builds'] ?? '[]') as Built[];
  assert.equal(builds.length, 3);
  const logs = groups(run.stdout);
  for (const b of builds) {
    const key = `${b.package}/${b.arch}`;
    assert.equal(b.status, 'succeeded', JSON.stringify(b));
    assert.equal(b.exit_code, 0);
    assert.match(b.node_name, new RegExp(`^gke-lab-${b.arch}-pool-`), key);
    assert.match(run.stdout, new RegExp(`^${key}: staged \\d+ files`, 'm'), `${key} staged`);
    const group = logs.filter((g) => g.title.startsWith(`Build output: ${key} `));
    assert.equal(group.length, 1, `one group for ${key}`);
    const lines = group[0]!.lines;
    assert.ok(
      lines.some((l) => new RegExp(`${b.package}: done in \\d+s`).test(l)),
      `${key}: the group holds the build's whole output:\n${lines.slice(-5).join('\n')}`,
    );
    // build.log in GCS is the same output, line for line.
    const stored = gcloud(['storage', 'cat', b.log_uri]).toString('utf8');
    assert.deepEqual(stored.split('\n').filter(Boolean), lines.filter(Boolean), `${key} build.log`);
    // The pipeline's package tarball, plus what its steps copy (zlib adds libz.so.*).
    assert.ok(
      b.artifacts.some((a) => new RegExp(`^${b.package}-[^/]+-r\\d+\\.tar\\.gz$`).test(a.name)),
      `${key}: ${JSON.stringify(b.artifacts.map((a) => a.name))}`,
    );
    for (const a of b.artifacts) {
      const bytes = gcloud(['storage', 'cat', a.uri]);
      assert.equal(bytes.length, a.size, `${key} ${a.name} size`);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), a.sha256, `${key} ${a.name}`);
    }
  }
  // libpng waited for zlib of its arch: its pod came only after zlib's Job completed.
  const dispatchId = (JSON.parse(run.outputs['builds'] ?? '[]') as { dispatch_id: string }[])[0]!
    .dispatch_id;
  const jobs = JSON.parse(
    kubectl(['get', 'jobs', '-l', `kbuild.dev/dispatch-id=${dispatchId}`, '-o', 'json']),
  ) as {
    items: {
      metadata: { labels: Record<string, string> };
      status: { startTime?: string; completionTime?: string };
    }[];
  };
  const job = (pkg: string, arch: string) =>
    jobs.items.find(
      (j) =>
        j.metadata.labels['kbuild.dev/package'] === pkg &&
        j.metadata.labels['kbuild.dev/arch'] === arch,
    )?.status;
  for (const arch of ['amd64']) {
    const zlibDone = Date.parse(job('zlib', arch)?.completionTime ?? '');
    const libpngStart = Date.parse(job('libpng', arch)?.startTime ?? '');
    assert.ok(
      libpngStart >= Math.floor(zlibDone / 1000) * 1000,
      `libpng/${arch} started ${job('libpng', arch)?.startTime}, zlib/${arch} completed ${job('zlib', arch)?.completionTime}`,
    );
  }
  const rows = run.summary.split('\n').filter((l) => /^\| (zlib|libpng|hello) \|/.test(l));
  assert.equal(rows.length, 3);
  assert.ok(
    rows.every((r) => r.includes('| succeeded (exit 0) |')),
    rows.join('\n'),
  );
});

test('dispatch mode fails naming the failed build; the others succeed', async () => {
  const run = await step({ inputs: inputs({ packages: 'good broken', archs: 'amd64' }) });
  assert.equal(run.code, 1);
  assert.match(
    run.stdout,
    /::error::1 of 2 builds did not succeed: broken \(amd64\) failed: build in pod kb-broken-amd64-[0-9a-f]+-\w+ exited with code 1/,
  );
  const builds = JSON.parse(run.outputs['builds'] ?? '[]') as Built[];
  assert.deepEqual(
    builds.map((b) => [b.package, b.status, b.exit_code]),
    [
      ['good', 'succeeded', 0],
      ['broken', 'failed', 1],
    ],
  );
});

/** SLEEPY: two builds that run until they are cancelled. */
const SLEEPY = () =>
  inputs({
    packages: 'sleepy',
    archs: 'amd64 arm64',
    command: `sh -c 'trap "exit 143" TERM; sleep 600 & wait'`,
    bucket: '',
  });

/** signalWhenRunning runs the step and sends it `signal` once both sleepy builds run. */
async function signalWhenRunning(
  signal: NodeJS.Signals,
  o: Partial<StepOptions> = {},
): Promise<{ run: Awaited<ReturnType<typeof runStep>>; sent: boolean }> {
  let child: ChildProcess | undefined;
  let sent = false;
  let seen = '';
  const running = (arch: string) => new RegExp(`sleepy/${arch}: (?:\\w+ -> )?running`).test(seen);
  const run = await step({
    inputs: SLEEPY(),
    ...o,
    onStdout: (chunk) => {
      seen += chunk;
      if (!sent && running('amd64') && running('arm64')) {
        sent = true;
        child?.kill(signal);
      }
    },
    onStart: (c) => (child = c),
  });
  return { run, sent };
}

test('SIGTERM cancels the dispatch: its Jobs are deleted', async () => {
  const { run, sent } = await signalWhenRunning('SIGTERM');
  assert.ok(sent, `never saw the builds run:\n${run.stdout.slice(-2000)}`);
  assert.equal(run.code, 1);
  assert.match(run.stdout, /cancelling dispatch [0-9a-f]{32}/);
  assert.match(run.stdout, /Cancelled \d builds/);
  const builds = JSON.parse(run.outputs['builds'] ?? '[]') as Built[];
  const left = builds.flatMap(
    (b) => kubectl(['get', 'jobs', b.job_name, '--ignore-not-found', '-o', 'name']).trim() || [],
  );
  assert.deepEqual(left, [], 'the dispatch left Jobs behind');
});

test('after a main step killed with SIGKILL, the post step cancels the dispatch (DELETE)', async () => {
  const runId = newRunId();
  const { run: main, sent } = await signalWhenRunning('SIGKILL', { runId });
  assert.ok(sent, `never saw the builds run:\n${main.stdout.slice(-2000)}`);
  assert.equal(main.signal, 'SIGKILL');
  const saved = JSON.parse(main.state['dispatch'] ?? '{}') as { id?: string; url?: string };
  assert.match(saved.id ?? '', /^[0-9a-f]{32}$/, JSON.stringify(main.state));
  assert.equal(saved.url, server.url);
  assert.equal(main.state['finished'], undefined, 'the main step did not finish');
  dispatches.add(saved.id!);
  const selector = `kbuild.dev/dispatch-id=${saved.id}`;
  const jobs = () => kubectl(['get', 'jobs', '-l', selector, '-o', 'name']).trim();
  assert.equal(jobs().split('\n').length, 2, 'a killed main step cannot cancel: both Jobs run on');

  const post = await runStep({
    entry: 'post',
    inputs: SLEEPY(),
    runId,
    env: await tokenEnv(runId),
    state: main.state,
  });
  assert.equal(post.code, 0, `post step failed:\n${post.stdout}\n${post.stderr}`);
  assert.match(
    post.stdout,
    new RegExp(
      `cancelled dispatch ${saved.id}, which the main step left running: sleepy/(amd64|arm64), sleepy/(amd64|arm64)`,
    ),
  );
  assert.doesNotMatch(post.stdout, /::warning::/);
  for (let i = 0; jobs() !== ''; i++) {
    assert.ok(i < 100, `Jobs still there 10 s after the post step: ${jobs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

test("without the builder's Role in the dispatcher's namespace: the step names what is missing and cancels the dispatch", async (t) => {
  // A dispatcher whose namespace the step's identity has no Role in (the lab's builder may work
  // in `default` only): the Jobs are created (by the dispatcher), then cancelled by the step.
  const ns = await createNamespace('kb-noperm');
  const other = await startLabDispatcher({
    env: { KBUILD_NAMESPACE: ns },
    logger: jsonLogger(() => undefined),
  });
  t.after(async () => {
    await other.close();
    deleteNamespace(ns);
  });
  const run = await step({
    inputs: { ...SLEEPY(), dispatcher_url: other.url, bucket: labEnv()['KBUILD_LAB_BUCKET']! },
  });
  assert.equal(run.code, 1, run.stdout.slice(-2000));
  assert.match(
    run.stdout,
    new RegExp(
      `::error::kbuild-action failed: the identity of this step is missing Kubernetes permissions in namespace "${ns}": list pods, get pods/log, create pods/exec, get pods/exec, delete batch/jobs\\.`,
    ),
  );
  const left = await waitFor('the cancelled Jobs to go', 30_000, () => {
    const jobs = kubectl(['get', 'jobs', '-n', ns, '-o', 'name']).trim();
    return jobs === '' ? true : undefined;
  });
  assert.equal(left, true);
});
