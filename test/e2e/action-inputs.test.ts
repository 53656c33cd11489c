// action-inputs.test.ts: what the bundled action does with its inputs and
// credentials on the lab. A bad input fails the step at once with a message
// naming the input, before any token is requested and before anything exists
// in the cluster or the bucket. A successful build that uses every credential
// path (GitHub OIDC, STS, IAM Credentials, GKE, the API server, GCS, a
// secret_env Secret) prints no token and leaves no credential on disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gcloud, labInputs, listTree, newRunId, runStep } from './action.ts';
import { errorText } from './annotations.ts';
import { kubectl, labEnv } from './lab.ts';

const BUCKET = (): string => labEnv()['KBUILD_LAB_BUCKET']!;
/** REPO_PREFIX holds every run's objects under the default destination, {owner}/{repo}/. */
const REPO_PREFIX = (): string => `gs://${BUCKET()}/kbuild-lab/demo/`;

/** listPrefixes lists the `{run_id}-{run_attempt}/` prefixes below REPO_PREFIX with gcloud. */
function listPrefixes(): string[] {
  try {
    return gcloud(['storage', 'ls', REPO_PREFIX()]).toString('utf8').split('\n').filter(Boolean);
  } catch (err) {
    if (/matched no objects/.test((err as Error).message)) return [];
    throw err;
  }
}

const long = (n: number): string => 'a'.repeat(n);
const PROVIDER = 'locations/global/workloadIdentityPools/kbuild-pool/providers/github';
const NO_WIF = { workload_identity_provider: '', service_account: '' };

/**
 * BAD: one bad input per row, `[input, value, error, other inputs]`: the step's ::error:: line
 * must match `error` and name the input.
 */
const BAD: [string, string, RegExp, Record<string, string>?][] = [
  ['arch', 'sparc', /invalid arch "sparc" for input "arch"/],
  ['arch', 'arm', /invalid arch "arm" for input "arch"/],
  ['cpu', 'lots', /invalid quantity "lots" for input "cpu"/],
  ['cpu', '-1', /invalid quantity "-1" for input "cpu"/],
  ['cpu', '0', /invalid quantity "0" for input "cpu"/],
  ['cpu', '0.5m', /"0\.5m" for input "cpu": use a whole number of millicores/],
  ['memory', '2GB', /invalid quantity "2GB" for input "memory"/],
  ['memory', '1.5', /"1\.5" for input "memory": use a whole number of bytes/],
  ['ephemeral_storage', '10 Gi', /"10 Gi" for input "ephemeral_storage"/],
  ['timeout', '1d', /invalid duration "1d" for input "timeout"/],
  ['timeout', '1.5h', /invalid duration "1\.5h" for input "timeout"/],
  ['timeout', '0s', /"0s" for input "timeout": use a duration greater than zero/],
  ['pending_timeout', '-5m', /invalid duration "-5m" for input "pending_timeout"/],
  ['namespace', long(64), /invalid name "a{64}" for input "namespace": .* up to 63/],
  ['namespace', 'Builds', /invalid name "Builds" for input "namespace"/],
  ['node_pool', long(64), /for input "node_pool": use a node pool name: up to 63/],
  ['queue_name', long(64), /for input "queue_name": use a DNS-1123 label: up to 63/],
  ['name', long(101), /invalid name "a{100}\.\.\." for input "name"/],
  ['service_account_name', 'Bad_SA', /invalid name "Bad_SA" for input "service_account_name"/],
  ['packages', 'hello;rm -rf /', /invalid package name "hello;rm" for input "packages"/],
  ['packages', 'hello$(id)', /invalid package name "hello\$\(id\)" for input "packages"/],
  ['packages', '`whoami`', /invalid package name "`whoami`" for input "packages"/],
  ['packages', 'a|b', /invalid package name "a\|b" for input "packages"/],
  ['packages', 'hello&&true', /invalid package name "hello&&true" for input "packages"/],
  ['packages', 'a b', /input "name" is required when "packages" lists 2 packages/],
  [
    'package_target',
    'pkg/{name}',
    /"package_target": unknown placeholder \{name\}/,
    { packages: 'hello' },
  ],
  [
    'workload_identity_provider',
    `projects/kbuild-lab/${PROVIDER}`,
    /provider "projects\/kbuild-lab\//,
  ],
  [
    'workload_identity_provider',
    `https://iam.googleapis.com/projects/1/${PROVIDER}`,
    /use projects\/NUMBER/,
  ],
  ['service_account', 'kbuild-builder', /invalid service account "kbuild-builder"/],
  ['cluster', 'Lab_Cluster', /invalid cluster "Lab_Cluster" for input "cluster"/],
  ['location', 'us central1', /invalid location "us central1" for input "location"/],
  ['kind', 'deployment', /invalid value "deployment" for input "kind": use one of job, pod/],
  ['queue_name', 'builds', /input "queue_name" needs kind: job/, { kind: 'pod' }],
  ['context', 'does-not-exist', /"does-not-exist" for input "context": give an existing directory/],
  [
    'context',
    '/etc/passwd',
    /invalid path \(not a directory\) "\/etc\/passwd" for input "context"/,
  ],
  [
    'context',
    '../../../',
    /invalid path \(it resolves to \/, outside the workspace .*\) "\.\.\/\.\.\/\.\.\/" for input "context": give a directory inside the workspace/,
  ],
  [
    'api_outage_budget',
    '10 minutes',
    /invalid duration "10 minutes" for input "api_outage_budget"/,
  ],
  ['bucket', 'My_Bucket', /invalid bucket name "My_Bucket" for input "bucket"/],
  ['bucket', 'goog-artifacts', /"goog-artifacts" for input "bucket": .* cannot start with goog/],
  [
    'bucket',
    'gs://kbuild-lab-artifacts',
    /for input "bucket": give the bucket name without gs:\/\//,
  ],
  ['bucket', 'ab', /invalid bucket name "ab" for input "bucket": use 3 to 63 characters/],
  ['bucket', '192.168.1.1', /"192\.168\.1\.1" for input "bucket": .* cannot be an IP address/],
  ['env', '1FOO=bar', /invalid variable name "1FOO" on line 1 of input "env"/],
  ['env', 'OK=1\nFOO-BAR=1', /invalid variable name "FOO-BAR" on line 2 of input "env"/],
  ['env', 'JUSTAKEY', /line 1 of input "env" is not KEY=VALUE/],
  [
    'secret_env',
    'TOKEN=b',
    /variable TOKEN is set in both "env" and "secret_env"/,
    { env: 'TOKEN=a' },
  ],
  ['destination', '{owner}/{branch}', /for input "destination": unknown placeholder \{branch\}/],
  ['destination', '{owner}/../x', /"destination": "\." and "\.\." segments are not allowed/],
  ['destination', '{package}/x', /for input "destination": \{package\} has no value/],
  ['image', 'Debian:12', /invalid image reference "Debian:12" for input "image"/],
  ['image', 'debian::12', /invalid image reference "debian::12" for input "image"/],
  ['image', '', /input "image" is required/],
  ['command', "sh -c 'echo", /for input "command": .*close every quote/],
  ['artifacts_path', '../etc', /invalid path "\.\.\/etc" for input "artifacts_path"/],
  ['artifacts_path', '/abs', /invalid path "\/abs" for input "artifacts_path"/],
  ['privileged', 'yes', /invalid boolean value "yes" for input "privileged": use true or false/],
  ['cache_bundle', 'Bad:Image', /invalid image reference "Bad:Image" for input "cache_bundle"/],
  ['audience', 'x', /input "audience" needs "workload_identity_provider"/, NO_WIF],
];

test('bad inputs fail fast, name the input, and create nothing', async (t) => {
  const base = {
    ...labInputs(),
    image: 'debian:bookworm',
    command: 'true',
    context: '',
    bucket: BUCKET(),
  };
  const runIds: string[] = [];
  const times: { name: string; seconds: number }[] = [];
  for (const [input, value, error, others] of BAD) {
    const name = `${input}: ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
    await t.test(name, async () => {
      const runId = newRunId();
      runIds.push(runId);
      const started = performance.now();
      const run = await runStep({ inputs: { ...base, ...others, [input]: value }, runId });
      times.push({ name, seconds: (performance.now() - started) / 1000 });
      const show = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
      assert.equal(run.code, 1, show);
      assert.match(errorText(run), /^kbuild-action failed: /, show);
      assert.match(errorText(run), error);
      assert.ok(errorText(run).includes(`"${input}"`), `the message names input ${input}`);
      assert.doesNotMatch(run.stdout, /::add-mask::/, 'no token was requested');
      assert.doesNotMatch(run.stdout, /Created Job/);
      assert.deepEqual(run.outputs, {}, 'no outputs');
      assert.deepEqual(run.state, {}, 'no build saved for the post step');
    });
  }
  // Nothing of these runs exists in the cluster or under their prefix in the bucket.
  const selector = `app.kubernetes.io/managed-by=kbuild,kbuild.dev/run-id in (${runIds.join(',')})`;
  const objects = kubectl(['get', 'jobs,pods,secrets', '-A', '-l', selector, '-o', 'name']).trim();
  assert.equal(objects, '', 'objects labelled with a bad-input run id');
  const prefixes = new Set(listPrefixes());
  for (const id of runIds)
    assert.ok(!prefixes.has(`${REPO_PREFIX()}${id}-1/`), `objects of run ${id}`);
  const sorted = times.map((x) => x.seconds).sort((a, b) => a - b);
  const slowest = times.reduce((a, b) => (b.seconds > a.seconds ? b : a));
  t.diagnostic(
    `${times.length} bad-input runs: median ${sorted[sorted.length >> 1]?.toFixed(2)} s, ` +
      `slowest ${slowest.seconds.toFixed(2)} s (${slowest.name}), total ${sorted.reduce((a, b) => a + b, 0).toFixed(1)} s`,
  );
});

/** tokensIn finds lab access tokens and JWTs in text. */
function tokensIn(text: string): string[] {
  return (
    text.match(/ya29\.lab\.[A-Za-z0-9_-]+|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g) ?? []
  );
}

/** readTree reads every file below dir as text, by relative path. */
function readTree(dir: string): [string, string][] {
  return listTree(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]);
}

test('a successful build prints no token and leaves no credential behind', async () => {
  const workspace = mkdtempSync(join(tmpdir(), 'kbuild-ws-'));
  writeFileSync(join(workspace, 'README'), 'source\n');
  const home = mkdtempSync(join(tmpdir(), 'kbuild-home-'));
  const secret = `kb-secret-${randomBytes(12).toString('hex')}`;
  const before = listTree(workspace);
  const runId = newRunId();
  const run = await runStep({
    runId,
    workspace,
    env: { HOME: home },
    inputs: {
      ...labInputs(),
      image: 'debian:bookworm',
      command: 'sh -c \'mkdir -p packages && echo hi > packages/a.txt && test -n "$API_KEY"\'',
      artifacts_path: 'packages',
      secret_env: `API_KEY=${secret}`,
      bucket: BUCKET(),
    },
  });
  assert.equal(run.code, 0, `step failed:\n${run.stdout}\n${run.stderr}`);
  assert.equal(run.outputs['status'], 'succeeded');
  assert.deepEqual(
    (JSON.parse(run.outputs['artifacts'] ?? '[]') as { name: string }[]).map((a) => a.name),
    ['a.txt'],
  );

  // Every credential was masked before it could be printed.
  const lines = run.stdout.split('\n');
  const masks = lines
    .filter((l) => l.startsWith('::add-mask::'))
    .map((l) => l.slice('::add-mask::'.length));
  assert.ok(
    masks.some((m) => m.startsWith('ya29.lab.')),
    'an access token was masked',
  );
  assert.ok(
    masks.some((m) => m.startsWith('eyJ')),
    'the GitHub OIDC token was masked',
  );
  const maskAt = lines.indexOf(`::add-mask::${secret}`);
  assert.ok(maskAt >= 0, 'the secret_env value is masked');
  assert.ok(
    maskAt < lines.findIndex((l) => l.startsWith('::group::Build output')),
    'masked before the build output',
  );

  // What the runner would show, the files it keeps, the workspace, RUNNER_TEMP, HOME and
  // the build's objects in GCS hold none of them.
  const shown = lines.filter((l) => !l.startsWith('::add-mask::')).join('\n');
  const files = [
    ['stdout (without ::add-mask::)', shown],
    ['stderr', run.stderr],
    ...readTree(run.runDir).map(([f, text]) => [`RUNNER_TEMP/${f}`, text]),
    ...readTree(workspace).map(([f, text]) => [`workspace/${f}`, text]),
    ...readTree(home).map(([f, text]) => [`HOME/${f}`, text]),
    ['build.log', gcloud(['storage', 'cat', run.outputs['log_uri']!]).toString('utf8')],
    [
      'kbuild.json',
      gcloud(['storage', 'cat', `${run.outputs['artifacts_uri']}kbuild.json`]).toString('utf8'),
    ],
  ] as const;
  const secrets = [...masks, labEnv()['ACTIONS_ID_TOKEN_REQUEST_TOKEN']!];
  for (const [where, text] of files) {
    assert.deepEqual(tokensIn(text), [], `a token in ${where}`);
    for (const s of secrets)
      assert.ok(!text.includes(s), `a masked value in ${where}: ${s.slice(0, 12)}...`);
  }
  assert.ok(listPrefixes().includes(`${REPO_PREFIX()}${runId}-1/`), 'the run prefix is listed');
  assert.deepEqual(listTree(workspace), before, 'the workspace holds the same files');
  assert.deepEqual(listTree(home), [], 'nothing written to HOME');
  assert.deepEqual(
    listTree(run.runDir),
    ['output', 'state', 'summary'],
    'RUNNER_TEMP holds only the runner files',
  );
});
