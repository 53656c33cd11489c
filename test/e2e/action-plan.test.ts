// action-plan.test.ts: the bundled action (dist/main.js) in mode `plan`, run
// like a runner runs it (INPUT_* variables, GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files, the event payload at GITHUB_EVENT_PATH) against a
// local stand-in for GitHub's REST API ("List pull requests files", paginated
// with Link headers). Needs `npm run build`, not the lab.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseFileCommand } from './action.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const TOKEN = 'ghs_planE2eToken0123456789';
const REPOSITORY = 'kbuild-lab/packages';

interface PullFile {
  filename: string;
  status: string;
  previous_filename?: string;
}

/** PULLS: the stand-in's pull requests (number -> files), or an HTTP status to refuse with. */
const PULLS: Record<number, PullFile[] | number> = {
  1: [
    { filename: 'zlib.yaml', status: 'modified' },
    ...Array.from({ length: 130 }, (_, i) => ({ filename: `docs/page-${i}.md`, status: 'added' })),
    { filename: 'old.yaml', status: 'removed' },
  ],
  2: [{ filename: 'README.md', status: 'modified' }],
  3: [{ filename: 'b.yaml', status: 'modified' }],
  4: [
    { filename: '.github/workflows/ci.yaml', status: 'modified' },
    { filename: 'mkdocs.yaml', status: 'modified' },
    { filename: 'docs/index.md', status: 'added' },
    { filename: 'hello.yaml', status: 'renamed', previous_filename: 'greeter.yaml' },
  ],
  5: 403,
};

const MELANGE = (name: string, deps: string[]) =>
  [
    `package:\n  name: ${name}\n  version: "1.0"\n  epoch: 0`,
    'environment:\n  contents:\n    packages:',
    ...['build-base', 'busybox', ...deps].map((d) => `      - ${d}`),
    'pipeline:\n  - runs: make\n',
  ].join('\n');

const REPO_FILES: Record<string, string> = {
  'zlib.yaml': MELANGE('zlib', []),
  'libpng.yaml': MELANGE('libpng', ['zlib']),
  'hello.yaml': MELANGE('hello', []),
  'mkdocs.yaml': 'site_name: packages\nnav: []\n',
  '.github/workflows/ci.yaml': 'on: pull_request\njobs: {}\n',
  'README.md': '# packages\n',
};
const CYCLE_FILES: Record<string, string> = {
  'a.yaml': MELANGE('a', ['b']),
  'b.yaml': MELANGE('b', ['c']),
  'c.yaml': MELANGE('c', ['a']),
  'z.yaml': MELANGE('z', []),
};

let server: Server;
let apiUrl = '';
const requests: { url: string; authorization: string }[] = [];

before(async () => {
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', authorization: req.headers.authorization ?? '' });
    const url = new URL(req.url ?? '/', apiUrl);
    const m = /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)\/files$/.exec(url.pathname);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' || !m || `${m[1]}/${m[2]}` !== REPOSITORY)
      return send(404, { message: 'Not Found' });
    if (
      !/^(token|Bearer) /.test(req.headers.authorization ?? '') ||
      !req.headers.authorization?.endsWith(TOKEN)
    )
      return send(401, { message: 'Bad credentials' });
    const files = PULLS[Number(m[3])];
    if (files === undefined) return send(404, { message: 'Not Found' });
    if (typeof files === 'number')
      return send(files, { message: 'Resource not accessible by integration' });
    const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), 100);
    const page = Number(url.searchParams.get('page') ?? 1);
    const last = Math.max(1, Math.ceil(files.length / perPage));
    const link = (p: number, rel: string) => {
      const u = new URL(url);
      u.searchParams.set('page', String(p));
      return `<${u.href}>; rel="${rel}"`;
    };
    const links = [
      ...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []),
      ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : []),
    ];
    send(
      200,
      files.slice((page - 1) * perPage, page * perPage),
      links.length ? { link: links.join(', ') } : {},
    );
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((res) => server.close(() => res())));

interface PlanRun {
  code: number | null;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
}

/** runPlan runs dist/main.js in a fresh workspace holding `files`, for the event payload `event`. */
function runPlan(o: {
  files: Record<string, string>;
  event: object;
  eventName?: string;
  inputs?: Record<string, string>;
}): Promise<PlanRun> {
  const dir = mkdtempSync(join(tmpdir(), 'kbuild-plan-'));
  const ws = join(dir, 'ws');
  for (const [path, text] of Object.entries(o.files)) {
    mkdirSync(dirname(join(ws, path)), { recursive: true });
    writeFileSync(join(ws, path), text);
  }
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_EVENT_PATH: join(dir, 'event.json'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  writeFileSync(files.GITHUB_EVENT_PATH, JSON.stringify(o.event));
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '/root',
    ...files,
    RUNNER_TEMP: dir,
    GITHUB_WORKSPACE: ws,
    GITHUB_ACTIONS: 'true',
    GITHUB_API_URL: apiUrl,
    GITHUB_REPOSITORY: REPOSITORY,
    GITHUB_REPOSITORY_OWNER: 'kbuild-lab',
    GITHUB_SHA: 'b'.repeat(40),
    GITHUB_REF: 'refs/pull/1/merge',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_EVENT_NAME: o.eventName ?? 'pull_request',
  };
  const inputs = {
    mode: 'plan',
    github_token: TOKEN,
    archs: 'amd64',
    package_paths: '*.yaml',
    ...o.inputs,
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  return new Promise((res, rej) => {
    const child = spawn(resolve(ROOT, 'node_modules/.bin/node'), [resolve(ROOT, 'dist/main.js')], {
      cwd: ws,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (c: string) => out.push(c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => out.push(c));
    child.on('error', rej);
    child.on('close', (code) =>
      res({
        code,
        stdout: out.join(''),
        outputs: parseFileCommand(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
        summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
      }),
    );
  });
}

const pr = (number: number) => ({
  pull_request: { number },
  repository: { name: 'packages', owner: { login: 'kbuild-lab' } },
});

test('plan: a changed library and its dependent, level by level, for each arch; 132 files over 2 pages', async () => {
  requests.length = 0;
  const run = await runPlan({
    files: REPO_FILES,
    event: pr(1),
    inputs: { archs: 'amd64, aarch64' },
  });
  assert.equal(run.code, 0, run.stdout);
  assert.deepEqual(JSON.parse(run.outputs['matrix'] ?? ''), {
    include: [
      { package: 'zlib', arch: 'amd64' },
      { package: 'zlib', arch: 'arm64' },
      { package: 'libpng', arch: 'amd64' },
      { package: 'libpng', arch: 'arm64' },
    ],
  });
  assert.deepEqual(JSON.parse(run.outputs['levels'] ?? ''), [['zlib'], ['libpng']]);
  // The `dependencies` input of mode dispatch.
  assert.deepEqual(JSON.parse(run.outputs['dependencies'] ?? ''), { libpng: ['zlib'] });
  assert.deepEqual(
    requests.map((r) => new URL(r.url, apiUrl).searchParams.get('page') ?? '1'),
    ['1', '2'],
    'both pages were read',
  );
  assert.ok(
    requests.every((r) => r.authorization.endsWith(TOKEN)),
    'the token was sent',
  );
  assert.match(run.stdout, /^Level 0: zlib$/m);
  assert.match(run.stdout, /^Level 1: libpng$/m);
  assert.match(run.stdout, /^old\.yaml was removed: not built$/m);
  assert.match(run.stdout, /^Pull request #1: 132 changed files, 1 package definition changed$/m);
  assert.match(
    run.stdout,
    /^Not package definitions \(ignored\): docs\/page-0\.md .* and 80 more$/m,
  );
  assert.match(run.summary, /### kbuild plan: pull request #1/);
  assert.match(run.summary, /^\| 0 \| `zlib` \| definition changed \| amd64, arm64 \|$/m);
  assert.match(run.summary, /^\| 1 \| `libpng` \| depends on `zlib` \| amd64, arm64 \|$/m);
  assert.match(run.summary, /4 builds in 2 levels/);
  assert.match(
    run.summary,
    /Not package definitions, ignored: .*`docs\/page-0\.md`.* and 110 more/,
  );
  const leaks = run.stdout
    .split('\n')
    .filter((l) => l.includes(TOKEN) && !l.startsWith('::add-mask::'));
  assert.deepEqual(leaks, [], 'the token is only ever printed to be masked');
});

test('plan: a pull request without package changes gives an empty matrix and says so', async () => {
  const run = await runPlan({ files: REPO_FILES, event: pr(2) });
  assert.equal(run.code, 0, run.stdout);
  assert.equal(run.outputs['matrix'], '{"include":[]}');
  assert.equal(run.outputs['levels'], '[]');
  assert.equal(run.outputs['dependencies'], '{}');
  assert.match(run.stdout, /No package definitions changed: nothing to build/);
  assert.match(run.summary, /No package definitions \(`\*\.yaml`\) changed: nothing to build\./);
  assert.match(run.summary, /ignored: `README\.md`/);
});

test('plan: a dependency cycle fails the step and names its packages', async () => {
  const run = await runPlan({ files: CYCLE_FILES, event: pr(3) });
  assert.equal(run.code, 1, run.stdout);
  assert.match(run.stdout, /^::error::kbuild-action failed: dependency cycle: a -> b -> c -> a: /m);
  assert.equal(run.outputs['matrix'], undefined);
});

test('plan: files that are not package definitions are ignored, with a note', async () => {
  const run = await runPlan({ files: REPO_FILES, event: pr(4) });
  assert.equal(run.code, 0, run.stdout);
  assert.deepEqual(JSON.parse(run.outputs['matrix'] ?? ''), {
    include: [{ package: 'hello', arch: 'amd64' }],
  });
  assert.deepEqual(JSON.parse(run.outputs['levels'] ?? ''), [['hello']]);
  assert.match(run.summary, /mkdocs\.yaml matches package_paths but has no package\.name/);
  assert.match(run.summary, /^1 build in 1 level\.$/m);
  assert.match(
    run.summary,
    /ignored: `\.github\/workflows\/ci\.yaml`, `docs\/index\.md`, `mkdocs\.yaml`/,
  );
  assert.match(
    run.stdout,
    /^Not package definitions \(ignored\): \.github\/workflows\/ci\.yaml docs\/index\.md mkdocs\.yaml$/m,
  );
});

test('plan: failures name the cause and the fix', async () => {
  const cases: {
    name: string;
    event: object;
    eventName: string;
    inputs: Record<string, string>;
    error: RegExp;
  }[] = [
    {
      name: 'the token may not read pull requests',
      event: pr(5),
      eventName: 'pull_request',
      inputs: {},
      error:
        /cannot list the files of pull request #5 in kbuild-lab\/packages: .*pull-requests: read/,
    },
    {
      name: 'not a pull request event',
      event: { ref: 'refs/heads/main' },
      eventName: 'push',
      inputs: {},
      error:
        /mode "plan" needs a pull request: the "push" event payload .* has no pull_request\.number/,
    },
    {
      name: 'a bad input, before any request',
      event: pr(1),
      eventName: 'pull_request',
      inputs: { archs: 'sparc', package_paths: '/abs/*.yaml' },
      error:
        /2 invalid inputs:%0A- invalid arch "sparc" for input "archs".*%0A- invalid glob "\/abs\/\*\.yaml" for input "package_paths"/,
    },
  ];
  for (const c of cases) {
    requests.length = 0;
    const run = await runPlan({
      files: REPO_FILES,
      event: c.event,
      eventName: c.eventName,
      inputs: c.inputs,
    });
    assert.equal(run.code, 1, `${c.name}: ${run.stdout}`);
    const error = run.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
    assert.match(error, c.error, c.name);
    if (c.name.startsWith('a bad input')) assert.equal(requests.length, 0, 'no request was made');
  }
});
