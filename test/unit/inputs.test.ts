import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { INPUT_NAMES, readContext, readInputs } from '../../src/action/inputs.ts';
import { ContextError } from '../../src/core/base/errors.ts';
import { INPUT_DEFAULTS, inputValue } from '../../src/core/inputs/schema.ts';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const ENV = {
  GITHUB_REPOSITORY: 'acme/packages',
  GITHUB_REPOSITORY_ID: '42',
  GITHUB_REPOSITORY_OWNER: 'acme',
  GITHUB_SHA: SHA,
  GITHUB_REF: 'refs/heads/main',
  GITHUB_RUN_ID: '123',
  GITHUB_RUN_ATTEMPT: '3',
  GITHUB_SERVER_URL: 'https://github.example',
  GITHUB_WORKFLOW: 'build',
  GITHUB_ACTOR: 'octocat',
  GITHUB_EVENT_NAME: 'push',
};

test('readInputs reads every input through getInput, as given', () => {
  const asked: string[] = [];
  const { raw, ctx } = readInputs((name) => {
    asked.push(name);
    return name === 'arch' ? 'arm64' : '';
  }, ENV);
  assert.deepEqual(asked.toSorted(), [...INPUT_NAMES].toSorted());
  assert.equal(raw.arch, 'arm64');
  assert.equal(raw.context, '');
  assert.equal(ctx.runAttempt, '3');
});

test('readContext maps the GITHUB_* variables', () => {
  assert.deepEqual(readContext(ENV), {
    repository: 'acme/packages',
    repositoryId: '42',
    owner: 'acme',
    repo: 'packages',
    sha: SHA,
    ref: 'refs/heads/main',
    runId: '123',
    runAttempt: '3',
    serverUrl: 'https://github.example',
    workflow: 'build',
    actor: 'octocat',
    eventName: 'push',
  });
  assert.deepEqual(
    readContext({ GITHUB_REPOSITORY: 'a/b.c', GITHUB_SHA: SHA, GITHUB_RUN_ID: '1' }),
    {
      repository: 'a/b.c',
      owner: 'a',
      repo: 'b.c',
      sha: SHA,
      ref: '',
      runId: '1',
      runAttempt: '1',
      serverUrl: 'https://github.com',
    },
  );
});

test('readContext refuses a missing or malformed run', () => {
  const cases = [
    {
      name: 'no repository',
      input: { ...ENV, GITHUB_REPOSITORY: '' },
      error: /^GITHUB_REPOSITORY is not set: run kbuild-action in a GitHub Actions workflow/,
    },
    {
      name: 'repository without owner',
      input: { ...ENV, GITHUB_REPOSITORY: 'packages' },
      error: /GITHUB_REPOSITORY is "packages": expected owner\/repo/,
    },
    { name: 'short sha', input: { ...ENV, GITHUB_SHA: 'abc' }, error: /GITHUB_SHA is "abc"/ },
    {
      name: 'no run id',
      input: { ...ENV, GITHUB_RUN_ID: undefined },
      error: /GITHUB_RUN_ID is not set/,
    },
    {
      name: 'run id not a number',
      input: { ...ENV, GITHUB_RUN_ID: '12a' },
      error: /GITHUB_RUN_ID is "12a": expected a number/,
    },
    {
      name: 'bad attempt',
      input: { ...ENV, GITHUB_RUN_ATTEMPT: 'x' },
      error: /GITHUB_RUN_ATTEMPT is "x"/,
    },
  ];
  for (const c of cases) {
    assert.throws(
      () => readContext(c.input),
      (err: unknown) => err instanceof ContextError && c.error.test(err.message),
      c.name,
    );
  }
});

test('inputValue: missing or empty means the default, except where empty is a value', () => {
  const cases = [
    { name: 'missing', input: {}, key: 'cpu', want: '1' },
    { name: 'empty', input: { cpu: '' }, key: 'cpu', want: '1' },
    { name: 'given, trimmed', input: { cpu: ' 2 ' }, key: 'cpu', want: '2' },
    { name: 'no default', input: {}, key: 'bucket', want: '' },
    { name: 'context missing', input: {}, key: 'context', want: '.' },
    { name: 'context empty', input: { context: '' }, key: 'context', want: '' },
    {
      name: 'package_target empty',
      input: { package_target: '' },
      key: 'package_target',
      want: '',
    },
  ] as const;
  for (const c of cases) assert.equal(inputValue(c.input, c.key), c.want, c.name);
});

test('action.yml declares exactly the inputs and defaults of the code', () => {
  const action = parse(readFileSync(new URL('../../action.yml', import.meta.url), 'utf8')) as {
    inputs: Record<string, { description?: string; default?: string }>;
    outputs: Record<string, { description?: string }>;
    runs: Record<string, string>;
  };
  assert.deepEqual(Object.keys(action.inputs).toSorted(), [...INPUT_NAMES].toSorted());
  for (const [name, input] of Object.entries(action.inputs)) {
    assert.ok(input.description, `${name} has a description`);
    assert.equal(
      input.default,
      INPUT_DEFAULTS[name as keyof typeof INPUT_DEFAULTS],
      `default of ${name}`,
    );
  }
  assert.deepEqual(Object.keys(action.outputs).toSorted(), [
    'artifacts',
    'artifacts_uri',
    'build_id',
    'builds',
    'cache_hit',
    'cache_key',
    'dependencies',
    'exit_code',
    'job_name',
    'levels',
    'log_uri',
    'manifest',
    'matrix',
    'node_name',
    'pod_name',
    'status',
  ]);
  assert.deepEqual(action.runs, {
    using: 'node24',
    main: 'dist/main.js',
    post: 'dist/post.js',
    'post-if': 'always()',
  });
});
