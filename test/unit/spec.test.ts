import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/core/base/errors.ts';
import type { RawBuildInputs } from '../../src/core/inputs/schema.ts';
import { isDns1123Label } from '../../src/core/inputs/names.ts';
import { validateBuildSpec, type BuildSpec } from '../../src/core/inputs/spec.ts';
import { BASE, CTX, specOf } from './build-fixtures.ts';

/** pick returns the keys of want from got, so a case lists only what it is about. */
function pick(got: object, want: object): Record<string, unknown> {
  return Object.fromEntries(Object.keys(want).map((k) => [k, (got as Record<string, unknown>)[k]]));
}

test('validateBuildSpec applies the input defaults of docs/design.md', () => {
  const spec = specOf();
  assert.deepEqual(
    {
      name: spec.name,
      package: spec.package,
      packages: spec.packages,
      arch: spec.arch,
      namespace: spec.namespace,
      command: spec.command,
      resources: spec.resources,
      privileged: spec.privileged,
      spot: spec.spot,
      serviceAccountName: spec.serviceAccountName,
      kind: spec.kind,
      timeoutSeconds: spec.timeoutSeconds,
      pendingTimeoutSeconds: spec.pendingTimeoutSeconds,
      ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished,
      artifactsPath: spec.artifactsPath,
      context: spec.context,
      destination: spec.destination,
      watch: spec.watch,
      create: spec.create,
      keep: spec.keep,
      env: spec.env,
      secretEnv: spec.secretEnv,
    },
    {
      name: 'hello',
      package: 'hello',
      packages: ['hello'],
      arch: 'amd64',
      namespace: 'kbuild',
      command: ['make', 'package/hello'],
      resources: { cpu: '1', memory: '2Gi' },
      privileged: false,
      spot: false,
      serviceAccountName: 'default',
      kind: 'job',
      timeoutSeconds: 7200,
      pendingTimeoutSeconds: 900,
      ttlSecondsAfterFinished: 3600,
      artifactsPath: 'packages',
      context: '.',
      destination: 'acme/packages/9876543210-2/amd64/hello',
      watch: true,
      create: true,
      keep: false,
      env: {},
      secretEnv: {},
    },
  );
  assert.match(spec.buildId, /^[0-9a-f]{32}$/);
  assert.equal(spec.jobName, `kb-hello-amd64-${spec.buildId.slice(0, 8)}`);
  assert.equal(spec.source, CTX);
});

const good: ReadonlyArray<{ name: string; input: RawBuildInputs; want: Partial<BuildSpec> }> = [
  {
    name: 'empty strings mean the default',
    input: { arch: '', cpu: '', timeout: '', namespace: '' },
    want: {
      arch: 'amd64',
      resources: { cpu: '1', memory: '2Gi' },
      timeoutSeconds: 7200,
      namespace: 'kbuild',
    },
  },
  {
    name: 'several packages in one command need a name',
    input: { packages: 'zlib, brotli\nhello', name: 'base-libs' },
    want: {
      name: 'base-libs',
      package: undefined,
      packages: ['zlib', 'brotli', 'hello'],
      command: ['make', 'package/zlib', 'package/brotli', 'package/hello'],
      destination: 'acme/packages/9876543210-2/amd64/base-libs',
    },
  },
  {
    name: 'package_target with several words',
    input: { command: 'melange build', package_target: '--package {package}.yaml' },
    want: { command: ['melange', 'build', '--package', 'hello.yaml'] },
  },
  {
    name: 'empty package_target passes no package',
    input: { command: './build.sh --all', package_target: '' },
    want: { command: ['./build.sh', '--all'] },
  },
  {
    name: 'no packages: the build is named after the repository',
    input: { packages: '', command: 'make all' },
    want: { name: 'packages', package: undefined, packages: [], command: ['make', 'all'] },
  },
  {
    name: 'explicit name wins over the package',
    input: { name: 'Hello_World.v2' },
    want: { name: 'Hello_World.v2', package: 'hello' },
  },
  {
    name: 'aliases, quantities and durations',
    input: {
      arch: 'aarch64',
      cpu: '1.5',
      memory: '1024Mi',
      ephemeral_storage: '20Gi',
      timeout: '90m',
      pending_timeout: '45s',
    },
    want: {
      arch: 'arm64',
      resources: { cpu: '1500m', memory: '1Gi', ephemeralStorage: '20Gi' },
      timeoutSeconds: 5400,
      pendingTimeoutSeconds: 45,
    },
  },
  {
    name: 'placement and identity',
    input: {
      spot: 'true',
      privileged: 'True',
      node_pool: 'arm-pool_1',
      service_account_name: 'builder.ci',
      namespace: 'builds',
    },
    want: {
      spot: true,
      privileged: true,
      nodePool: 'arm-pool_1',
      serviceAccountName: 'builder.ci',
      namespace: 'builds',
    },
  },
  {
    name: 'env and secret env',
    input: { env: 'A=1\nB=x=y', secret_env: 'TOKEN=s3cr3t' },
    want: { env: { A: '1', B: 'x=y' }, secretEnv: { TOKEN: 's3cr3t' } },
  },
  {
    name: 'context empty stages nothing; artifacts path normalized',
    input: { context: '', artifacts_path: './out//dist/' },
    want: { context: undefined, artifactsPath: 'out/dist' },
  },
  {
    name: 'the whole workspace as artifacts',
    input: { artifacts_path: '.' },
    want: { artifactsPath: '.' },
  },
  {
    name: 'destination with every placeholder',
    input: {
      destination: '/{owner}/{repo}//{sha}/{run_id}.{run_attempt}/{arch}/{package}-{build}/',
    },
    want: { destination: `acme/packages/${CTX.sha}/9876543210.2/amd64/hello-hello` },
  },
  {
    name: 'keep, no watch, dry run, kueue',
    input: { keep: 'true', watch: 'false', create: 'false', queue_name: 'team-a' },
    want: {
      keep: true,
      watch: false,
      create: false,
      queueName: 'team-a',
      ttlSecondsAfterFinished: 604800,
    },
  },
  {
    name: 'bare pod with cache bundle and no bucket',
    input: { kind: 'pod', cache_bundle: 'ghcr.io/acme/cache:2024', bucket: '' },
    want: { kind: 'pod', cacheBundle: 'ghcr.io/acme/cache:2024', bucket: undefined },
  },
];

for (const c of good) {
  test(`validateBuildSpec: ${c.name}`, () => {
    assert.deepEqual(pick(specOf(c.input), c.want), c.want);
  });
}

const LONG = `a${'b'.repeat(100)}`;

/** bad lists inputs the spec must refuse; each error names its input. */
const bad: ReadonlyArray<{ name: string; input: RawBuildInputs; input_: string; error: RegExp }> = [
  {
    name: 'missing image',
    input: { image: '' },
    input_: 'image',
    error: /input "image" is required/,
  },
  {
    name: 'image with spaces',
    input: { image: 'my image' },
    input_: 'image',
    error: /invalid image reference "my image" for input "image"/,
  },
  {
    name: 'image upper case',
    input: { image: 'Acme/Build' },
    input_: 'image',
    error: /image reference "Acme\/Build"/,
  },
  {
    name: 'image bad digest',
    input: { image: 'alpine@sha256:xyz' },
    input_: 'image',
    error: /input "image"/,
  },
  {
    name: 'package with ;',
    input: { packages: 'hello;rm' },
    input_: 'packages',
    error: /invalid package name "hello;rm" for input "packages"/,
  },
  {
    name: 'package with $()',
    input: { packages: '$(id)' },
    input_: 'packages',
    error: /package name "\$\(id\)"/,
  },
  {
    name: 'package with backquote',
    input: { packages: 'a`b`' },
    input_: 'packages',
    error: /input "packages"/,
  },
  {
    name: 'package with slash',
    input: { packages: '../etc' },
    input_: 'packages',
    error: /input "packages"/,
  },
  {
    name: 'package upper case',
    input: { packages: 'Hello' },
    input_: 'packages',
    error: /input "packages"/,
  },
  { name: 'package too long', input: { packages: LONG }, input_: 'packages', error: /up to 100/ },
  {
    name: 'several packages without name',
    input: { packages: 'a b' },
    input_: 'name',
    error: /input "name" is required when "packages" lists 2 packages/,
  },
  {
    name: 'name with slash',
    input: { name: 'a/b' },
    input_: 'name',
    error: /invalid name "a\/b" for input "name"/,
  },
  { name: 'name too long', input: { name: LONG }, input_: 'name', error: /input "name"/ },
  {
    name: 'unbalanced command',
    input: { command: 'make "x' },
    input_: 'command',
    error: /invalid command .* for input "command"/,
  },
  {
    name: 'package_target without {package}',
    input: { package_target: 'all' },
    input_: 'package_target',
    error: /input "package_target": include \{package\}/,
  },
  {
    name: 'package_target other placeholder',
    input: { package_target: '{arch}/{package}' },
    input_: 'package_target',
    error: /unknown placeholder \{arch\}/,
  },
  {
    name: 'arch sparc',
    input: { arch: 'sparc' },
    input_: 'arch',
    error: /invalid arch "sparc" for input "arch"/,
  },
  {
    name: 'arch list in arch',
    input: { arch: 'amd64,arm64' },
    input_: 'arch',
    error: /input "arch"/,
  },
  {
    name: 'cpu unit typo',
    input: { cpu: '2 cores' },
    input_: 'cpu',
    error: /invalid quantity "2 cores" for input "cpu"/,
  },
  { name: 'cpu zero', input: { cpu: '0' }, input_: 'cpu', error: /input "cpu"/ },
  {
    name: 'memory GB',
    input: { memory: '4GB' },
    input_: 'memory',
    error: /invalid quantity "4GB" for input "memory"/,
  },
  { name: 'memory negative', input: { memory: '-1Gi' }, input_: 'memory', error: /input "memory"/ },
  {
    name: 'ephemeral storage words',
    input: { ephemeral_storage: 'lots' },
    input_: 'ephemeral_storage',
    error: /input "ephemeral_storage"/,
  },
  {
    name: 'timeout days',
    input: { timeout: '1d' },
    input_: 'timeout',
    error: /invalid duration "1d" for input "timeout"/,
  },
  {
    name: 'timeout zero',
    input: { timeout: '0s' },
    input_: 'timeout',
    error: /input "timeout": use a duration greater than zero/,
  },
  {
    name: 'pending timeout negative',
    input: { pending_timeout: '-5m' },
    input_: 'pending_timeout',
    error: /input "pending_timeout"/,
  },
  {
    name: 'kind deployment',
    input: { kind: 'deployment' },
    input_: 'kind',
    error: /invalid value "deployment" for input "kind": use one of job, pod/,
  },
  {
    name: 'watch yes',
    input: { watch: 'yes' },
    input_: 'watch',
    error: /invalid boolean value "yes" for input "watch"/,
  },
  {
    name: 'privileged 1',
    input: { privileged: '1' },
    input_: 'privileged',
    error: /input "privileged"/,
  },
  {
    name: 'namespace upper case',
    input: { namespace: 'Builds' },
    input_: 'namespace',
    error: /invalid name "Builds" for input "namespace"/,
  },
  {
    name: 'namespace over 63',
    input: { namespace: 'n'.repeat(64) },
    input_: 'namespace',
    error: /input "namespace".*63/,
  },
  {
    name: 'service account name underscore',
    input: { service_account_name: 'ci_builder' },
    input_: 'service_account_name',
    error: /input "service_account_name"/,
  },
  {
    name: 'node pool over 63',
    input: { node_pool: 'p'.repeat(64) },
    input_: 'node_pool',
    error: /input "node_pool"/,
  },
  {
    name: 'node pool slash',
    input: { node_pool: 'pool/a' },
    input_: 'node_pool',
    error: /input "node_pool"/,
  },
  {
    name: 'queue name over 63',
    input: { queue_name: 'q'.repeat(64) },
    input_: 'queue_name',
    error: /input "queue_name"/,
  },
  {
    name: 'queue on a bare pod',
    input: { queue_name: 'team', kind: 'pod' },
    input_: 'queue_name',
    error: /input "queue_name" needs kind: job/,
  },
  {
    name: 'env key with dash',
    input: { env: 'MY-VAR=1' },
    input_: 'env',
    error: /invalid variable name "MY-VAR" on line 1 of input "env"/,
  },
  {
    name: 'env line without =',
    input: { env: 'A=1\nB' },
    input_: 'env',
    error: /line 2 of input "env" is not KEY=VALUE/,
  },
  {
    name: 'secret env key with digit',
    input: { secret_env: '9LIVES=x' },
    input_: 'secret_env',
    error: /invalid variable name "9LIVES" .* input "secret_env"/,
  },
  {
    name: 'secret in env too',
    input: { env: 'T=1', secret_env: 'T=2' },
    input_: 'secret_env',
    error: /variable T is set in both "env" and "secret_env"/,
  },
  {
    name: 'artifacts absolute',
    input: { artifacts_path: '/etc' },
    input_: 'artifacts_path',
    error: /invalid path "\/etc" for input "artifacts_path"/,
  },
  {
    name: 'artifacts escape',
    input: { artifacts_path: 'out/../../x' },
    input_: 'artifacts_path',
    error: /input "artifacts_path"/,
  },
  {
    name: 'artifacts in .kbuild',
    input: { artifacts_path: '.kbuild' },
    input_: 'artifacts_path',
    error: /input "artifacts_path"/,
  },
  {
    name: 'cache bundle bad',
    input: { cache_bundle: 'not an image' },
    input_: 'cache_bundle',
    error: /input "cache_bundle"/,
  },
  {
    name: 'bucket upper case',
    input: { bucket: 'My-Bucket' },
    input_: 'bucket',
    error: /invalid bucket name "My-Bucket" for input "bucket"/,
  },
  {
    name: 'bucket too short',
    input: { bucket: 'ab' },
    input_: 'bucket',
    error: /input "bucket": use 3 to 63/,
  },
  {
    name: 'bucket goog prefix',
    input: { bucket: 'goog-artifacts' },
    input_: 'bucket',
    error: /input "bucket": .*goog/,
  },
  {
    name: 'bucket contains google',
    input: { bucket: 'my-g00gle-bucket' },
    input_: 'bucket',
    error: /input "bucket"/,
  },
  {
    name: 'bucket is an IP',
    input: { bucket: '192.168.1.1' },
    input_: 'bucket',
    error: /input "bucket": a bucket name cannot be an IP/,
  },
  {
    name: 'bucket with gs://',
    input: { bucket: 'gs://acme' },
    input_: 'bucket',
    error: /without gs:\/\//,
  },
  {
    name: 'bucket ends with dash',
    input: { bucket: 'acme-' },
    input_: 'bucket',
    error: /input "bucket"/,
  },
  {
    name: 'bucket 64 chars',
    input: { bucket: 'b'.repeat(64) },
    input_: 'bucket',
    error: /input "bucket"/,
  },
  {
    name: 'bucket dotted part over 63',
    input: { bucket: `a.${'b'.repeat(64)}` },
    input_: 'bucket',
    error: /each dot-separated part/,
  },
  {
    name: 'destination unknown placeholder',
    input: { destination: '{owner}/{branch}' },
    input_: 'destination',
    error: /invalid destination .* for input "destination": unknown placeholder \{branch\}/,
  },
  {
    name: 'destination stray brace',
    input: { destination: '{owner' },
    input_: 'destination',
    error: /input "destination": a brace/,
  },
  {
    name: 'destination dot-dot',
    input: { destination: '{owner}/../x' },
    input_: 'destination',
    error: /input "destination".*"\.\."/,
  },
  {
    name: '{package} with several packages',
    input: { packages: 'a b', name: 'ab', destination: '{package}' },
    input_: 'destination',
    error: /\{package\} has no value/,
  },
];

for (const c of bad) {
  test(`validateBuildSpec refuses ${c.name}`, () => {
    assert.throws(
      () => specOf(c.input),
      (err: unknown) =>
        err instanceof InputError &&
        err.issues.some(
          (i) =>
            i.input === c.input_ && c.error.test(i.message) && i.message.includes(`"${c.input_}"`),
        ),
    );
  });
}

test('the bad-input table covers at least 30 cases', () => {
  assert.ok(bad.length >= 30, `${bad.length} cases`);
});

test('validateBuildSpec reports every bad input at once and never a secret value', () => {
  const raw = { image: '', arch: 'mips', cpu: 'x', secret_env: 'super-secret-value', kind: 'cron' };
  assert.throws(
    () => validateBuildSpec({ ...BASE, ...raw }, CTX),
    (err: unknown) =>
      err instanceof InputError &&
      /^5 invalid inputs:\n/.test(err.message) &&
      ['image', 'arch', 'cpu', 'secret_env', 'kind'].every((name) =>
        err.issues.some((i) => i.input === name),
      ) &&
      !err.message.includes('super-secret-value'),
  );
});

test('job names fit 63 chars and stay distinct when names are cut', () => {
  const names = [LONG.slice(0, 100), `${LONG.slice(0, 99)}c`, 'x', 'Weird__Name..v1'];
  const jobs = names.map((name) => specOf({ name, arch: 'arm64' }).jobName);
  for (const job of jobs) assert.ok(isDns1123Label(job), job);
  assert.equal(new Set(jobs).size, jobs.length);
  assert.match(jobs[3] ?? '', /^kb-weird-name-v1-arm64-[0-9a-f]{8}$/);
});

test('build ids are deterministic and differ by run attempt, arch and build', () => {
  const id = specOf().buildId;
  assert.equal(specOf().buildId, id);
  assert.notEqual(validateBuildSpec(BASE, { ...CTX, runAttempt: '3' }).buildId, id);
  assert.notEqual(specOf({ arch: 'arm64' }).buildId, id);
  assert.notEqual(specOf({ packages: 'zlib' }).buildId, id);
});

test('watch: false stages nothing (no one would stream the context in)', () => {
  const watched = validateBuildSpec({ ...BASE, context: '.' }, CTX);
  assert.equal(watched.context, '.');
  const unwatched = validateBuildSpec({ ...BASE, context: '.', watch: 'false' }, CTX);
  assert.equal(unwatched.context, undefined);
});
