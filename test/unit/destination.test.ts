import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  expandDestination,
  gcsUri,
  objectName,
  safeRelativePath,
  type DestinationVars,
} from '../../src/core/inputs/destination.ts';
import { InputError, UnsafePathError } from '../../src/core/base/errors.ts';

const VARS: DestinationVars = {
  owner: 'acme',
  repo: 'packages',
  run_id: '123',
  run_attempt: '1',
  arch: 'arm64',
  build: 'hello',
  package: 'hello',
  sha: 'abc123',
};

test('expandDestination', () => {
  const cases: ReadonlyArray<{
    name: string;
    input: [string, DestinationVars];
    want?: string;
    error?: RegExp;
  }> = [
    {
      name: 'default template',
      input: ['{owner}/{repo}/{run_id}-{run_attempt}/{arch}/{build}', VARS],
      want: 'acme/packages/123-1/arm64/hello',
    },
    {
      name: 'slashes trimmed and collapsed',
      input: ['/builds//{sha}/', VARS],
      want: 'builds/abc123',
    },
    { name: 'repeated placeholder', input: ['{arch}-{arch}', VARS], want: 'arm64-arm64' },
    { name: 'no placeholder', input: ['fixed/prefix', VARS], want: 'fixed/prefix' },
    { name: 'empty', input: ['', VARS], want: '' },
    { name: 'package', input: ['{package}', VARS], want: 'hello' },
    {
      name: 'unknown',
      input: ['{owner}/{branch}', VARS],
      error:
        /invalid destination "\{owner\}\/\{branch\}" for input "destination": unknown placeholder \{branch\}/,
    },
    { name: 'case matters', input: ['{Owner}', VARS], error: /unknown placeholder \{Owner\}/ },
    { name: 'empty braces', input: ['{}', VARS], error: /unknown placeholder \{\}/ },
    {
      name: 'stray open',
      input: ['{owner', VARS],
      error: /a brace is not part of a \{placeholder\}/,
    },
    { name: 'stray close', input: ['owner}', VARS], error: /input "destination": a brace/ },
    {
      name: 'no package',
      input: ['{package}', { ...VARS, package: undefined }],
      error: /\{package\} has no value .* use \{build\}/,
    },
    { name: 'dot-dot', input: ['a/../b', VARS], error: /"\." and "\.\." segments/ },
    { name: 'dot', input: ['./a', VARS], error: /input "destination"/ },
    { name: 'newline', input: ['a\nb', VARS], error: /control characters/ },
    { name: 'too long', input: ['x'.repeat(600), VARS], error: /too long/ },
  ];
  for (const c of cases) {
    if (c.error) {
      assert.throws(
        () => expandDestination(...c.input),
        (err: unknown) =>
          err instanceof InputError && err.input === 'destination' && c.error!.test(err.message),
        c.name,
      );
    } else {
      assert.equal(expandDestination(...c.input), c.want, c.name);
    }
  }
});

test('objectName joins a prefix and a safe relative path', () => {
  const cases: ReadonlyArray<{
    name: string;
    input: [string, string];
    want?: string;
    error?: RegExp;
  }> = [
    {
      name: 'nested',
      input: ['acme/p/1', 'x86_64/hello-2.12.apk'],
      want: 'acme/p/1/x86_64/hello-2.12.apk',
    },
    { name: 'root prefix', input: ['', 'build.log'], want: 'build.log' },
    { name: 'prefix trailing slash', input: ['a/', 'b'], want: 'a/b' },
    { name: 'unicode', input: ['a', 'résumé.txt'], want: 'a/résumé.txt' },
    {
      name: 'absolute',
      input: ['a', '/etc/passwd'],
      error: /unsafe path "\/etc\/passwd": it is absolute/,
    },
    { name: 'dot-dot', input: ['a', 'x/../../y'], error: /"\.\." segment/ },
    { name: 'dot', input: ['a', './x'], error: /"\." or "\.\." segment/ },
    { name: 'empty', input: ['a', ''], error: /it is empty/ },
    { name: 'double slash', input: ['a', 'x//y'], error: /empty segment/ },
    { name: 'trailing slash', input: ['a', 'x/'], error: /empty segment/ },
    { name: 'carriage return', input: ['a', 'x\ry'], error: /control character/ },
    { name: 'over 1024 bytes', input: ['a', 'é'.repeat(512)], error: /longer than 1024 bytes/ },
  ];
  for (const c of cases) {
    if (c.error) {
      assert.throws(
        () => objectName(...c.input),
        (err: unknown) => err instanceof UnsafePathError && c.error!.test(err.message),
        c.name,
      );
    } else {
      assert.equal(objectName(...c.input), c.want, c.name);
    }
  }
});

test('safeRelativePath returns the path unchanged', () => {
  assert.equal(safeRelativePath('a/b.c'), 'a/b.c');
  assert.equal(gcsUri('bkt', 'a/b/'), 'gs://bkt/a/b/');
});
