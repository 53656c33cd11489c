// fake-cluster.ts: a fake Kubernetes API (KubeApi), object store and clock for driving the build
// lifecycle (src/core/build/lifecycle.ts) in milliseconds (not a test file itself). The fake
// keeps Jobs, Pods and Secrets in maps and tells watchers of every change, as a watch would; a
// test scripts the cluster's side through hooks (what happens when a Job is created, when the
// log has been read) and puts pods in the states it needs with podOf().
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import type {
  CoreV1Event,
  V1ConfigMap,
  V1ContainerState,
  V1Job,
  V1Node,
  V1Pod,
  V1PodCondition,
  V1Secret,
} from '@kubernetes/client-node';
import {
  KubeApiError,
  type ExecRequest,
  type ExecResult,
  type KubeApi,
  type LogRequest,
  type WatchEventType,
} from '../../src/core/kube/api.ts';
import type { Clock, Reporter } from '../../src/core/base/report.ts';
import type {
  BodySource,
  ObjectStore,
  UploadOptions,
  UploadResult,
} from '../../src/core/gcs/storage.ts';
import { CONTAINER } from '../../src/core/manifest/podspec.ts';

type Listener<T> = (type: WatchEventType, obj: T) => void;

/** Phase names where a test can hook in (and, e.g., cancel the build). */
export type Phase = 'created' | 'log' | 'collect' | 'upload';

/** FakeKube: an in-memory API server for one namespace's Jobs, Pods, Secrets, events and nodes. */
export class FakeKube implements KubeApi {
  readonly jobs = new Map<string, V1Job>();
  readonly pods = new Map<string, V1Pod>();
  readonly secrets = new Map<string, V1Secret>();
  readonly configMaps = new Map<string, V1ConfigMap>();
  readonly nodes = new Map<string, V1Node>();
  events: CoreV1Event[] = [];
  /** calls: every mutating call and exec, e.g. `createJob kb-x`, `exec collector tar ...`. */
  readonly calls: string[] = [];
  /** The build log's lines (text only; the fake adds timestamps). */
  logLines: string[] = [];
  /** Files under artifacts_path; undefined: the directory does not exist. */
  artifacts: { name: string; data: Buffer }[] | undefined = [];
  /** Called after a Job is stored (the Job controller's part: make its pod). */
  onJobCreated?: (job: V1Job, attempt: number) => void;
  /** Called once the whole log has been read, before the stream ends (the build ends). */
  onLogRead?: (pod: string) => void;
  /** Called when a phase starts (log opened, collector exec, upload). */
  onPhase?: (phase: Phase) => void;
  /** Thrown by the next createJob (then cleared). */
  failCreateJob?: KubeApiError;
  private jobAttempts = 0;
  private readonly podListeners = new Set<Listener<V1Pod>>();
  private readonly jobListeners = new Set<Listener<V1Job>>();

  async createJob(_ns: string, job: V1Job): Promise<V1Job> {
    const name = job.metadata?.name ?? '';
    this.calls.push(`createJob ${name}`);
    if (this.failCreateJob) {
      const err = this.failCreateJob;
      this.failCreateJob = undefined;
      throw err;
    }
    if (this.jobs.has(name))
      throw new KubeApiError(409, 'AlreadyExists', `jobs.batch "${name}" already exists`);
    const stored: V1Job = {
      ...job,
      metadata: { ...job.metadata, uid: `uid-${name}-${++this.jobAttempts}` },
    };
    this.putJob(stored);
    this.onJobCreated?.(stored, this.jobAttempts);
    return stored;
  }

  async createPod(_ns: string, pod: V1Pod): Promise<V1Pod> {
    const name = pod.metadata?.name ?? '';
    this.calls.push(`createPod ${name}`);
    if (this.pods.has(name))
      throw new KubeApiError(409, 'AlreadyExists', `pods "${name}" already exists`);
    this.putPod(pod);
    return pod;
  }

  async createSecret(_ns: string, secret: V1Secret): Promise<V1Secret> {
    this.calls.push(`createSecret ${secret.metadata?.name}`);
    this.secrets.set(secret.metadata?.name ?? '', secret);
    return secret;
  }

  async readJob(_ns: string, name: string): Promise<V1Job | undefined> {
    return this.jobs.get(name);
  }

  async readPod(_ns: string, name: string): Promise<V1Pod | undefined> {
    return this.pods.get(name);
  }

  async readNode(name: string): Promise<V1Node | undefined> {
    return this.nodes.get(name);
  }

  async setSecretOwner(): Promise<void> {}

  async createConfigMap(_ns: string, configMap: V1ConfigMap): Promise<V1ConfigMap> {
    this.calls.push(`createConfigMap ${configMap.metadata?.name}`);
    this.configMaps.set(configMap.metadata?.name ?? '', configMap);
    return configMap;
  }

  async setConfigMapOwner(): Promise<void> {}

  async deleteConfigMap(_ns: string, name: string): Promise<boolean> {
    return this.configMaps.delete(name);
  }

  async deleteJob(_ns: string, name: string): Promise<boolean> {
    this.calls.push(`deleteJob ${name}`);
    const job = this.jobs.get(name);
    if (!job) return false;
    this.jobs.delete(name);
    for (const l of this.jobListeners) l('DELETED', job);
    // Propagation Background: the garbage collector removes the Job's pods.
    for (const pod of [...this.pods.values()])
      if (pod.metadata?.labels?.['job-name'] === name) this.removePod(pod.metadata?.name ?? '');
    return true;
  }

  async deletePod(_ns: string, name: string): Promise<boolean> {
    this.calls.push(`deletePod ${name}`);
    return this.removePod(name);
  }

  async deleteSecret(_ns: string, name: string): Promise<boolean> {
    return this.secrets.delete(name);
  }

  async listPods(): Promise<V1Pod[]> {
    return [...this.pods.values()];
  }

  async listJobs(): Promise<V1Job[]> {
    return [...this.jobs.values()];
  }

  async listEvents(_ns: string, name: string): Promise<CoreV1Event[]> {
    return this.events.filter((e) => e.involvedObject.name === name);
  }

  watchPods(
    _ns: string,
    _selector: string,
    onEvent: Listener<V1Pod>,
    signal: AbortSignal,
  ): Promise<void> {
    return this.watch(this.podListeners, [...this.pods.values()], onEvent, signal);
  }

  watchJobs(
    _ns: string,
    _selector: string,
    onEvent: Listener<V1Job>,
    signal: AbortSignal,
  ): Promise<void> {
    return this.watch(this.jobListeners, [...this.jobs.values()], onEvent, signal);
  }

  private watch<T>(
    listeners: Set<Listener<T>>,
    current: T[],
    onEvent: Listener<T>,
    signal: AbortSignal,
  ): Promise<void> {
    for (const o of current) onEvent('ADDED', o);
    listeners.add(onEvent);
    return new Promise((resolve) => {
      const done = () => {
        listeners.delete(onEvent);
        resolve();
      };
      if (signal.aborted) done();
      else signal.addEventListener('abort', done, { once: true });
    });
  }

  async openLog(req: LogRequest, signal: AbortSignal): Promise<Readable> {
    this.onPhase?.('log');
    if (signal.aborted) throw signal.reason;
    const lines = this.logLines.map((text, i) => `${stamp(i)} ${text}\n`);
    const since = req.sinceTime ? Date.parse(req.sinceTime) : 0;
    const kept = lines.filter((_, i) => Date.parse(stamp(i)) >= since);
    let i = 0;
    const onRead = () => this.onLogRead?.(req.pod);
    return new Readable({
      read() {
        if (i < kept.length) {
          this.push(kept[i++]!);
          return;
        }
        onRead();
        this.push(null);
      },
    });
  }

  async exec(req: ExecRequest): Promise<ExecResult> {
    this.calls.push(`exec ${req.container} ${req.command.join(' ')}`);
    if (req.signal?.aborted) throw req.signal.reason;
    if (req.command[0] === 'touch') return { exitCode: 0, message: '' };
    if (req.command[0] !== 'tar') return { exitCode: 127, message: 'unknown command' };
    this.onPhase?.('collect');
    if (req.signal?.aborted) throw req.signal.reason;
    if (!this.artifacts) {
      req.stderr?.write(Buffer.from('tar: /workspace/packages: No such file or directory\n'));
      req.stderr?.end();
      req.stdout?.end();
      return { exitCode: 2, message: 'command terminated with non-zero exit code' };
    }
    const member = req.command[req.command.length - 1];
    const files =
      member === '.' ? this.artifacts : this.artifacts.filter((f) => `./${f.name}` === member);
    const pack = tar.pack();
    for (const f of files) pack.entry({ name: `./${f.name}`, size: f.data.length }, f.data);
    pack.finalize();
    for await (const chunk of pack) {
      if (req.signal?.aborted) throw req.signal.reason;
      if (req.stdout && !req.stdout.write(chunk as Buffer))
        await new Promise<void>((r) => req.stdout!.once('drain', r));
    }
    req.stdout?.end();
    req.stderr?.end();
    return { exitCode: 0, message: '' };
  }

  /** putJob stores a Job and tells the Job watchers. */
  putJob(job: V1Job): void {
    const name = job.metadata?.name ?? '';
    const type = this.jobs.has(name) ? 'MODIFIED' : 'ADDED';
    this.jobs.set(name, job);
    for (const l of [...this.jobListeners]) l(type, job);
  }

  /** putPod stores a Pod and tells the Pod watchers. */
  putPod(pod: V1Pod): void {
    const name = pod.metadata?.name ?? '';
    const type = this.pods.has(name) ? 'MODIFIED' : 'ADDED';
    this.pods.set(name, pod);
    for (const l of [...this.podListeners]) l(type, pod);
  }

  /** removePod deletes a Pod and tells the Pod watchers. */
  removePod(name: string): boolean {
    const pod = this.pods.get(name);
    if (!pod) return false;
    this.pods.delete(name);
    for (const l of [...this.podListeners]) l('DELETED', pod);
    return true;
  }
}

/** stamp: the timestamp of log line i, one per millisecond. */
function stamp(i: number): string {
  return new Date(Date.UTC(2026, 11, 6, 10, 0, 0, i)).toISOString().replace('Z', '000000Z');
}

/** ContainerStates: the states of the build and collector containers (absent: not started). */
export interface PodShape {
  phase?: string;
  reason?: string;
  message?: string;
  build?: V1ContainerState;
  collector?: V1ContainerState;
  init?: { name: string; state: V1ContainerState }[];
  conditions?: V1PodCondition[];
  nodeName?: string;
  /** creation time, ms after the epoch (a newer pod of a retried Job has a later one). */
  createdAt?: number;
}

/** podOf makes the pod of a Job (as the Job controller names and labels it) in a given shape. */
export function podOf(job: V1Job, attempt: number, s: PodShape): V1Pod {
  const jobName = job.metadata?.name ?? '';
  const containers = [
    ...(s.build ? [{ name: CONTAINER.build, image: 'img', state: s.build }] : []),
    ...(s.collector ? [{ name: CONTAINER.collector, image: 'img', state: s.collector }] : []),
  ].map((c) => ({ ...c, ready: false, restartCount: 0, imageID: '' }));
  return {
    metadata: {
      name: `${jobName}-${attempt}`,
      uid: `pod-uid-${attempt}`,
      labels: { ...job.spec?.template.metadata?.labels, 'job-name': jobName },
      creationTimestamp: new Date(s.createdAt ?? attempt * 1000),
    },
    spec: {
      ...(job.spec?.template.spec ?? { containers: [] }),
      ...(s.nodeName ? { nodeName: s.nodeName } : {}),
    },
    status: {
      phase: s.phase ?? 'Pending',
      ...(s.reason ? { reason: s.reason } : {}),
      ...(s.message ? { message: s.message } : {}),
      conditions: s.conditions ?? [],
      containerStatuses: containers,
      initContainerStatuses: (s.init ?? []).map((c) => ({
        name: c.name,
        image: 'img',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: c.state,
      })),
    },
  };
}

/** Container states, as the kubelet reports them. */
export const RUNNING: V1ContainerState = { running: { startedAt: new Date(5_000) } };
export function terminated(exitCode: number, reason = exitCode === 0 ? 'Completed' : 'Error') {
  return {
    terminated: {
      exitCode,
      reason,
      startedAt: new Date(5_000),
      finishedAt: new Date(9_000),
    },
  } satisfies V1ContainerState;
}
export function waiting(reason: string, message = ''): V1ContainerState {
  return { waiting: { reason, message } };
}

/** FakeStore: an ObjectStore in memory; `mismatchOnce` names objects whose first upload GCS rejects. */
export class FakeStore implements ObjectStore {
  readonly objects = new Map<string, Buffer>();
  readonly attempts = new Map<string, number>();
  readonly mismatchOnce = new Set<string>();
  onUpload?: (name: string) => void;

  async upload(name: string, body: BodySource, _opts?: UploadOptions): Promise<UploadResult> {
    this.onUpload?.(name);
    for (let attempt = 1; ; attempt++) {
      this.attempts.set(name, attempt);
      const stream = typeof body === 'function' ? body() : body;
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
      if (this.mismatchOnce.has(name) && attempt === 1) {
        // GCS answered 400 for a CRC32C mismatch: only a body that can be opened again is retried.
        if (typeof body !== 'function') throw new Error(`checksum mismatch for ${name}`);
        continue;
      }
      const data = Buffer.concat(chunks);
      this.objects.set(name, data);
      return {
        name,
        size: data.length,
        crc32c: 'AAAAAA==',
        sha256: '0'.repeat(64),
        uri: `gs://bucket/${name}`,
      };
    }
  }
}

/** FakeClock: time stands still until a test moves it (advance); sleep moves it at once. */
export class FakeClock implements Clock {
  t = Date.UTC(2026, 11, 6, 10, 0, 0);
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.t += ms;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** RecordingReporter keeps every message, prefixed with its kind. */
export class RecordingReporter implements Reporter {
  readonly lines: string[] = [];
  readonly build: string[] = [];
  info(m: string): void {
    this.lines.push(`info: ${m}`);
  }
  warning(m: string): void {
    this.lines.push(`warning: ${m}`);
  }
  error(m: string): void {
    this.lines.push(`error: ${m}`);
  }
  startGroup(t: string): void {
    this.lines.push(`group: ${t}`);
  }
  endGroup(): void {
    this.lines.push('endgroup');
  }
  buildLine(text: string): void {
    this.build.push(text);
  }
  mask(): void {}
}
