import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError, InputIssues } from '../../src/core/base/errors.ts';
import {
  formatDuration,
  parseArch,
  parseArchList,
  parseBoolean,
  parseCommand,
  parseDuration,
  parseEnum,
  parseKeyValueLines,
  parseList,
  parseQuantity,
  requireValue,
} from '../../src/core/inputs/parse.ts';

/** run runs a table: each case either returns want or throws an error matching `error`. */
function run<I, O>(
  name: string,
  cases: ReadonlyArray<{ name: string; input: I; want?: O; error?: RegExp }>,
  fn: (input: I) => O,
): void {
  for (const c of cases) {
    test(`${name}: ${c.name}`, () => {
      if (c.error) {
        assert.throws(
          () => fn(c.input),
          (err: unknown) => err instanceof InputError && c.error!.test(err.message),
        );
      } else {
        assert.deepEqual(fn(c.input), c.want);
      }
    });
  }
}

run<string, boolean>(
  'parseBoolean',
  [
    { name: 'true', input: 'true', want: true },
    { name: 'True', input: 'True', want: true },
    { name: 'FALSE', input: 'FALSE', want: false },
    { name: 'spaces', input: ' false ', want: false },
    {
      name: 'prose',
      input: 'yes please',
      error: /^invalid boolean value "yes please" for input "watch": use true or false$/,
    },
    { name: 'yes', input: 'yes', error: /input "watch"/ },
    { name: 'empty', input: '', error: /invalid boolean value "" for input "watch"/ },
    { name: 'tRuE', input: 'tRuE', error: /use true or false/ },
  ],
  (v) => parseBoolean('watch', v),
);

run<string, number>(
  'parseDuration',
  [
    { name: 'hours and minutes', input: '1h30m', want: 5400 },
    { name: 'seconds', input: '45s', want: 45 },
    { name: 'hours', input: '2h', want: 7200 },
    { name: 'minutes over 60', input: '90m', want: 5400 },
    { name: 'all units', input: '1h30m10s', want: 5410 },
    { name: 'bare seconds', input: '600', want: 600 },
    { name: 'zero', input: '0', want: 0 },
    {
      name: 'negative',
      input: '-1h',
      error: /invalid duration "-1h" for input "timeout": use a duration like 1h30m/,
    },
    { name: 'days', input: '1d', error: /invalid duration "1d" for input "timeout"/ },
    { name: 'empty', input: '', error: /input "timeout"/ },
    { name: 'fraction', input: '1.5h', error: /input "timeout"/ },
    { name: 'wrong order', input: '30m1h', error: /input "timeout"/ },
    { name: 'milliseconds', input: '100ms', error: /input "timeout"/ },
    { name: 'unit only', input: 'h', error: /input "timeout"/ },
    { name: 'huge', input: '99999999999999999999s', error: /input "timeout"/ },
  ],
  (v) => parseDuration('timeout', v),
);

test('formatDuration renders what parseDuration reads', () => {
  const cases = [
    { input: 0, want: '0s' },
    { input: 45, want: '45s' },
    { input: 900, want: '15m' },
    { input: 5400, want: '1h30m' },
    { input: 3661, want: '1h1m1s' },
  ];
  for (const c of cases) {
    assert.equal(formatDuration(c.input), c.want);
    assert.equal(parseDuration('t', c.want), c.input);
  }
});

run<[string, 'millicores' | 'bytes'], { canonical: string; value: number }>(
  'parseQuantity',
  [
    { name: 'millicores', input: ['500m', 'millicores'], want: { canonical: '500m', value: 500 } },
    { name: 'cores', input: ['4', 'millicores'], want: { canonical: '4', value: 4000 } },
    {
      name: 'fractional cores',
      input: ['1.5', 'millicores'],
      want: { canonical: '1500m', value: 1500 },
    },
    { name: 'leading dot', input: ['.5', 'millicores'], want: { canonical: '500m', value: 500 } },
    {
      name: 'exponent cpu',
      input: ['1e3', 'millicores'],
      want: { canonical: '1000', value: 1_000_000 },
    },
    { name: 'Gi', input: ['12Gi', 'bytes'], want: { canonical: '12Gi', value: 12 * 2 ** 30 } },
    { name: 'Mi', input: ['512Mi', 'bytes'], want: { canonical: '512Mi', value: 512 * 2 ** 20 } },
    { name: 'G', input: ['1G', 'bytes'], want: { canonical: '1G', value: 1e9 } },
    { name: 'exponent bytes', input: ['1e3', 'bytes'], want: { canonical: '1k', value: 1000 } },
    {
      name: 'fractional Gi',
      input: ['1.5Gi', 'bytes'],
      want: { canonical: '1536Mi', value: 1.5 * 2 ** 30 },
    },
    { name: 'plain bytes', input: ['1024', 'bytes'], want: { canonical: '1Ki', value: 1024 } },
    { name: 'odd bytes', input: ['1001', 'bytes'], want: { canonical: '1001', value: 1001 } },
    {
      name: 'zero',
      input: ['0', 'millicores'],
      error: /invalid quantity "0" for input "cpu": use a positive Kubernetes quantity/,
    },
    {
      name: 'negative',
      input: ['-1', 'millicores'],
      error: /invalid quantity "-1" for input "cpu"/,
    },
    {
      name: 'unit typo',
      input: ['2GB', 'millicores'],
      error: /invalid quantity "2GB" for input "cpu"/,
    },
    { name: 'lowercase gi', input: ['2gi', 'millicores'], error: /input "cpu"/ },
    { name: 'empty', input: ['', 'millicores'], error: /input "cpu"/ },
    { name: 'sub-millicore', input: ['0.1m', 'millicores'], error: /whole number of millicores/ },
    { name: 'half a core', input: ['0.5', 'millicores'], want: { canonical: '500m', value: 500 } },
    { name: 'half a byte', input: ['1.5', 'bytes'], error: /whole number of bytes/ },
    { name: 'above int64', input: ['8Ei', 'bytes'], error: /input "cpu"/ },
    { name: 'absurd exponent', input: ['1e400', 'bytes'], error: /input "cpu"/ },
  ],
  ([v, unit]) => parseQuantity('cpu', v, unit),
);

run<string, string>(
  'parseArch',
  [
    { name: 'amd64', input: 'amd64', want: 'amd64' },
    { name: 'arm64', input: 'arm64', want: 'arm64' },
    { name: 'x86_64', input: 'x86_64', want: 'amd64' },
    { name: 'aarch64', input: 'aarch64', want: 'arm64' },
    { name: 'upper case', input: 'ARM64', want: 'arm64' },
    {
      name: 'sparc',
      input: 'sparc',
      error: /invalid arch "sparc" for input "arch": use amd64 or arm64/,
    },
    { name: 'arm', input: 'arm', error: /input "arch"/ },
    { name: 'empty', input: '', error: /input "arch"/ },
  ],
  (v) => parseArch('arch', v),
);

run<string, string[]>(
  'parseArchList',
  [
    { name: 'both', input: 'amd64,arm64', want: ['amd64', 'arm64'] },
    { name: 'aliases deduplicated', input: 'x86_64 amd64\naarch64', want: ['amd64', 'arm64'] },
    { name: 'empty', input: ' , ', error: /input "archs" is empty/ },
    {
      name: 'bad item',
      input: 'amd64, riscv64',
      error: /invalid arch "riscv64" for input "archs"/,
    },
  ],
  (v) => parseArchList('archs', v),
);

test('parseList splits on spaces, commas and newlines', () => {
  const cases = [
    { input: 'a b,c\nd', want: ['a', 'b', 'c', 'd'] },
    { input: ' a,, b \r\n\n c ', want: ['a', 'b', 'c'] },
    { input: 'a a b', want: ['a', 'b'] },
    { input: '', want: [] },
  ];
  for (const c of cases) assert.deepEqual(parseList(c.input), c.want);
});

run<string, Record<string, string>>(
  'parseKeyValueLines',
  [
    { name: 'two lines', input: 'A=1\nB=two words', want: { A: '1', B: 'two words' } },
    { name: 'value with =', input: 'URL=a=b=c', want: { URL: 'a=b=c' } },
    { name: 'empty value', input: 'EMPTY=', want: { EMPTY: '' } },
    { name: 'blank and comment lines', input: '\n# note\n  X=1  \r\n', want: { X: '1' } },
    {
      name: '__proto__ is a plain key',
      input: '__proto__=x',
      want: JSON.parse('{"__proto__":"x"}'),
    },
    {
      name: 'no =',
      input: 'JUSTTEXT',
      error: /line 1 of input "env" is not KEY=VALUE \("JUSTTEXT"\)/,
    },
    {
      name: 'digit first',
      input: 'A=1\n1A=2',
      error: /invalid variable name "1A" on line 2 of input "env"/,
    },
    { name: 'dash', input: 'MY-VAR=1', error: /invalid variable name "MY-VAR"/ },
    { name: 'empty key', input: '=1', error: /invalid variable name "" on line 1/ },
    { name: 'space before =', input: 'A =1', error: /invalid variable name "A "/ },
    { name: 'duplicate', input: 'A=1\nA=2', error: /variable A is set twice in input "env"/ },
  ],
  (v) => parseKeyValueLines('env', v),
);

test('parseKeyValueLines with secret: true never shows a value or line', () => {
  const cases = [
    { input: 'hunter2-password', error: /^line 1 of input "secret_env" is not KEY=VALUE: write/ },
    { input: 'bad key=hunter2-password', error: /invalid variable name "bad key"/ },
  ];
  for (const c of cases) {
    assert.throws(
      () => parseKeyValueLines('secret_env', c.input, { secret: true }),
      (err: unknown) =>
        err instanceof InputError && c.error.test(err.message) && !err.message.includes('hunter2'),
    );
  }
});

run<string, string[]>(
  'parseCommand',
  [
    { name: 'words', input: 'make -j4', want: ['make', '-j4'] },
    { name: 'quotes', input: `sh -c 'echo "a b"'`, want: ['sh', '-c', 'echo "a b"'] },
    { name: 'no expansion', input: 'echo $HOME *.c', want: ['echo', '$HOME', '*.c'] },
    { name: 'metacharacters stay words', input: 'a;b | c', want: ['a;b', '|', 'c'] },
    { name: 'backslash', input: 'a\\ b', want: ['a b'] },
    {
      name: 'open quote',
      input: 'make "oops',
      error: /invalid command "make \\"oops" for input "command": .*close every quote/,
    },
    { name: 'empty', input: '', error: /input "command" is empty/ },
    { name: 'blank', input: '   ', error: /input "command" is empty/ },
  ],
  (v) => parseCommand('command', v),
);

run<string, string>(
  'parseEnum',
  [
    { name: 'job', input: 'job', want: 'job' },
    { name: 'pod', input: ' pod ', want: 'pod' },
    {
      name: 'deployment',
      input: 'deployment',
      error: /invalid value "deployment" for input "kind": use one of job, pod/,
    },
    { name: 'case', input: 'Job', error: /input "kind"/ },
  ],
  (v) => parseEnum('kind', v, ['job', 'pod'] as const),
);

run<string | undefined, string>(
  'requireValue',
  [
    { name: 'value', input: ' x ', want: 'x' },
    { name: 'empty', input: '', error: /^input "image" is required: give the build image$/ },
    { name: 'undefined', input: undefined, error: /input "image" is required/ },
  ],
  (v) => requireValue('image', v, 'the build image'),
);

test('InputIssues collects every InputError into one', () => {
  const issues = new InputIssues();
  assert.equal(
    issues.attempt(() => parseBoolean('watch', 'no')),
    undefined,
  );
  assert.equal(
    issues.attempt(() => parseArch('arch', 'arm64')),
    'arm64',
  );
  assert.equal(
    issues.attempt(() => parseDuration('timeout', '1d')),
    undefined,
  );
  assert.throws(
    () => issues.throwIfAny(),
    (err: unknown) =>
      err instanceof InputError &&
      /^2 invalid inputs:\n- invalid boolean value "no" for input "watch".*\n- invalid duration "1d" for input "timeout"/.test(
        err.message,
      ) &&
      err.issues.map((i) => i.input).join() === 'watch,timeout',
  );
  assert.throws(
    () =>
      issues.attempt(() => {
        throw new TypeError('bug');
      }),
    TypeError,
  );
});
