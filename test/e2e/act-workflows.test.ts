// act-workflows.test.ts: example workflows run under a real runner that
// nobody here wrote, nektos/act (scripts/act.sh, pinned), in host mode with
// Node 24 first on PATH, against the lab. Only the lab's provider, service
// account, cluster, bucket and dispatcher URL are substituted (repository
// variables and the runner's OIDC endpoint), and `uses:` points at this
// checkout's action (act copies a local action; it cannot fetch
// YOUR_ORG/kbuild-action). The pull-request examples run their real path on a
// same-repository pull request whose commit changes packages/hello.yaml: plan
// lists the pull request's files from the lab's GitHub API stand-in
// (lab/github-api.ts, reached through GITHUB_API_URL as on GitHub Enterprise
// Server), and the builds run on both arches (the examples' `archs: amd64
// arm64`), the dispatcher's through lab/dispatcher.ts as kbuild-dispatcher@.
// The push examples run one matrix entry each, to keep the lab's two cores to
// one build.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startGitHubApi } from '../../lab/github-api.ts';
import { startLabDispatcher } from '../../lab/dispatcher.ts';
import { jsonLogger } from '../../functions/dispatcher/log.ts';
import { exampleWorkspace, gcloud, newRunId } from './action.ts';
import { kubectl, labEnv, labIssuer } from './lab.ts';

const ROOT = resolve(import.meta.dirname, '../..');
/** scratch lists the workspaces and files the tests made; removed when the file ends. */
const scratch: string[] = [];
after(() => {
  for (const p of scratch) rmSync(p, { recursive: true, force: true });
});
const NODE_BIN = resolve(ROOT, 'node_modules/node/bin');

interface ActRun {
  code: number | null;
  output: string;
}

/**
 * runAct runs `bash scripts/act.sh args` in dir and answers its exit code and output. The
 * runner gets this process's environment with Node 24 first on PATH, less the Application
 * Default Credentials that a dispatcher started here puts into it (lab/dispatcher.ts --gke).
 */
function runAct(dir: string, args: string[]): Promise<ActRun> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${NODE_BIN}:${process.env['PATH'] ?? ''}`,
  };
  delete env['GOOGLE_APPLICATION_CREDENTIALS'];
  delete env['GOOGLE_CLOUD_PROJECT'];
  return new Promise((done, reject) => {
    const child = spawn('bash', [resolve(ROOT, 'scripts/act.sh'), ...args], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (output += b.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => done({ code, output }));
  });
}

/**
 * workspaceFor makes a repository from examples/ (with the hello source) that
 * holds this checkout's action under .kbuild-action/ and the example workflow
 * (or `text`, saved under that name) with `uses:` pointed at it; a remote of its own gives the run its own
 * repository name, so Job names and GCS prefixes of runs never collide.
 */
async function workspaceFor(workflow: string, repo: string, text?: string): Promise<string> {
  const ws = exampleWorkspace(['hello']);
  scratch.push(ws);
  rmSync(join(ws, 'workflows'), { recursive: true, force: true });
  mkdirSync(join(ws, '.kbuild-action'));
  cpSync(join(ROOT, 'action.yml'), join(ws, '.kbuild-action/action.yml'));
  cpSync(join(ROOT, 'dist'), join(ws, '.kbuild-action/dist'), { recursive: true });
  mkdirSync(join(ws, '.github/workflows'), { recursive: true });
  const yaml = text ?? readFileSync(join(ROOT, 'examples/workflows', workflow), 'utf8');
  assert.match(yaml, /uses: YOUR_ORG\/kbuild-action@v1/);
  writeFileSync(
    join(ws, '.github/workflows', workflow),
    yaml.replaceAll('uses: YOUR_ORG/kbuild-action@v1', 'uses: ./.kbuild-action'),
  );
  const who = ['-c', 'user.email=e2e@kbuild.invalid', '-c', 'user.name=e2e'];
  await gitSync(ws, ['remote', 'add', 'origin', `https://github.com/${repo}.git`]);
  await gitSync(ws, ['add', '-A']);
  await gitSync(ws, [...who, 'commit', '-qm', `${workflow} with the lab's action`]);
  return ws;
}

/** gitSync runs git in ws and throws on failure. */
async function gitSync(ws: string, args: string[]): Promise<void> {
  await new Promise<void>((done, reject) => {
    const c = spawn('git', ['-C', ws, ...args], { stdio: 'ignore' });
    c.on('close', (code) => (code === 0 ? done() : reject(new Error(`git ${args.join(' ')}`))));
  });
}

/**
 * envFile writes the runner's OIDC endpoint (tokens with claims), the lab's endpoint overrides
 * and `extra` (the runner's GITHUB_API_URL, GITHUB_RUN_ID).
 */
async function envFile(
  ws: string,
  claims: Record<string, string>,
  extra: Record<string, string> = {},
): Promise<string> {
  const env = labEnv();
  const runner = await labIssuer<{ requestToken: string; requestUrl: string }>(
    '/_lab/request-tokens',
    { claims },
  );
  const lines = [
    `ACTIONS_ID_TOKEN_REQUEST_URL=${runner.requestUrl}`,
    `ACTIONS_ID_TOKEN_REQUEST_TOKEN=${runner.requestToken}`,
    ...Object.entries(env)
      .filter(([k]) => /^(CLOUDSDK_API_ENDPOINT_OVERRIDES_|STORAGE_EMULATOR_HOST$)/.test(k))
      .map(([k, v]) => `${k}=${v}`),
    ...Object.entries(extra).map(([k, v]) => `${k}=${v}`),
  ];
  const file = join(ws, '..', `${ws.split('/').pop()}.env`);
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  scratch.push(file);
  return file;
}

/** vars are the repository variables of the examples, pointed at the lab (and its dispatcher). */
function vars(dispatcherUrl?: string): string[] {
  const env = labEnv();
  const v: Record<string, string> = {
    KBUILD_WORKLOAD_IDENTITY_PROVIDER: env['KBUILD_LAB_WORKLOAD_IDENTITY_PROVIDER']!,
    KBUILD_SERVICE_ACCOUNT: env['KBUILD_LAB_SERVICE_ACCOUNT']!,
    KBUILD_RELEASE_SERVICE_ACCOUNT: 'kbuild-release@kbuild-lab.iam.gserviceaccount.com',
    KBUILD_CLUSTER: env['KBUILD_LAB_CLUSTER']!,
    KBUILD_LOCATION: env['KBUILD_LAB_LOCATION']!,
    KBUILD_BUCKET: env['KBUILD_LAB_BUCKET']!,
    ...(dispatcherUrl ? { KBUILD_DISPATCHER_URL: dispatcherUrl } : {}),
  };
  return Object.entries(v).flatMap(([k, x]) => ['--var', `${k}=${x}`]);
}

const run = `act${Date.now() % 1_000_000}`;

/** pullRequestArgs are act's arguments for a pull_request event (payload file `event`) on `workflow`. */
function pullRequestArgs(event: string, workflow: string, envPath: string): string[] {
  return [
    'pull_request',
    '-e',
    event,
    '-W',
    `.github/workflows/${workflow}`,
    '-P',
    'ubuntu-latest=-self-hosted',
    '--env-file',
    envPath,
  ];
}

test("README.md's minimal workflow builds hello for amd64 under act", async () => {
  // The README's block is a job without `on:`; its provider, service account, cluster,
  // location and bucket are literal examples: only those are replaced by the lab's.
  const env = labEnv();
  const block = /## Minimal workflow[\s\S]*?```yaml\n([\s\S]*?)```/.exec(
    readFileSync(join(ROOT, 'README.md'), 'utf8'),
  )?.[1];
  assert.ok(block, 'README.md has a "Minimal workflow" yaml block');
  const lab: [RegExp, string][] = [
    [
      /workload_identity_provider: .*/,
      `workload_identity_provider: ${env['KBUILD_LAB_WORKLOAD_IDENTITY_PROVIDER']}`,
    ],
    [/service_account: .*/, `service_account: ${env['KBUILD_LAB_SERVICE_ACCOUNT']}`],
    [/cluster: .*/, `cluster: ${env['KBUILD_LAB_CLUSTER']}`],
    [/location: .*/, `location: ${env['KBUILD_LAB_LOCATION']}`],
    [/bucket: .*/, `bucket: ${env['KBUILD_LAB_BUCKET']}`],
  ];
  let workflow = `name: readme\non: push\n${block}`;
  for (const [re, value] of lab) {
    assert.match(workflow, re);
    workflow = workflow.replace(re, value);
  }
  const ws = await workspaceFor('build-matrix.yml', `kbuild-lab/${run}-readme`, workflow);
  const envPath = await envFile(ws, { ref: 'refs/heads/main', event_name: 'push' });
  const r = await runAct(ws, [
    'push',
    '-W',
    '.github/workflows/build-matrix.yml',
    '-P',
    'ubuntu-latest=-self-hosted',
    '--env-file',
    envPath,
    '--matrix',
    'arch:amd64',
  ]);
  assert.equal(r.code, 0, r.output.slice(-4000));
  assert.match(r.output, /Created Job kbuild\/kb-hello-amd64-/);
  assert.match(r.output, /🏁 {2}Job succeeded/);
});

test('build-matrix.yml: a push to main builds hello for amd64 under act', async () => {
  const ws = await workspaceFor('build-matrix.yml', `kbuild-lab/${run}-matrix`);
  const env = await envFile(ws, { ref: 'refs/heads/main', event_name: 'push' });
  const r = await runAct(ws, [
    'push',
    '-W',
    '.github/workflows/build-matrix.yml',
    '-P',
    'ubuntu-latest=-self-hosted',
    '--env-file',
    env,
    ...vars(),
    '--matrix',
    'package:hello',
    '--matrix',
    'arch:amd64',
  ]);
  assert.equal(r.code, 0, r.output.slice(-4000));
  assert.match(r.output, /Created Job kbuild\/kb-hello-amd64-/);
  assert.match(
    r.output,
    /build succeeded on gke-lab-amd64-pool-[0-9a-z-]+; artifacts in gs:\/\/kbuild-lab-artifacts\//,
  );
  assert.match(r.output, /🏁 {2}Job succeeded/);
});

test('release-build.yml: a tag push builds with the release account under act', async () => {
  const ws = await workspaceFor('release-build.yml', `kbuild-lab/${run}-release`);
  // The OIDC token of a tag push: only it may impersonate the release account.
  const env = await envFile(ws, { ref: 'refs/tags/v1.2.3', ref_type: 'tag', event_name: 'push' });
  const event = join(ws, '..', `${run}-tag.json`);
  writeFileSync(event, JSON.stringify({ ref: 'refs/tags/v1.2.3' }));
  scratch.push(event);
  const r = await runAct(ws, [
    'push',
    '-e',
    event,
    '-W',
    '.github/workflows/release-build.yml',
    '-P',
    'ubuntu-latest=-self-hosted',
    '--env-file',
    env,
    ...vars(),
    '--matrix',
    'package:hello',
    '--matrix',
    'arch:amd64',
  ]);
  assert.equal(r.code, 0, r.output.slice(-4000));
  assert.match(r.output, /Created Job kbuild\/kb-hello-amd64-/);
  assert.match(
    r.output,
    /gs:\/\/kbuild-lab-artifacts\/releases\/kbuild-lab\/[a-z0-9-]+\/v1\.2\.3\/amd64\/hello\//,
  );
  assert.match(r.output, /🏁 {2}Job succeeded/);
});

test("the pull-request examples skip a fork's pull request with a notice under act", async (t) => {
  for (const workflow of ['pr-plan-build.yml', 'dispatcher-pr-build.yml']) {
    await t.test(workflow, async () => {
      const ws = await workspaceFor(workflow, `kbuild-lab/${run}-pr`);
      const env = await envFile(ws, { ref: 'refs/pull/7/merge', event_name: 'pull_request' });
      const event = join(ws, '..', `${run}-${workflow}-fork.json`);
      scratch.push(event);
      writeFileSync(
        event,
        JSON.stringify({
          number: 7,
          pull_request: {
            number: 7,
            head: { ref: 'patch-1', sha: '0'.repeat(40), repo: { full_name: 'someone/demo-fork' } },
            base: { ref: 'main', repo: { full_name: `kbuild-lab/${run}-pr` } },
          },
        }),
      );
      const r = await runAct(ws, [...pullRequestArgs(event, workflow, env), ...vars()]);
      assert.equal(r.code, 0, r.output.slice(-4000));
      assert.match(r.output, /no build for a fork.*pull request from someone\/demo-fork/);
      assert.doesNotMatch(r.output, /Created Job|Main \.\/\.kbuild-action/);
    });
  }
});

/** PullRequest is a same-repository pull request of an example workspace, as act is given it. */
interface PullRequest {
  ws: string;
  /** repo is OWNER/REPO, from the workspace's remote (act's github.repository). */
  repo: string;
  base: string;
  head: string;
  /** event is the pull_request payload act reads (-e). */
  event: string;
  /** runId is the run's GITHUB_RUN_ID, and the run_id of its ID tokens. */
  runId: string;
}

const PULL = 8;

/**
 * PULL_REQUEST_TIMEOUT: the pull-request runs build hello on arm64 too, emulated (docs/lab.md,
 * "Known differences from GKE"): 10 to 15 min on the lab's two shared cores at load average 14,
 * past the suite's 20 min default with a little more load.
 */
const PULL_REQUEST_TIMEOUT = 40 * 60_000;

/** git runs git in ws and answers its trimmed output; throws on failure. */
function git(ws: string, args: string[]): string {
  const r = spawnSync('git', ['-C', ws, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * pullRequest makes the workspace of `workflow` (workspaceFor: commit `base` on main) and pull
 * request #8 from branch `bump-hello` of the same repository, checked out: its one commit raises
 * packages/hello.yaml's epoch from 0 to 1, so plan picks hello, and its artifact
 * hello-2.10-r1.tar.gz shows that the pull request's head was built. The event payload carries
 * the real base and head commits.
 */
async function pullRequest(workflow: string, repoName: string): Promise<PullRequest> {
  const repo = `kbuild-lab/${repoName}`;
  const ws = await workspaceFor(workflow, repo);
  const base = git(ws, ['rev-parse', 'HEAD']);
  git(ws, ['checkout', '-qb', 'bump-hello']);
  const def = join(ws, 'packages/hello.yaml');
  const text = readFileSync(def, 'utf8');
  assert.match(text, /\n {2}epoch: 0\n/);
  writeFileSync(def, text.replace(/\n {2}epoch: 0\n/, '\n  epoch: 1\n'));
  git(ws, [
    '-c',
    'user.email=e2e@kbuild.invalid',
    '-c',
    'user.name=e2e',
    'commit',
    '-qam',
    'hello: rebuild (epoch 1)',
  ]);
  const head = git(ws, ['rev-parse', 'HEAD']);
  const event = join(ws, '..', `${repoName}-pull-request.json`);
  scratch.push(event);
  const side = (ref: string, sha: string) => ({ ref, sha, repo: { full_name: repo } });
  writeFileSync(
    event,
    JSON.stringify({
      action: 'synchronize',
      number: PULL,
      pull_request: { number: PULL, head: side('bump-hello', head), base: side('main', base) },
      repository: { full_name: repo, name: repoName, owner: { login: 'kbuild-lab' } },
    }),
  );
  return { ws, repo, base, head, event, runId: newRunId() };
}

/**
 * summaries answers the job summaries in act's output: act prints each step's summary as one
 * entry, `⚙  Summary - TEXT`, whose lines run until the next line of a job (`[workflow/job]`).
 */
function summaries(output: string): string[] {
  return output
    .split('\u2699  Summary - ')
    .slice(1)
    .map((s) => s.split(/\n\[/, 1)[0] ?? '');
}

/**
 * actPullRequest runs `workflow` under act on pr's pull_request event: the lab's GitHub API
 * stand-in serves the pull request's files (GITHUB_API_URL, and GITHUB_TOKEN as the job's token
 * through a secret file), ID tokens carry the pull request's claims and run id. Answers the run
 * and the job summaries of its steps.
 */
async function actPullRequest(
  pr: PullRequest,
  workflow: string,
  dispatcherUrl?: string,
): Promise<ActRun & { summaries: string[]; seconds: number }> {
  const token = `ghs_${randomBytes(18).toString('base64url')}`;
  const api = await startGitHubApi({
    repository: pr.repo,
    gitDir: pr.ws,
    pulls: [{ number: PULL, base: pr.base, head: pr.head }],
    token,
  });
  try {
    const env = await envFile(
      pr.ws,
      {
        repository: pr.repo,
        repository_owner: 'kbuild-lab',
        ref: `refs/pull/${PULL}/merge`,
        sha: pr.head,
        event_name: 'pull_request',
        head_ref: 'bump-hello',
        base_ref: 'main',
        run_id: pr.runId,
      },
      { GITHUB_API_URL: api.apiUrl, GITHUB_RUN_ID: pr.runId },
    );
    const secrets = `${env}.secrets`;
    writeFileSync(secrets, `GITHUB_TOKEN=${token}\n`, { mode: 0o600 });
    scratch.push(secrets);
    const started = Date.now();
    const r = await runAct(pr.ws, [
      ...pullRequestArgs(pr.event, workflow, env),
      '--secret-file',
      secrets,
      ...vars(dispatcherUrl),
    ]);
    if (r.code !== 0) {
      // The assertions show the output's end; the whole of it stays for reading.
      const kept = join(tmpdir(), `kbuild-act-${pr.runId}-${workflow}.log`);
      writeFileSync(kept, r.output);
      r.output += `\n(the whole act output: ${kept})`;
    }
    return {
      ...r,
      summaries: summaries(r.output),
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    await api.close();
    // A run cut short (act killed, a step failed before its post step) leaves its Jobs.
    kubectl([
      'delete',
      'jobs',
      '-n',
      'kbuild',
      '-l',
      `kbuild.dev/run-id=${pr.runId}`,
      '--wait=false',
    ]);
  }
}

/** objects lists the object names under gs://BUCKET/prefix/ (recursively). */
function objects(prefix: string): string[] {
  const bucket = labEnv()['KBUILD_LAB_BUCKET']!;
  return gcloud(['storage', 'ls', '-r', `gs://${bucket}/${prefix}/**`])
    .toString('utf8')
    .split('\n')
    .filter((l) => l.startsWith('gs://'))
    .map((l) => l.slice(`gs://${bucket}/`.length));
}

/** planned checks plan mode's log: the pull request's one changed file, hello at level 0. */
function assertPlanned(output: string): void {
  assert.match(
    output,
    new RegExp(`Pull request #${PULL}: 1 changed file, 1 package definition changed`),
  );
  assert.match(output, /Level 0: hello\n/);
}

test(
  'pr-plan-build.yml: a same-repository pull request plans hello and builds it for amd64 and arm64 under act',
  { timeout: PULL_REQUEST_TIMEOUT },
  async () => {
    const pr = await pullRequest('pr-plan-build.yml', `${run}-prplan`);
    const r = await actPullRequest(pr, 'pr-plan-build.yml');
    console.log(`pr-plan-build.yml under act: ${r.seconds}s, exit code ${r.code}`);
    assert.equal(r.code, 0, r.output.slice(-6000));
    assertPlanned(r.output);
    assert.doesNotMatch(r.output, /no build for a fork/);
    for (const arch of ['amd64', 'arm64'])
      assert.match(r.output, new RegExp(`Created Job kbuild/kb-hello-${arch}-`));
    // plan, and one job per matrix entry
    assert.equal(r.output.match(/🏁 {2}Job succeeded/g)?.length, 3, r.output.slice(-6000));
    const plan = r.summaries.find((s) => s.includes(`### kbuild plan: pull request #${PULL}`));
    assert.ok(plan, `no plan summary in ${JSON.stringify(r.summaries)}`);
    assert.match(plan, /\| 0 \| `hello` \| definition changed \| amd64, arm64 \|/);
    const names = objects(`${pr.repo}/${pr.runId}-1`);
    console.log(names.join('\n'));
    for (const arch of ['amd64', 'arm64']) {
      const built = r.summaries.find((s) => s.includes(`### kbuild: hello (${arch})`));
      assert.ok(built, `no build summary for ${arch} in ${JSON.stringify(r.summaries)}`);
      assert.match(built, /\| Status \| .*succeeded/);
      assert.match(built, /hello-2\.10-r1\.tar\.gz/);
      assert.ok(
        names.some(
          (n) =>
            n.startsWith(`${pr.repo}/${pr.runId}-1/${arch}/hello/`) &&
            n.endsWith('/hello-2.10-r1.tar.gz'),
        ),
        names.join('\n'),
      );
    }
  },
);

test(
  'dispatcher-pr-build.yml: a same-repository pull request plans hello and the dispatcher builds it for amd64 and arm64 under act',
  { timeout: PULL_REQUEST_TIMEOUT },
  async () => {
    const logs: string[] = [];
    // As deployed: the dispatcher's own service account, its Role in namespace kbuild.
    const dispatcher = await startLabDispatcher({
      gke: true,
      serviceAccount: labEnv()['KBUILD_LAB_DISPATCHER_SERVICE_ACCOUNT'] ?? '',
      env: { KBUILD_NAMESPACE: 'kbuild' },
      logger: jsonLogger((l) => logs.push(l)),
    });
    const pr = await pullRequest('dispatcher-pr-build.yml', `${run}-prdispatch`);
    let r: Awaited<ReturnType<typeof actPullRequest>>;
    try {
      r = await actPullRequest(pr, 'dispatcher-pr-build.yml', dispatcher.url);
    } finally {
      await dispatcher.close();
    }
    console.log(`dispatcher-pr-build.yml under act: ${r.seconds}s, exit code ${r.code}`);
    assert.equal(r.code, 0, `${r.output.slice(-6000)}\ndispatcher:\n${logs.slice(-20).join('\n')}`);
    assertPlanned(r.output);
    assert.match(r.output, /All 2 builds succeeded/);
    assert.equal(r.output.match(/🏁 {2}Job succeeded/g)?.length, 1);
    const summary = r.summaries.find((s) => s.includes('### kbuild dispatch'));
    assert.ok(summary, `no dispatch summary in ${JSON.stringify(r.summaries)}`);
    for (const arch of ['amd64', 'arm64'])
      assert.match(summary, new RegExp(`\\| hello \\| ${arch} \\| succeeded`));
    const names = objects(pr.repo);
    console.log(names.join('\n'));
    for (const arch of ['amd64', 'arm64'])
      assert.ok(
        names.some((n) => n.includes(`/${arch}/hello/`) && n.endsWith('/hello-2.10-r1.tar.gz')),
        names.join('\n'),
      );
  },
);
