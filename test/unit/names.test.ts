import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildAnnotations,
  buildId,
  buildLabels,
  buildSelector,
  isDns1123Label,
  isDns1123Subdomain,
  isLabelValue,
  jobName,
  sanitizeLabelValue,
  workflowRunUrl,
} from '../../src/core/inputs/names.ts';
import { CTX } from './build-fixtures.ts';

const ID = '3f2a9c0d1e2f3a4b5c6d7e8f9a0b1c2d';

test('jobName', () => {
  const cases = [
    { name: 'simple', input: ['brotli', 'arm64'] as const, want: 'kb-brotli-arm64-3f2a9c0d' },
    {
      name: 'dots and plus',
      input: ['libstdc++-6.1', 'amd64'] as const,
      want: 'kb-libstdc-6-1-amd64-3f2a9c0d',
    },
    {
      name: 'upper case and underscores',
      input: ['My_Build', 'amd64'] as const,
      want: 'kb-my-build-amd64-3f2a9c0d',
    },
    { name: 'nothing usable', input: ['___', 'arm64'] as const, want: 'kb-arm64-3f2a9c0d' },
    {
      name: 'cut at 63',
      input: ['x'.repeat(80), 'arm64'] as const,
      want: `kb-${'x'.repeat(45)}-arm64-3f2a9c0d`,
    },
    {
      name: 'cut lands on a dash',
      input: [`${'x'.repeat(44)}-yyy`, 'amd64'] as const,
      want: `kb-${'x'.repeat(44)}-amd64-3f2a9c0d`,
    },
  ];
  for (const c of cases) {
    const got = jobName(c.input[0], c.input[1], ID);
    assert.equal(got, c.want, c.name);
    assert.ok(isDns1123Label(got) && got.length <= 63, c.name);
  }
});

test('buildId is 32 hex chars, deterministic, and separates its parts unambiguously', () => {
  const base = {
    repository: 'acme/pkgs',
    runId: '1',
    runAttempt: '1',
    build: 'hello',
    arch: 'amd64',
  } as const;
  const id = buildId(base);
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.equal(buildId({ ...base }), id);
  const variants = [
    { ...base, repository: 'acme/pkgs2' },
    { ...base, runId: '11' },
    { ...base, runAttempt: '2' },
    { ...base, build: 'hello2' },
    { ...base, arch: 'arm64' as const },
    { ...base, runId: '1', runAttempt: '11', build: 'ello' },
  ];
  const ids = new Set([id, ...variants.map(buildId)]);
  assert.equal(ids.size, variants.length + 1);
});

test('sanitizeLabelValue', () => {
  const long = `${'a'.repeat(60)}/${'b'.repeat(20)}`;
  const cases = [
    { name: 'valid stays', input: 'hello-1.2_x', want: 'hello-1.2_x' },
    { name: 'repository slash', input: 'acme/packages', want: 'acme_packages' },
    { name: 'runs collapse', input: 'a / b', want: 'a_b' },
    { name: 'ends trimmed', input: '-_.x.-', want: 'x' },
    { name: 'empty', input: '', want: '' },
    { name: 'only symbols', input: '///', want: '' },
  ];
  for (const c of cases) assert.equal(sanitizeLabelValue(c.input), c.want, c.name);
  const cut = sanitizeLabelValue(long);
  assert.equal(cut.length, 63);
  assert.match(cut, /^a{54}-[0-9a-f]{8}$/);
  assert.ok(isLabelValue(cut));
  assert.notEqual(sanitizeLabelValue(`${long}c`), cut);
});

test('Kubernetes name checks', () => {
  const cases = [
    { input: 'default', label: true, sub: true, value: true },
    { input: 'a.b', label: false, sub: true, value: true },
    { input: 'A', label: false, sub: false, value: true },
    { input: '-a', label: false, sub: false, value: false },
    { input: 'a_b', label: false, sub: false, value: true },
    { input: '', label: false, sub: false, value: true },
    { input: 'x'.repeat(63), label: true, sub: true, value: true },
    { input: 'x'.repeat(64), label: false, sub: true, value: false },
    { input: 'x'.repeat(254), label: false, sub: false, value: false },
  ];
  for (const c of cases) {
    assert.deepEqual(
      [isDns1123Label(c.input), isDns1123Subdomain(c.input), isLabelValue(c.input)],
      [c.label, c.sub, c.value],
      c.input,
    );
  }
});

const SOURCE = {
  buildId: ID,
  name: 'hello',
  package: 'hello',
  packages: ['hello'],
  arch: 'arm64' as const,
  source: CTX,
};

test('buildLabels carries the labels of docs/design.md, all valid values', () => {
  const labels = buildLabels(SOURCE);
  assert.deepEqual(labels, {
    'app.kubernetes.io/managed-by': 'kbuild',
    'kbuild.dev/build-id': ID,
    'kbuild.dev/package': 'hello',
    'kbuild.dev/arch': 'arm64',
    'kbuild.dev/repository': 'acme_packages',
    'kbuild.dev/run-id': '9876543210',
    'kbuild.dev/run-attempt': '2',
  });
  for (const v of Object.values(labels)) assert.ok(isLabelValue(v), v);
  const multi = buildLabels({
    ...SOURCE,
    package: undefined,
    packages: ['a', 'b'],
    name: 'Base+Libs',
    queueName: 'team-a',
  });
  assert.equal(multi['kbuild.dev/package'], 'Base_Libs');
  assert.equal(multi['kueue.x-k8s.io/queue-name'], 'team-a');
});

test('buildAnnotations carries the unsanitised values', () => {
  assert.deepEqual(buildAnnotations({ ...SOURCE, packages: ['a', 'b'] }), {
    'kbuild.dev/repository': 'acme/packages',
    'kbuild.dev/sha': CTX.sha,
    'kbuild.dev/workflow-url':
      'https://github.example/acme/packages/actions/runs/9876543210/attempts/2',
    'kbuild.dev/build': 'hello',
    'kbuild.dev/ref': 'refs/heads/main',
    'kbuild.dev/workflow': 'build',
    'kbuild.dev/actor': 'octocat',
    'kbuild.dev/packages': 'a b',
  });
});

test('workflowRunUrl and buildSelector', () => {
  assert.equal(
    workflowRunUrl({ ...CTX, serverUrl: 'https://github.example/' }),
    'https://github.example/acme/packages/actions/runs/9876543210/attempts/2',
  );
  assert.equal(buildSelector(ID), `app.kubernetes.io/managed-by=kbuild,kbuild.dev/build-id=${ID}`);
});
