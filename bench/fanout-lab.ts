// fanout-lab.ts: what bench/fanout.ts needs of the lab: a scratch namespace, the identity the
// Jobs are created as, the API server's request counters, OIDC tokens for the dispatcher, and the
// dispatcher in a child process and its own log lines (Cloud Logging JSON on stdout), read as
// they arrive.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { kubectl, labEnv, labIssuer, ROOT } from '../lab/env.ts';
import { externalAccount } from '../lab/dispatcher.ts';
import { cpuSeconds, firstAnswer, freePort, MiB, NODE, PeakRss, stopChild } from './lib.ts';

/** Identity: `gke` is the lab's builder service account through the GKE stand-in and ADC (as on
 * Cloud Run; an ordinary user to API Priority and Fairness, priority level global-default);
 * `admin` is the lab's admin kubeconfig (system:masters: APF-exempt, never answered 429). */
export type Identity = 'gke' | 'admin';

/** emptyNamespace (re)creates ns and lets the gke identity manage Jobs in it (ClusterRole edit). */
export async function emptyNamespace(ns: string): Promise<void> {
  await deleteNamespace(ns);
  kubectl(['create', 'namespace', ns]);
  const user = labEnv()['KBUILD_LAB_SERVICE_ACCOUNT'] ?? '';
  kubectl([
    'create',
    'rolebinding',
    'bench-fanout',
    '--clusterrole=edit',
    `--user=${user}`,
    '-n',
    ns,
  ]);
}

/** deleteNamespace deletes ns (if there) and waits until it is gone. */
export async function deleteNamespace(ns: string): Promise<void> {
  kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']);
  await until(
    `namespace ${ns} deleted`,
    600_000,
    () => kubectl(['get', 'namespace', ns, '--ignore-not-found', '-o', 'name']).trim() === '',
  );
}

/** jobCount counts the Jobs of ns (a server-side Table: names and columns, not the objects). */
export function jobCount(ns: string): number {
  return kubectl(['get', 'jobs', '-n', ns, '--no-headers', '--ignore-not-found'])
    .split('\n')
    .filter(Boolean).length;
}

/** deleteJobs deletes every Job of ns in one deletecollection call and waits until none is left. */
export async function deleteJobs(ns: string): Promise<void> {
  kubectl(['delete', '--raw', `/apis/batch/v1/namespaces/${ns}/jobs`]);
  await until(`no Jobs left in ${ns}`, 600_000, () => jobCount(ns) === 0);
}

async function until(what: string, limitMs: number, done: () => boolean): Promise<void> {
  const end = Date.now() + limitMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

/** RequestCounts: totals of the API server's apiserver_request_total counter. */
export interface RequestCounts {
  /** tooMany: requests answered 429 Too Many Requests, any resource. */
  tooMany: number;
  /** jobCreates: `POST .../jobs` requests, any answer. */
  jobCreates: number;
}

/**
 * requestCounts reads apiserver_request_total from the API server's /metrics (Prometheus text
 * format; labels code, resource, verb among others: Kubernetes "Metrics for Kubernetes System
 * Components"). Counters only grow: subtract two readings.
 */
export function requestCounts(): RequestCounts {
  const counts: RequestCounts = { tooMany: 0, jobCreates: 0 };
  for (const line of kubectl(['get', '--raw', '/metrics']).split('\n')) {
    const m = /^apiserver_request_total\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const value = Number(m[2]);
    if (/\bcode="429"/.test(m[1]!)) counts.tooMany += value;
    if (/\bresource="jobs"/.test(m[1]!) && /\bverb="POST"/.test(m[1]!)) counts.jobCreates += value;
  }
  return counts;
}

/** minus answers a - b field by field. */
export function minus(a: RequestCounts, b: RequestCounts): RequestCounts {
  return { tooMany: a.tooMany - b.tooMany, jobCreates: a.jobCreates - b.jobCreates };
}

/** labPids answers the lab's processes by component (the PID files of .lab/pids, lab/scripts/lab.sh). */
export function labPids(): Map<string, number> {
  const dir = resolve(ROOT, '.lab/pids');
  return new Map(
    readdirSync(dir)
      .filter((f) => f.endsWith('.pid'))
      .map((f) => [f.slice(0, -4), Number(readFileSync(join(dir, f), 'utf8').trim())]),
  );
}

/** CpuMeter notes the CPU seconds of some processes at its start; `used()` answers each one's since. */
export class CpuMeter {
  readonly #start = new Map<string, number>();
  readonly #pids: Map<string, number>;

  constructor(pids: Map<string, number>) {
    this.#pids = pids;
    for (const [name, pid] of pids) this.#start.set(name, cpuSeconds(pid));
  }

  used(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, pid] of this.#pids) out.set(name, cpuSeconds(pid) - this.#start.get(name)!);
    return out;
  }
}

/** mintToken asks the lab's OIDC issuer for a GitHub-like token for audience (never printed). */
export async function mintToken(audience: string, claims: Record<string, string>): Promise<string> {
  return (await labIssuer<{ value: string }>('/_lab/mint', { audience, claims })).value;
}

/** Credentials: the dispatcher's configuration for an identity, and how to remove its files. */
export interface Credentials {
  /** env: KBUILD_KUBECONFIG, or the GKE cluster and the ADC variables. */
  env: Record<string, string>;
  remove(): void;
}

/**
 * credentialsFor answers the configuration of identity. gke: an external_account ADC file (the
 * one lab.ts writes for `--gke`) in a private temp directory, removed by remove(). admin with
 * `server`: a copy of the admin kubeconfig that reaches the API server there (--rtt-ms).
 */
export function credentialsFor(identity: Identity, server?: string): Credentials {
  const lab = labEnv();
  if (identity === 'admin' && server) {
    // The admin kubeconfig with another server (the delay proxy), in a private temp directory.
    const dir = mkdtempSync(join(tmpdir(), 'kbuild-bench-fanout-kubeconfig-'));
    const doc = parse(readFileSync(lab['KUBECONFIG'] ?? '', 'utf8')) as {
      clusters: { cluster: { server: string } }[];
    };
    for (const c of doc.clusters) c.cluster.server = server;
    const file = join(dir, 'kubeconfig');
    writeFileSync(file, stringify(doc), { mode: 0o600 });
    return {
      env: { KBUILD_KUBECONFIG: file },
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (identity === 'admin')
    return { env: { KBUILD_KUBECONFIG: lab['KUBECONFIG'] ?? '' }, remove: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'kbuild-bench-fanout-adc-'));
  const file = join(dir, 'external-account.json');
  writeFileSync(file, JSON.stringify(externalAccount(lab)), { mode: 0o600 });
  return {
    env: {
      KBUILD_CLUSTER: lab['KBUILD_LAB_CLUSTER'] ?? '',
      KBUILD_LOCATION: lab['KBUILD_LAB_LOCATION'] ?? '',
      KBUILD_PROJECT_ID: lab['KBUILD_LAB_PROJECT_ID'] ?? '',
      GOOGLE_APPLICATION_CREDENTIALS: file,
      GOOGLE_CLOUD_PROJECT: lab['KBUILD_LAB_PROJECT_ID'] ?? '',
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** ServerForm: the dispatcher as source (lab/dispatcher.ts) or as deployed (dist/dispatcher). */
export type ServerForm = 'lab' | 'bundle';

/** Server: a dispatcher child process. */
export interface Server {
  url: string;
  pid: number;
  coldStartMs: number;
  /** rssAtStartMiB: VmHWM once it answered. */
  rssAtStartMiB: number;
  rss: PeakRss;
  log: LogTap;
  stop(): Promise<void>;
}

/**
 * startServer spawns bench/fanout-server.ts (form `lab` or `bundle`) on a free port of 127.0.0.1
 * with env (plus PATH, HOME, PORT and KBUILD_AUDIENCE), and waits for its first answer.
 */
export async function startServer(form: ServerForm, env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const since = performance.now();
  const child = spawn(NODE, [resolve(ROOT, 'bench/fanout-server.ts'), form], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      // e.g. --cpu-prof for a profile of the dispatcher
      ...(process.env['NODE_OPTIONS'] ? { NODE_OPTIONS: process.env['NODE_OPTIONS'] } : {}),
      ...env,
      PORT: String(port),
      KBUILD_AUDIENCE: url,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr.on('data', (c: Buffer) => stderr.push(c.toString()));
  const log = new LogTap(child.stdout);
  const rss = new PeakRss(child.pid ?? 0, 20);
  const stop = async () => {
    rss.stop();
    await stopChild(child);
  };
  try {
    const exited = () =>
      child.exitCode !== null
        ? `exit ${child.exitCode}: ${stderr.join('').slice(-2000)}`
        : undefined;
    const coldStartMs = await firstAnswer(`${url}/healthz`, since, { exited });
    return {
      url,
      pid: child.pid ?? 0,
      coldStartMs,
      rssAtStartMiB: rss.peak / MiB,
      rss,
      log,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** FanoutLine: the dispatcher's line at the end of one fan-out (functions/dispatcher/app.ts). */
export interface FanoutLine {
  /** at: performance.now() when the line arrived. */
  at: number;
  created: number;
  failed: number;
  retries: number;
  ms: number;
}

/**
 * LogTap reads the dispatcher's JSON log lines as they arrive: the end of each fan-out, the Jobs
 * whose create was retried (WARNING `create Job NAME failed (attempt N), retrying: ...`), and the
 * last lines, for error messages.
 */
export class LogTap {
  readonly fanouts: FanoutLine[] = [];
  readonly retriedJobs = new Set<string>();
  readonly tail: string[] = [];

  constructor(stream: Readable) {
    createInterface({ input: stream }).on('line', (line) => this.#add(line));
  }

  #add(line: string): void {
    this.tail.push(line.slice(0, 500));
    if (this.tail.length > 20) this.tail.shift();
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const retried = /^create Job (\S+) failed \(attempt \d+\), retrying/.exec(String(e.message));
    if (retried) this.retriedJobs.add(retried[1]!);
    if (typeof e.create_ms === 'number') {
      this.fanouts.push({
        at: performance.now(),
        created: Number(e.jobs_created),
        failed: Number(e.jobs_failed),
        retries: Number(e.create_retries),
        ms: e.create_ms,
      });
    }
  }
}
