// runner.ts: a local stand-in for the GitHub runner: runs the bundled action (dist/main.js, dist/post.js) exactly as a
// GitHub runner would: INPUT_* variables, GITHUB_OUTPUT / GITHUB_STEP_SUMMARY /
// GITHUB_STATE files, the GITHUB_* context, RUNNER_TEMP, and the lab's OIDC
// request URL and token. Also reads objects back with gcloud (a client we did
// not write).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { labEnv, ROOT } from './env.ts';

/** ActionRun: what a step run left behind. */
export interface ActionRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** The STATE_* variables the runner would give the post step. */
  state: Record<string, string>;
  runDir: string;
  workspace: string;
}

let runCounter = 0;

/** parseFileCommand reads GITHUB_OUTPUT / GITHUB_STATE (`name<<DELIM` heredocs or `name=value`). */
export function parseFileCommand(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const h = /^([^=<]+)<<(.+)$/.exec(line);
    if (h) {
      const [, name, delim] = h;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i] ?? '');
      out[name!] = value.join('\n');
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

/** StepOptions: inputs (snake_case, as in a workflow's `with:`) and the run's context. */
export interface StepOptions {
  inputs: Record<string, string>;
  /** The workspace directory (GITHUB_WORKSPACE, the step's cwd); a fresh empty one by default. */
  workspace?: string;
  /** Extra or overriding environment variables. */
  env?: Record<string, string>;
  /** Bundle to run: main (default) or post. */
  entry?: 'main' | 'post';
  /**
   * fromSources runs src/action/entry-{main,post}.ts with Node's type stripping instead of the bundle
   * in dist/ (for tests of inputs that the committed bundle may not have yet).
   */
  fromSources?: boolean;
  /** STATE_* for the post step. */
  state?: Record<string, string>;
  runId?: string;
  /** Called with the child once started (to send signals). */
  onStart?: (child: ChildProcess) => void;
  /** Called with each chunk of stdout. */
  onStdout?: (chunk: string) => void;
}

/**
 * actionDefaults reads the defaults of action.yml's inputs: a runner sets
 * INPUT_<NAME> for every input that has a default and is not given. An
 * expression default (`${{ github.token }}`) is evaluated from `expressions`.
 */
export function actionDefaults(expressions: Record<string, string> = {}): Record<string, string> {
  const doc = parse(readFileSync(resolve(ROOT, 'action.yml'), 'utf8')) as {
    inputs?: Record<string, { default?: unknown }>;
  };
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(doc.inputs ?? {})) {
    if (spec.default === undefined || spec.default === null) continue;
    const v = String(spec.default);
    const expr = /^\$\{\{\s*(.+?)\s*\}\}$/.exec(v);
    if (expr) {
      if (expressions[expr[1]!] !== undefined) out[name] = expressions[expr[1]!]!;
    } else out[name] = v;
  }
  return out;
}

/** labInputs are the inputs that point the action at the lab's GKE stand-in through WIF. */
export function labInputs(): Record<string, string> {
  const env = labEnv();
  return {
    workload_identity_provider: env['KBUILD_LAB_WORKLOAD_IDENTITY_PROVIDER']!,
    service_account: env['KBUILD_LAB_SERVICE_ACCOUNT']!,
    project_id: env['KBUILD_LAB_PROJECT_ID']!,
    cluster: env['KBUILD_LAB_CLUSTER']!,
    location: env['KBUILD_LAB_LOCATION']!,
  };
}

/** newRunId answers a run id no other test run used. */
export function newRunId(): string {
  return `${Date.now() % 1_000_000_000}${String(++runCounter).padStart(2, '0')}`;
}

/** runStep runs the bundled action once and waits for it to exit. */
export function runStep(o: StepOptions): Promise<ActionRun> {
  const runDir = mkdtempSync(join(tmpdir(), 'kbuild-step-'));
  const workspace = o.workspace ?? mkdtempSync(join(tmpdir(), 'kbuild-ws-'));
  const files = {
    GITHUB_OUTPUT: join(runDir, 'output'),
    GITHUB_STEP_SUMMARY: join(runDir, 'summary'),
    GITHUB_STATE: join(runDir, 'state'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const lab = labEnv();
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '/root',
    ...files,
    RUNNER_TEMP: runDir,
    GITHUB_WORKSPACE: workspace,
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'kbuild-lab/demo',
    GITHUB_REPOSITORY_ID: '90001',
    GITHUB_REPOSITORY_OWNER: 'kbuild-lab',
    GITHUB_SHA: 'a'.repeat(40),
    GITHUB_REF: 'refs/heads/main',
    GITHUB_RUN_ID: o.runId ?? newRunId(),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_WORKFLOW: 'e2e',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_ACTOR: 'kbuild-bot',
    ACTIONS_ID_TOKEN_REQUEST_URL: lab['ACTIONS_ID_TOKEN_REQUEST_URL']!,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: lab['ACTIONS_ID_TOKEN_REQUEST_TOKEN']!,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_STS: lab['CLOUDSDK_API_ENDPOINT_OVERRIDES_STS']!,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS:
      lab['CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS']!,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER: lab['CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER']!,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CONNECTGATEWAY:
      lab['CLOUDSDK_API_ENDPOINT_OVERRIDES_CONNECTGATEWAY'] ?? '',
    STORAGE_EMULATOR_HOST: lab['STORAGE_EMULATOR_HOST']!,
  };
  const inputs = { ...actionDefaults({ 'github.token': 'lab-github-token' }), ...o.inputs };
  for (const [k, v] of Object.entries(inputs))
    env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
  for (const [k, v] of Object.entries(o.state ?? {})) env[`STATE_${k}`] = v;
  Object.assign(env, o.env ?? {});
  const script = o.fromSources
    ? resolve(ROOT, 'src/action', `entry-${o.entry ?? 'main'}.ts`)
    : resolve(ROOT, 'dist', `${o.entry ?? 'main'}.js`);
  return new Promise((res, rej) => {
    const child = spawn(resolve(ROOT, 'node_modules/.bin/node'), [script], {
      cwd: workspace,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    const err: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out.push(c);
      o.onStdout?.(c);
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => err.push(c));
    child.on('error', rej);
    o.onStart?.(child);
    child.on('close', (code, signal) =>
      res({
        code,
        signal,
        stdout: out.join(''),
        stderr: err.join(''),
        outputs: parseFileCommand(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
        summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
        state: parseFileCommand(readFileSync(files.GITHUB_STATE, 'utf8')),
        runDir,
        workspace,
      }),
    );
  });
}

/**
 * exampleWorkspace makes a git checkout like a user's repository: the
 * examples/ tree plus the Debian sources the packages need under sources/,
 * all committed (the action stages tracked files only).
 */
export function exampleWorkspace(sourcePackages: string[]): string {
  const ws = mkdtempSync(join(tmpdir(), 'kbuild-ws-'));
  cpSync(resolve(ROOT, 'examples'), ws, {
    recursive: true,
    filter: (src) => !/\/packages\/(x86_64|aarch64)(\/|$)/.test(src),
  });
  const sources = labEnv()['KBUILD_LAB_SOURCES']!;
  for (const s of sourcePackages) {
    const from = join(sources, s);
    if (!existsSync(from)) throw new Error(`no cached Debian source ${s} in ${sources}`);
    mkdirSync(join(ws, 'sources'), { recursive: true });
    cpSync(from, join(ws, 'sources', s), { recursive: true });
  }
  const git = (...args: string[]) => {
    const r = spawnSync('git', ['-C', ws, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  };
  git('init', '-q');
  git('add', '-A');
  if (sourcePackages.length) git('add', '-f', 'sources');
  git(
    '-c',
    'user.email=e2e@kbuild.invalid',
    '-c',
    'user.name=e2e',
    'commit',
    '-qm',
    'e2e workspace',
  );
  return ws;
}

/** listTree lists the files below dir (relative), for "nothing was left behind" checks. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** gcloud runs the real gcloud CLI against the lab's GCS; answers stdout as a Buffer. */
export function gcloud(args: string[]): Buffer {
  const lab = labEnv();
  const config = join(ROOT, '.lab', 'gcloud');
  mkdirSync(config, { recursive: true });
  const r = spawnSync('gcloud', args, {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/root',
      CLOUDSDK_CONFIG: config,
      CLOUDSDK_CORE_PROJECT: lab['KBUILD_LAB_PROJECT_ID']!,
      CLOUDSDK_AUTH_DISABLE_CREDENTIALS: 'true',
      CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE:
        lab['CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE'] ?? `${lab['STORAGE_EMULATOR_HOST']}/`,
      CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
      CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
      CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
    },
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`gcloud ${args.join(' ')} failed: ${r.stderr.toString()}`);
  return r.stdout;
}
