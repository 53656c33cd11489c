import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';

const EXAMPLES = path.resolve(import.meta.dirname, '../../examples');
const DEFINITIONS = path.join(EXAMPLES, 'packages');
const RUN_PIPELINE = path.join(EXAMPLES, 'run-pipeline.sh');

/** Step is one `pipeline:` entry of a definition, in the subset run-pipeline.sh runs. */
interface Step {
  name?: string;
  'working-directory'?: string;
  runs: string;
}

/** Definition is a package definition as the yaml package reads it, validated. */
interface Definition {
  name: string;
  version: string;
  epoch: number;
  description: string;
  deps: string[];
  pipeline: Step[];
  test: Step[];
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${where} must be a mapping`);
  }
  return value as Record<string, unknown>;
}

function steps(value: unknown, where: string): Step[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${where} must be a sequence`);
  return value.map((raw, i) => {
    const step = record(raw, `${where}[${i}]`);
    for (const key of Object.keys(step)) {
      if (!['name', 'runs', 'working-directory'].includes(key)) {
        throw new Error(`${where}[${i}] has unsupported key "${key}"`);
      }
    }
    if (typeof step.runs !== 'string' || step.runs.trim() === '') {
      throw new Error(`${where}[${i}].runs must be a non-empty block scalar`);
    }
    return step as unknown as Step;
  });
}

/** readDefinition parses a definition's YAML text and checks melange's fields; throws naming the field. */
function readDefinition(text: string): Definition {
  const doc = record(parse(text), 'the document');
  const pkg = record(doc.package, 'package');
  const { name, version, epoch, description } = pkg;
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9.+-]*$/.test(name)) {
    throw new Error(`package.name must be a lower-case name, not ${String(name)}`);
  }
  if (typeof version !== 'string' || !/^[0-9][0-9A-Za-z.+_~]*$/.test(version)) {
    throw new Error(
      `package.version must be a string like "2.10" (quote it), not ${String(version)}`,
    );
  }
  if (typeof epoch !== 'number' || !Number.isInteger(epoch) || epoch < 0) {
    throw new Error(`package.epoch must be an integer >= 0, not ${String(epoch)}`);
  }
  if (typeof description !== 'string' || description === '') {
    throw new Error('package.description is missing');
  }
  const env = doc.environment === undefined ? {} : record(doc.environment, 'environment');
  const contents = env.contents === undefined ? {} : record(env.contents, 'environment.contents');
  const deps = contents.packages ?? [];
  if (!Array.isArray(deps) || !deps.every((d) => typeof d === 'string')) {
    throw new Error('environment.contents.packages must be a sequence of names');
  }
  const pipeline = steps(doc.pipeline, 'pipeline');
  if (pipeline.length === 0) throw new Error('pipeline must have at least one step');
  const testSection = doc.test === undefined ? {} : record(doc.test, 'test');
  return {
    name,
    version,
    epoch,
    description,
    deps: deps as string[],
    pipeline,
    test: steps(testSection.pipeline, 'test.pipeline'),
  };
}

/** levels groups packages so that each depends only on earlier levels; throws on a cycle, naming it. */
function levels(graph: Map<string, string[]>): string[][] {
  const out: string[][] = [];
  const done = new Set<string>();
  while (done.size < graph.size) {
    const level = [...graph.keys()]
      .filter((p) => !done.has(p))
      .filter((p) => (graph.get(p) ?? []).every((d) => done.has(d) || !graph.has(d)))
      .sort();
    if (level.length === 0) {
      const left = [...graph.keys()].filter((p) => !done.has(p)).sort();
      throw new Error(`dependency cycle among: ${left.join(', ')}`);
    }
    level.forEach((p) => done.add(p));
    out.push(level);
  }
  return out;
}

function hostPackages(): Set<string> {
  const text = readFileSync(path.join(EXAMPLES, 'host-packages.txt'), 'utf8');
  const names = text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.trim().split(/\s+/)[0] ?? '');
  return new Set(names);
}

const files = readdirSync(DEFINITIONS).filter((f) => f.endsWith('.yaml'));
const definitions = new Map(
  files.map((f) => [
    f.replace(/\.yaml$/, ''),
    readDefinition(readFileSync(path.join(DEFINITIONS, f), 'utf8')),
  ]),
);

test('examples: at least hello, zlib and brotli are defined', () => {
  for (const name of ['hello', 'zlib', 'brotli']) assert.ok(definitions.has(name), name);
});

test('examples: each definition is named after its file', () => {
  for (const [file, def] of definitions) assert.equal(def.name, file);
});

test('examples: dependencies are packages of examples/ or host packages', () => {
  const host = hostPackages();
  for (const def of definitions.values()) {
    for (const dep of def.deps) {
      assert.ok(definitions.has(dep) || host.has(dep), `${def.name} depends on unknown "${dep}"`);
    }
  }
});

test('examples: the dependency graph has no cycle and at least one edge', () => {
  const graph = new Map(
    [...definitions].map(([name, def]) => [name, def.deps.filter((d) => definitions.has(d))]),
  );
  const got = levels(graph);
  assert.ok(
    got.length >= 2,
    `expected a package that depends on another, got levels ${JSON.stringify(got)}`,
  );
  assert.ok(got[0]?.includes('zlib') && got.slice(1).some((l) => l.includes('libpng')));
});

test('levels', async (t) => {
  const cases: Array<{
    name: string;
    input: Record<string, string[]>;
    want?: string[][];
    error?: RegExp;
  }> = [
    { name: 'independent', input: { a: [], b: [] }, want: [['a', 'b']] },
    { name: 'chain', input: { c: ['b'], b: ['a'], a: [] }, want: [['a'], ['b'], ['c']] },
    { name: 'host packages ignored', input: { a: ['make'], b: ['a'] }, want: [['a'], ['b']] },
    { name: 'cycle', input: { a: ['b'], b: ['a'], c: [] }, error: /dependency cycle among: a, b$/ },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const graph = new Map(Object.entries(c.input));
      if (c.error) assert.throws(() => levels(graph), c.error);
      else assert.deepEqual(levels(graph), c.want);
    });
  }
});

test('readDefinition rejects what run-pipeline.sh cannot run', async (t) => {
  const base = 'package: {name: a, version: "1.0", epoch: 0, description: d}\n';
  const cases: Array<{ name: string; input: string; error: RegExp }> = [
    {
      name: 'unquoted float version',
      input: 'package: {name: a, version: 2.10, epoch: 0, description: d}\npipeline: [{runs: x}]',
      error: /version must be a string/,
    },
    { name: 'no pipeline', input: base, error: /pipeline must/ },
    {
      name: 'uses step',
      input: `${base}pipeline: [{uses: fetch}]`,
      error: /unsupported key "uses"/,
    },
    {
      name: 'negative epoch',
      input: base.replace('epoch: 0', 'epoch: -1') + 'pipeline: [{runs: x}]',
      error: /epoch/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => assert.throws(() => readDefinition(c.input), c.error));
  }
});

/** SUBSTITUTIONS are the melange variables run-pipeline.sh rewrites to its environment variables. */
const SUBSTITUTIONS: Array<[string, string]> = [
  ['${{package.name}}', '${KBUILD_PACKAGE}'],
  ['${{package.version}}', '${KBUILD_PACKAGE_VERSION}'],
  ['${{package.epoch}}', '${KBUILD_PACKAGE_EPOCH}'],
  ['${{package.full-version}}', '${KBUILD_PACKAGE_VERSION}-r${KBUILD_PACKAGE_EPOCH}'],
  ['${{targets.destdir}}', '${KBUILD_DESTDIR}'],
  ['${{targets.contextdir}}', '${KBUILD_DESTDIR}'],
  ['${{build.arch}}', '${KBUILD_ARCH}'],
];

/** dump runs `run-pipeline.sh --dump` on a workspace and returns what it read. */
function dump(
  workspace: string,
  name: string,
): { status: number | null; stderr: string; read?: Definition } {
  const out = mkdtempSync(path.join(tmpdir(), 'kbuild-dump-'));
  try {
    const r = spawnSync('sh', [RUN_PIPELINE, '--dump', out, name], {
      env: { PATH: process.env.PATH, KBUILD_WORKSPACE: workspace },
      encoding: 'utf8',
    });
    if (r.status !== 0) return { status: r.status, stderr: r.stderr };
    const meta = readFileSync(path.join(out, 'meta'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t'));
    const value = (k: string): string => meta.find((m) => m[0] === k)?.[1] ?? '';
    const stepsOf = (kind: string): Step[] =>
      meta
        .filter((m) => m[0] === 'step' && m[1] === kind)
        .map((m) => {
          const n = m[2] ?? '';
          const extra = (k: string): string | undefined =>
            meta.find((e) => e[0] === k && e[1] === kind && e[2] === n)?.[3];
          const step: Step = { runs: readFileSync(path.join(out, `${kind}-${n}.sh`), 'utf8') };
          const title = extra('step-name');
          const dir = extra('step-dir');
          if (title !== undefined) step.name = title;
          if (dir !== undefined) step['working-directory'] = dir;
          return step;
        });
    const read: Definition = {
      name: value('package.name'),
      version: value('package.version'),
      epoch: Number(value('package.epoch')),
      description: value('package.description'),
      deps: meta.filter((m) => m[0] === 'dep').map((m) => m[1] ?? ''),
      pipeline: stepsOf('build'),
      test: stepsOf('test'),
    };
    return { status: 0, stderr: r.stderr, read };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** expected is what run-pipeline.sh should read from a definition: the yaml package's view, substituted. */
function expected(def: Definition): Definition {
  const sub = (s: Step): Step => {
    let runs = s.runs;
    for (const [from, to] of SUBSTITUTIONS) runs = runs.split(from).join(to);
    return { ...s, runs: runs.replace(/\n*$/, '\n') };
  };
  return { ...def, pipeline: def.pipeline.map(sub), test: def.test.map(sub) };
}

test('run-pipeline.sh reads each example as the yaml package does', () => {
  for (const [name, def] of definitions) {
    const got = dump(EXAMPLES, name);
    assert.equal(got.status, 0, got.stderr);
    assert.deepEqual(got.read, expected(def), name);
  }
});

test('run-pipeline.sh YAML subset', async (t) => {
  const head =
    'package:\n  name: p\n  version: "1.0"\n  epoch: 2\n  description: "a # not a comment"\n';
  const cases: Array<{ name: string; input: string; error?: RegExp }> = [
    {
      name: 'compact sequences, comments, quoting, block chomping',
      input:
        `${head}  copyright:\n    - license: MIT\n# a comment\nenvironment:\n  contents:\n    packages:\n    - 'make' # host\n    - "cmake"\n` +
        'pipeline:\n- name: first\n  working-directory: src\n  runs: |-\n    echo "${{package.full-version}}"\n\n    # shell comment\n      indented\n' +
        '- runs: |\n    true\n\n\ntest:\n  pipeline:\n    - runs: |\n        echo ${{build.arch}}\n',
    },
    {
      name: 'uses step',
      input: `${head}pipeline:\n  - uses: fetch\n`,
      error: /unsupported step key "uses"/,
    },
    {
      name: 'flow sequence',
      input: `${head}environment:\n  contents:\n    packages: [a, b]\npipeline:\n  - runs: |\n      true\n`,
      error: /flow collections/,
    },
    {
      name: 'unknown substitution',
      input: `${head}pipeline:\n  - runs: |\n      echo \${{vars.x}}\n`,
      error: /unsupported substitution/,
    },
    {
      name: 'runs not a block',
      input: `${head}pipeline:\n  - runs: make\n`,
      error: /runs: must be a block scalar/,
    },
    {
      name: 'tab indentation',
      input: `${head}pipeline:\n\t- runs: |\n      true\n`,
      error: /tabs/,
    },
  ];
  const ws = mkdtempSync(path.join(tmpdir(), 'kbuild-ws-'));
  t.after(() => rmSync(ws, { recursive: true, force: true }));
  mkdirSync(path.join(ws, 'packages'));
  for (const c of cases) {
    await t.test(c.name, () => {
      writeFileSync(path.join(ws, 'packages', 'p.yaml'), c.input);
      const got = dump(ws, 'p');
      if (c.error) {
        assert.notEqual(got.status, 0);
        assert.match(got.stderr, c.error);
      } else {
        assert.equal(got.status, 0, got.stderr);
        assert.deepEqual(got.read, expected(readDefinition(c.input)));
      }
    });
  }
});

test('run-pipeline.sh --order', async (t) => {
  const def = (name: string, deps: string[]): string =>
    `package:\n  name: ${name}\n  version: "1"\n  epoch: 0\n  description: d\nenvironment:\n  contents:\n    packages:\n` +
    deps.map((d) => `      - ${d}\n`).join('') +
    'pipeline:\n  - runs: |\n      true\n';
  const cases: Array<{
    name: string;
    input: Record<string, string[]>;
    want?: RegExp;
    error?: RegExp;
  }> = [
    {
      name: 'dependencies first',
      input: { b: ['a', 'make'], a: [], c: ['b'] },
      want: /^a\nb\nc\n$/,
    },
    { name: 'cycle', input: { a: ['b'], b: ['a'] }, error: /loop/ },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const ws = mkdtempSync(path.join(tmpdir(), 'kbuild-order-'));
      try {
        mkdirSync(path.join(ws, 'packages'));
        for (const [name, deps] of Object.entries(c.input)) {
          writeFileSync(path.join(ws, 'packages', `${name}.yaml`), def(name, deps));
        }
        const r = spawnSync('sh', [RUN_PIPELINE, '--order'], {
          env: { PATH: process.env.PATH, KBUILD_WORKSPACE: ws },
          encoding: 'utf8',
        });
        if (c.error) assert.match(r.stderr, c.error);
        else assert.match(r.stdout, c.want ?? /^$/);
      } finally {
        rmSync(ws, { recursive: true, force: true });
      }
    });
  }
  await t.test('the examples: zlib before libpng', () => {
    const r = spawnSync('sh', [RUN_PIPELINE, '--order'], {
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
    });
    const order = r.stdout.trim().split('\n');
    assert.deepEqual([...order].sort(), [...definitions.keys()].sort());
    assert.ok(order.indexOf('zlib') < order.indexOf('libpng'), order.join(' '));
  });
});
