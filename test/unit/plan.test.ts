import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { InputError } from '../../src/core/base/errors.ts';
import { inputValue } from '../../src/core/inputs/schema.ts';
import {
  DefinitionError,
  parsePackageDefinition,
  parsePackagePaths,
  splitPatterns,
  type PackageDefinition,
} from '../../src/core/plan/package-definition.ts';
import {
  buildGraph,
  buildMatrix,
  dependencyLevels,
  DependencyCycleError,
  DuplicatePackageError,
  planBuilds,
  type ChangedFile,
} from '../../src/core/plan/plan.ts';

/** def makes a definition at `<name>.yaml`; deps may name host packages and subpackages. */
function def(name: string, deps: string[] = [], subpackages: string[] = []): PackageDefinition {
  return { path: `${name}.yaml`, name, dependencies: deps, subpackages };
}

const levelCases: { name: string; defs: PackageDefinition[]; want: string[][] }[] = [
  { name: 'independent', defs: [def('b'), def('a')], want: [['a', 'b']] },
  {
    name: 'chain',
    defs: [def('a', ['b']), def('b', ['c']), def('c')],
    want: [['c'], ['b'], ['a']],
  },
  {
    name: 'diamond',
    defs: [def('d', ['c', 'b']), def('b', ['a']), def('c', ['a']), def('a')],
    want: [['a'], ['b', 'c'], ['d']],
  },
  {
    name: 'host and toolchain packages are ignored',
    defs: [def('a', ['build-base', 'busybox', 'cmake']), def('b', ['a', 'gcc'])],
    want: [['a'], ['b']],
  },
  {
    name: 'a subpackage stands for its package; constraints were stripped by the parser',
    defs: [def('zlib', [], ['zlib-dev']), def('libpng', ['zlib-dev'])],
    want: [['zlib'], ['libpng']],
  },
  {
    name: 'a package that needs itself is not a cycle',
    defs: [def('go', ['go', 'build-base']), def('app', ['go'])],
    want: [['go'], ['app']],
  },
  {
    name: 'uneven depths: a level waits for its deepest dependency',
    defs: [def('top', ['mid', 'base']), def('mid', ['base']), def('base'), def('solo')],
    want: [['base', 'solo'], ['mid'], ['top']],
  },
];

test('dependencyLevels: level N needs only levels < N, each sorted', () => {
  for (const c of levelCases) {
    const graph = buildGraph(c.defs);
    assert.deepEqual(
      dependencyLevels(
        graph,
        c.defs.map((d) => d.name),
      ),
      c.want,
      c.name,
    );
  }
});

test('dependencyLevels: a dependency outside the planned set counts as built', () => {
  const graph = buildGraph([def('a', ['b']), def('b', ['c']), def('c')]);
  assert.deepEqual(dependencyLevels(graph, ['a', 'b']), [['b'], ['a']]);
  assert.deepEqual(dependencyLevels(graph, ['a', 'c']), [['a', 'c']]);
  assert.deepEqual(dependencyLevels(graph, []), []);
});

const cycleCases: {
  name: string;
  defs: PackageDefinition[];
  error: RegExp;
  cycles: string[][];
}[] = [
  {
    name: 'two packages',
    defs: [def('b', ['a']), def('a', ['b'])],
    error: /^dependency cycle: a -> b -> a: /,
    cycles: [['a', 'b', 'a']],
  },
  {
    name: 'three packages, named in dependency order',
    defs: [def('a', ['b']), def('b', ['c']), def('c', ['a'])],
    error: /^dependency cycle: a -> b -> c -> a: these packages need each other/,
    cycles: [['a', 'b', 'c', 'a']],
  },
  {
    name: 'through a subpackage, with a package hanging off the cycle',
    defs: [def('a', ['b-dev']), def('b', ['a'], ['b-dev']), def('d', ['a']), def('e')],
    error: /^dependency cycle: a -> b -> a:/,
    cycles: [['a', 'b', 'a']],
  },
  {
    name: 'two separate cycles',
    defs: [def('x', ['y']), def('y', ['x']), def('a', ['b']), def('b', ['a'])],
    error: /^dependency cycles: a -> b -> a; x -> y -> x:/,
    cycles: [
      ['a', 'b', 'a'],
      ['x', 'y', 'x'],
    ],
  },
  {
    name: 'the shortest way round a tangle',
    defs: [def('a', ['b', 'c']), def('b', ['c']), def('c', ['a'])],
    error: /^dependency cycle: a -> c -> a:/,
    cycles: [['a', 'c', 'a']],
  },
];

test('dependencyLevels: a cycle is an error that names its packages', () => {
  for (const c of cycleCases) {
    const graph = buildGraph(c.defs);
    assert.throws(
      () =>
        dependencyLevels(
          graph,
          c.defs.map((d) => d.name),
        ),
      (err: unknown) =>
        err instanceof DependencyCycleError &&
        c.error.test(err.message) &&
        JSON.stringify(err.cycles) === JSON.stringify(c.cycles),
      c.name,
    );
  }
});

test('buildGraph: two files defining the same name is an error naming both', () => {
  const cases = [
    { name: 'same package', defs: [def('a'), { ...def('a'), path: 'x/a.yaml' }] },
    { name: 'package and subpackage', defs: [def('a', [], ['b']), def('b')] },
  ];
  for (const c of cases) {
    assert.throws(
      () => buildGraph(c.defs),
      (err: unknown) =>
        err instanceof DuplicatePackageError &&
        /is defined twice, in \S+\.yaml and \S+\.yaml/.test(err.message),
      c.name,
    );
  }
});

test('buildMatrix: level by level, every package for every arch', () => {
  const cases = [
    { name: 'empty', levels: [], archs: ['amd64'] as const, want: { include: [] } },
    {
      name: 'two levels, two arches',
      levels: [['a', 'b'], ['c']],
      archs: ['amd64', 'arm64'] as const,
      want: {
        include: [
          { package: 'a', arch: 'amd64' },
          { package: 'a', arch: 'arm64' },
          { package: 'b', arch: 'amd64' },
          { package: 'b', arch: 'arm64' },
          { package: 'c', arch: 'amd64' },
          { package: 'c', arch: 'arm64' },
        ],
      },
    },
  ];
  for (const c of cases) {
    const got = buildMatrix(c.levels, c.archs);
    assert.deepEqual(got, c.want, c.name);
    assert.equal(
      JSON.stringify(got).startsWith('{"include":['),
      true,
      `${c.name}: GitHub's matrix form`,
    );
  }
});

const REPO = [
  def('zlib', ['build-base'], ['zlib-dev']),
  def('libpng', ['build-base', 'zlib-dev']),
  def('pngtool', ['libpng']),
  def('hello', ['build-base']),
  { ...def('brotli', ['cmake']), path: 'packages/brotli.yaml' },
];
const REPO_FILES = new Set([...REPO.map((d) => d.path), 'mkdocs.yaml', 'README.md']);

const planCases: {
  name: string;
  files: ChangedFile[];
  defs?: PackageDefinition[];
  paths?: string;
  want: {
    changed: string[];
    levels: string[][];
    rebuilt?: Record<string, string[]>;
    /** dependencies: the `dependencies` output; default: rebuilt (no changed package needs another). */
    dependencies?: Record<string, string[]>;
    removed?: string[];
    ignored?: string[];
    notes?: RegExp[];
  };
}[] = [
  {
    name: 'a changed library rebuilds its dependents, transitively',
    files: [{ filename: 'zlib.yaml', status: 'modified' }],
    want: {
      changed: ['zlib'],
      levels: [['zlib'], ['libpng'], ['pngtool']],
      rebuilt: { libpng: ['zlib'], pngtool: ['libpng'] },
    },
  },
  {
    name: 'a leaf package alone',
    files: [{ filename: 'pngtool.yaml', status: 'modified' }],
    want: { changed: ['pngtool'], levels: [['pngtool']] },
  },
  {
    name: 'several changes, ordered, dependents not listed twice',
    files: [
      { filename: 'libpng.yaml', status: 'modified' },
      { filename: 'hello.yaml', status: 'added' },
      { filename: 'zlib.yaml', status: 'modified' },
    ],
    want: {
      changed: ['hello', 'libpng', 'zlib'],
      levels: [['hello', 'zlib'], ['libpng'], ['pngtool']],
      rebuilt: { pngtool: ['libpng'] },
      dependencies: { libpng: ['zlib'], pngtool: ['libpng'] },
    },
  },
  {
    name: 'files that are not package definitions are ignored',
    paths: '*.yaml',
    files: [
      { filename: 'README.md', status: 'modified' },
      { filename: '.github/workflows/ci.yaml', status: 'modified' },
      { filename: 'packages/brotli.yaml', status: 'modified' },
      { filename: 'mkdocs.yaml', status: 'modified' },
    ],
    want: {
      changed: [],
      levels: [],
      ignored: ['.github/workflows/ci.yaml', 'README.md', 'mkdocs.yaml', 'packages/brotli.yaml'],
      notes: [/^mkdocs\.yaml matches package_paths but has no package\.name/],
    },
  },
  {
    name: 'package_paths picks the definitions',
    paths: 'packages/*.yaml',
    files: [
      { filename: 'packages/brotli.yaml', status: 'modified' },
      { filename: 'zlib.yaml', status: 'modified' },
    ],
    defs: [REPO[4]!],
    want: { changed: ['brotli'], levels: [['brotli']], ignored: ['zlib.yaml'] },
  },
  {
    name: 'a deleted definition is not built',
    files: [
      { filename: 'old.yaml', status: 'removed' },
      { filename: 'docs/old.md', status: 'removed' },
    ],
    want: {
      changed: [],
      levels: [],
      removed: ['old.yaml'],
      ignored: ['docs/old.md'],
      notes: [/^old\.yaml was removed: not built$/],
    },
  },
  {
    name: 'a renamed definition is built under its new path',
    files: [{ filename: 'hello.yaml', status: 'renamed', previousFilename: 'greeter.yaml' }],
    want: { changed: ['hello'], levels: [['hello']] },
  },
  {
    name: 'a definition renamed out of package_paths is removed',
    files: [{ filename: 'attic/gone.txt', status: 'renamed', previousFilename: 'gone.yaml' }],
    want: {
      changed: [],
      levels: [],
      removed: ['gone.yaml'],
      ignored: ['attic/gone.txt'],
      notes: [/^gone\.yaml was removed: not built$/],
    },
  },
  {
    name: 'a cycle elsewhere in the repository is a note, not an error',
    defs: [...REPO, def('x', ['y']), def('y', ['x'])],
    files: [{ filename: 'hello.yaml', status: 'modified' }],
    want: {
      changed: ['hello'],
      levels: [['hello']],
      notes: [/^dependency cycle outside this change: x -> y -> x$/],
    },
  },
  {
    name: 'a package that needs itself',
    defs: [def('go', ['go']), def('tool', ['go'])],
    files: [{ filename: 'go.yaml', status: 'modified' }],
    want: {
      changed: ['go'],
      levels: [['go'], ['tool']],
      rebuilt: { tool: ['go'] },
      notes: [/^go depends on itself: built with the version already published$/],
    },
  },
];

test('planBuilds: changed definitions plus their dependents, in levels', () => {
  for (const c of planCases) {
    const defs = c.defs ?? REPO;
    const present = new Set([...REPO_FILES, ...defs.map((d) => d.path)]);
    const plan = planBuilds({
      files: c.files,
      paths: parsePackagePaths('package_paths', c.paths ?? '*.yaml packages/*.yaml'),
      definitions: defs,
      present: (p) => present.has(p),
      archs: ['amd64'],
    });
    assert.deepEqual(plan.changed, c.want.changed, `${c.name}: changed`);
    assert.deepEqual(plan.levels, c.want.levels, `${c.name}: levels`);
    assert.deepEqual(plan.rebuilt, c.want.rebuilt ?? {}, `${c.name}: rebuilt`);
    assert.deepEqual(
      plan.dependencies,
      c.want.dependencies ?? c.want.rebuilt ?? {},
      `${c.name}: dependencies`,
    );
    assert.deepEqual(plan.removed, c.want.removed ?? [], `${c.name}: removed`);
    assert.deepEqual(plan.ignored, c.want.ignored ?? [], `${c.name}: ignored`);
    const notes = c.want.notes ?? [];
    assert.equal(plan.notes.length, notes.length, `${c.name}: notes ${plan.notes.join('; ')}`);
    for (const [i, re] of notes.entries()) assert.match(plan.notes[i] ?? '', re, c.name);
    assert.deepEqual(
      plan.matrix.include.map((e) => e.package),
      c.want.levels.flat(),
      `${c.name}: matrix`,
    );
  }
});

test('planBuilds: errors', () => {
  const cases = [
    {
      name: 'a cycle among the planned packages',
      defs: [def('a', ['b']), def('b', ['c']), def('c', ['a']), def('z')],
      files: [{ filename: 'b.yaml', status: 'modified' }],
      error: /^dependency cycle: a -> b -> c -> a/,
    },
    {
      name: 'a changed definition missing from the checkout',
      defs: [def('a')],
      files: [{ filename: 'new.yaml', status: 'added' }],
      error: /^new\.yaml changed in the pull request but is not in the checkout: check out/,
    },
    {
      name: 'a duplicate package',
      defs: [def('a'), { ...def('a'), path: 'b.yaml' }],
      files: [{ filename: 'a.yaml', status: 'modified' }],
      error: /^package a is defined twice, in a\.yaml and b\.yaml/,
    },
  ];
  for (const c of cases) {
    const present = new Set(c.defs.map((d) => d.path));
    assert.throws(
      () =>
        planBuilds({
          files: c.files,
          paths: parsePackagePaths('package_paths', '*.yaml'),
          definitions: c.defs,
          present: (p) => present.has(p),
          archs: ['amd64'],
        }),
      (err: unknown) => err instanceof Error && c.error.test(err.message),
      c.name,
    );
  }
});

test('parsePackagePaths: globs with **, * and ?, lists, braces and excludes', () => {
  const cases = [
    {
      name: 'default: definitions at the root',
      input: '*.yaml',
      yes: ['zlib.yaml', 'py3-foo.yaml'],
      no: ['packages/zlib.yaml', '.github/workflows/ci.yaml', '.yamllint.yaml', 'zlib.yml'],
    },
    {
      name: '** descends, never into node_modules or dot directories',
      input: 'packages/**/*.yaml',
      yes: ['packages/a.yaml', 'packages/x/y/a.yaml'],
      no: ['a.yaml', 'packages/node_modules/a.yaml', 'packages/.cache/a.yaml'],
    },
    {
      name: '? is one character',
      input: 'pkg-?.yaml',
      yes: ['pkg-a.yaml'],
      no: ['pkg-ab.yaml', 'pkg-.yaml'],
    },
    {
      name: 'a list: spaces, commas, newlines',
      input: '*.yaml, recipes/*.yml\n  extra/**/*.yaml',
      yes: ['a.yaml', 'recipes/b.yml', 'extra/c/d.yaml'],
      no: ['recipes/b.yaml'],
    },
    {
      name: 'commas inside braces belong to the pattern',
      input: 'packages/{main,extra}/*.yaml',
      yes: ['packages/main/a.yaml', 'packages/extra/a.yaml'],
      no: ['packages/other/a.yaml'],
    },
    {
      name: '! excludes',
      input: '*.yaml !mkdocs.yaml,!*-test.yaml',
      yes: ['zlib.yaml'],
      no: ['mkdocs.yaml', 'zlib-test.yaml'],
    },
    { name: './ prefix', input: './packages/*.yaml', yes: ['packages/a.yaml'], no: ['a.yaml'] },
  ];
  for (const c of cases) {
    const paths = parsePackagePaths('package_paths', c.input);
    for (const p of c.yes) assert.equal(paths.matches(p), true, `${c.name}: ${p} matches`);
    for (const p of c.no) assert.equal(paths.matches(p), false, `${c.name}: ${p} does not`);
  }
  assert.deepEqual(splitPatterns('a,{b,c} d\n'), ['a', '{b,c}', 'd']);
});

test('parsePackagePaths: bad lists name the input', () => {
  const cases = [
    { name: 'empty', input: ' , ', error: /^input "package_paths" is empty: use/ },
    { name: 'absolute', input: '/etc/*.yaml', error: /^invalid glob "\/etc\/\*\.yaml" for input/ },
    { name: 'leaves the repository', input: '../*.yaml', error: /^invalid glob "\.\.\/\*\.yaml"/ },
    {
      name: 'only excludes',
      input: '!a.yaml',
      error: /^invalid glob list "!a.yaml".*only exclude/,
    },
    { name: 'a bare !', input: '*.yaml !', error: /^invalid glob "!"/ },
  ];
  for (const c of cases) {
    assert.throws(
      () => parsePackagePaths('package_paths', c.input),
      (err: unknown) =>
        err instanceof InputError && err.input === 'package_paths' && c.error.test(err.message),
      c.name,
    );
  }
});

test('parsePackageDefinition: melange name, subpackages and build-time dependencies', () => {
  const cases = [
    {
      name: 'full',
      input: [
        'package:',
        '  name: libpng',
        '  version: 1.6.39',
        'environment:',
        '  contents:',
        '    packages:',
        '      - build-base',
        '      - zlib-dev>=1.2',
        '      - busybox=1.36-r0',
        '      - zlib-dev',
        'subpackages:',
        '  - name: ${{package.name}}-dev',
        '  - name: "${{ package.name }}-doc"',
        '  - name: ${{range.key}}-x',
        '  - description: nameless',
        'pipeline:',
        '  - runs: make',
      ].join('\n'),
      want: {
        path: 'libpng.yaml',
        name: 'libpng',
        subpackages: ['libpng-dev', 'libpng-doc'],
        dependencies: ['build-base', 'zlib-dev', 'busybox'],
      },
    },
    {
      name: 'no environment',
      input: 'package:\n  name: tiny\n',
      want: { path: 'libpng.yaml', name: 'tiny', subpackages: [], dependencies: [] },
    },
    { name: 'not a definition: CI config', input: 'on: push\njobs: {}\n', want: undefined },
    { name: 'not a definition: empty', input: '', want: undefined },
    { name: 'not a definition: a list', input: '- a\n- b\n', want: undefined },
  ];
  for (const c of cases)
    assert.deepEqual(parsePackageDefinition('libpng.yaml', c.input), c.want, c.name);
});

test('parsePackageDefinition: errors name the file', () => {
  const cases = [
    {
      name: 'bad YAML',
      input: 'package:\n  name: [a\n',
      error: /^x\.yaml:\d+:\d+: invalid YAML: /,
    },
    {
      name: 'two documents',
      input: 'package: {name: a}\n---\npackage: {name: b}\n',
      error: /^x\.yaml:2:1: invalid YAML: several documents, a definition is one$/,
    },
    {
      name: 'name not a string',
      input: 'package:\n  name: 7\n',
      error: /^x\.yaml: package\.name is not a string$/,
    },
    {
      name: 'name not a package name',
      input: 'package:\n  name: Foo Bar\n',
      error: /^x\.yaml: invalid package\.name "Foo Bar": use up to 100 lowercase letters/,
    },
    {
      name: 'packages not a list',
      input: 'package: {name: a}\nenvironment: {contents: {packages: zlib}}\n',
      error: /^x\.yaml: environment\.contents\.packages is not a list$/,
    },
    {
      name: 'a dependency not a string',
      input: 'package: {name: a}\nenvironment: {contents: {packages: [zlib, {x: 1}]}}\n',
      error: /^x\.yaml: environment\.contents\.packages\[1\] is not a package name$/,
    },
  ];
  for (const c of cases) {
    assert.throws(
      () => parsePackageDefinition('x.yaml', c.input),
      (err: unknown) =>
        err instanceof DefinitionError && err.path === 'x.yaml' && c.error.test(err.message),
      c.name,
    );
  }
});

test('the example packages plan like run-pipeline.sh --order: zlib before libpng', () => {
  const dir = new URL('../../examples/packages/', import.meta.url);
  const defs = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => parsePackageDefinition(`packages/${f}`, readFileSync(new URL(f, dir), 'utf8')))
    .filter((d): d is PackageDefinition => d !== undefined);
  assert.deepEqual(defs.map((d) => d.name).sort(), ['brotli', 'hello', 'libpng', 'zlib']);
  const plan = planBuilds({
    files: [
      { filename: 'packages/zlib.yaml', status: 'modified' },
      { filename: 'packages/hello.yaml', status: 'modified' },
      { filename: 'packages/README.md', status: 'modified' },
    ],
    paths: parsePackagePaths('package_paths', 'packages/*.yaml'),
    definitions: defs,
    present: () => true,
    archs: ['amd64', 'arm64'],
  });
  assert.deepEqual(plan.levels, [['hello', 'zlib'], ['libpng']]);
  assert.equal(plan.matrix.include.length, 6);
  assert.deepEqual(plan.ignored, ['packages/README.md']);
});

test("inputValue: github_token defaults to the runner's token, so empty here", () => {
  assert.equal(inputValue({}, 'github_token'), '');
  assert.equal(inputValue({ github_token: '' }, 'github_token'), '');
  assert.equal(inputValue({ github_token: ' ghs_x ' }, 'github_token'), 'ghs_x');
});
