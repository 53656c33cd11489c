// act-workflows.test.ts: example workflows run under a real runner that
// nobody here wrote, nektos/act (scripts/act.sh, pinned), in host mode with
// Node 24 first on PATH, against the lab. Only the lab's provider, service
// account, cluster and bucket are substituted (repository variables and the
// runner's OIDC endpoint), and `uses:` points at this checkout's action
// (act copies a local action; it cannot fetch YOUR_ORG/kbuild-action).
// One matrix entry per workflow keeps the lab's two cores to one build.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exampleWorkspace } from './action.ts';
import { labEnv, labIssuer } from './lab.ts';

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

/** runAct runs `bash scripts/act.sh args` in dir and answers its exit code and output. */
function runAct(dir: string, args: string[]): Promise<ActRun> {
  return new Promise((done, reject) => {
    const child = spawn('bash', [resolve(ROOT, 'scripts/act.sh'), ...args], {
      cwd: dir,
      env: { ...process.env, PATH: `${NODE_BIN}:${process.env['PATH'] ?? ''}` },
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

/** envFile writes the runner's OIDC endpoint (tokens with claims) and the lab's endpoint overrides. */
async function envFile(ws: string, claims: Record<string, string>): Promise<string> {
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
  ];
  const file = join(ws, '..', `${ws.split('/').pop()}.env`);
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  scratch.push(file);
  return file;
}

/** vars are the repository variables of the examples, pointed at the lab. */
function vars(): string[] {
  const env = labEnv();
  const v: Record<string, string> = {
    KBUILD_WORKLOAD_IDENTITY_PROVIDER: env['KBUILD_LAB_WORKLOAD_IDENTITY_PROVIDER']!,
    KBUILD_SERVICE_ACCOUNT: env['KBUILD_LAB_SERVICE_ACCOUNT']!,
    KBUILD_RELEASE_SERVICE_ACCOUNT: 'kbuild-release@kbuild-lab.iam.gserviceaccount.com',
    KBUILD_CLUSTER: env['KBUILD_LAB_CLUSTER']!,
    KBUILD_LOCATION: env['KBUILD_LAB_LOCATION']!,
    KBUILD_BUCKET: env['KBUILD_LAB_BUCKET']!,
  };
  return Object.entries(v).flatMap(([k, x]) => ['--var', `${k}=${x}`]);
}

const run = `act${Date.now() % 1_000_000}`;

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
      const r = await runAct(ws, [
        'pull_request',
        '-e',
        event,
        '-W',
        `.github/workflows/${workflow}`,
        '-P',
        'ubuntu-latest=-self-hosted',
        '--env-file',
        env,
        ...vars(),
      ]);
      assert.equal(r.code, 0, r.output.slice(-4000));
      assert.match(r.output, /no build for a fork.*pull request from someone\/demo-fork/);
      assert.doesNotMatch(r.output, /Created Job|Main \.\/\.kbuild-action/);
    });
  }
});
