// lab-kube.ts: helpers for the lab's own end-to-end tests (lab*.test.ts): a
// throw-away namespace, objects created from plain JSON, polling, pod events,
// shell pipelines (tar | kubectl exec) run with the lab's environment, and
// the PID files of a lab directory.
import { after, before } from 'node:test';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { kubectl, labEnv } from './lab.ts';

/** uniqueName answers `<prefix>-<8 hex>`, a DNS-1123 name no other run used. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * createNamespace creates a namespace for one test file and waits (at most
 * 60 s) until the controller manager gave it its `default` service account,
 * without which the ServiceAccount admission plugin refuses pods.
 */
export async function createNamespace(prefix: string): Promise<string> {
  const ns = uniqueName(prefix);
  kubectl(['create', 'namespace', ns]);
  await waitFor(`service account default in ${ns}`, 60_000, () =>
    kubectl(['get', 'serviceaccounts', '-n', ns, '-o', 'name']).includes('serviceaccount/default')
      ? true
      : undefined,
  );
  return ns;
}

/** deleteNamespace deletes ns and everything in it, without waiting. */
export function deleteNamespace(ns: string): void {
  if (ns) kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
}

/** Scope is a test file's namespace and local scratch directory. */
export interface Scope {
  ns: string;
  dir: string;
}

/**
 * useScope registers before/after hooks that give the calling test file a
 * fresh namespace and a temporary directory, and delete both afterwards.
 * The fields are set once `before` ran.
 */
export function useScope(prefix: string): Scope {
  const scope: Scope = { ns: '', dir: '' };
  before(async () => {
    scope.ns = await createNamespace(prefix);
    scope.dir = await mkdtemp(join(tmpdir(), `kbuild-${prefix}-`));
  });
  after(async () => {
    deleteNamespace(scope.ns);
    if (scope.dir) await rm(scope.dir, { recursive: true, force: true });
  });
  return scope;
}

/** create creates one object (a Kubernetes manifest as a plain object) in ns. */
export function create(ns: string, manifest: object): void {
  kubectl(['create', '-n', ns, '-f', '-'], JSON.stringify(manifest));
}

/** getJson answers `kubectl get ARGS -o json`, parsed. */
export function getJson<T>(args: string[]): T {
  return JSON.parse(kubectl(['get', ...args, '-o', 'json'])) as T;
}

/**
 * waitFor polls probe every 300 ms until it answers something other than
 * undefined, and answers that; throws `timed out waiting for WHAT` after
 * timeoutMs. probe may throw: the error is kept and reported on timeout.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(300);
  }
}

/** PodLike is the part of a Pod these tests read. */
export interface PodLike {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    containerStatuses?: {
      name: string;
      state?: {
        running?: object;
        terminated?: { exitCode: number; reason?: string };
        waiting?: { reason?: string };
      };
    }[];
  };
}

/** EventLike is the part of an Event these tests read. */
export interface EventLike {
  reason?: string;
  message?: string;
  source?: { component?: string };
}

/** podEvents lists the events of pod `name` in ns (involvedObject field selector). */
export function podEvents(ns: string, name: string): EventLike[] {
  const list = getJson<{ items: EventLike[] }>([
    'events',
    '-n',
    ns,
    '--field-selector',
    `involvedObject.kind=Pod,involvedObject.name=${name}`,
  ]);
  return list.items;
}

/** podPhase answers the pod's status.phase ('' when it has none yet). */
export function podPhase(ns: string, name: string): string {
  return getJson<PodLike>(['pod', '-n', ns, name]).status.phase ?? '';
}

/** waitForPhase waits until pod `name` is in one of phases; answers the pod. */
export function waitForPhase(
  ns: string,
  name: string,
  phases: string[],
  timeoutMs: number,
): Promise<PodLike> {
  return waitFor(`pod ${ns}/${name} in ${phases.join('|')}`, timeoutMs, () => {
    const pod = getJson<PodLike>(['pod', '-n', ns, name]);
    return phases.includes(pod.status.phase ?? '') ? pod : undefined;
  });
}

/** ShellResult is what shell() answers: the exit status and the raw output. */
export interface ShellResult {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * shell runs `bash -c SCRIPT` with `set -euo pipefail`, the lab's environment
 * (kubectl on PATH, KUBECONFIG) and ARGS as $1..$N, so values are never
 * spliced into the script. Output is kept as bytes (up to 1 GiB).
 */
export function shell(script: string, args: string[] = []): ShellResult {
  const r = spawnSync('bash', ['-c', `set -euo pipefail\n${script}`, 'lab-e2e', ...args], {
    env: { ...process.env, ...labEnv() },
    maxBuffer: 1 << 30,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

/** mustShell is shell() that throws with stderr when the script fails. */
export function mustShell(script: string, args: string[] = []): Buffer {
  const r = shell(script, args);
  if (r.status !== 0)
    throw new Error(`bash -c ${JSON.stringify(script)} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** readPids answers {component: pid} from a lab directory's pids/*.pid (lab.sh writes one per component). */
export function readPids(dir: string): Record<string, number> {
  const pidDir = join(dir, 'pids');
  return Object.fromEntries(
    readdirSync(pidDir)
      .filter((f) => f.endsWith('.pid'))
      .map((f) => [f.slice(0, -4), Number(readFileSync(join(pidDir, f), 'utf8').trim())]),
  );
}
