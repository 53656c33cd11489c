/**
 * kube/api.ts: the small interface the lifecycle engine uses to talk to a
 * Kubernetes API server. `HttpKubeApi` (kube/client.ts) implements it over
 * the core's own HTTP layer (kube/rest.ts); tests may pass their own.
 */
import type { Readable } from 'node:stream';
import type {
  CoreV1Event,
  V1ConfigMap,
  V1Job,
  V1Node,
  V1OwnerReference,
  V1Pod,
  V1Secret,
  V1Status,
} from '@kubernetes/client-node';
import { TRANSIENT_STATUS, type Transient } from '../base/retry.ts';

/** Propagation policy of a delete (Kubernetes DeleteOptions.propagationPolicy). */
export type Propagation = 'Background' | 'Foreground' | 'Orphan';

/** WatchEventType is the `type` of a watch event (Kubernetes API concepts: efficient detection of changes). */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** LogRequest selects a container log: `GET /api/v1/namespaces/{ns}/pods/{pod}/log`. */
export interface LogRequest {
  namespace: string;
  pod: string;
  container: string;
  follow: boolean;
  timestamps: boolean;
  /** RFC 3339 time; the API server truncates it to whole seconds. */
  sinceTime?: string;
}

/**
 * ByteSink: where exec output goes; a Node Writable or a streamx Writable
 * (tar-stream's extractor) both fit. `write` answering false pauses the socket
 * until 'drain'.
 */
export interface ByteSink {
  write(chunk: Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
  end(data?: unknown): unknown;
}

/** ExecRequest runs argv (no shell) in a running container via `pods/exec`. */
export interface ExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  /** Bytes written to the command's stdin; stdin is closed when it ends. */
  stdin?: AsyncIterable<Uint8Array>;
  /** Receives stdout with backpressure (the socket pauses while it is full). */
  stdout?: ByteSink;
  stderr?: ByteSink;
  signal?: AbortSignal;
}

/** ExecResult: exit code 0 on success; otherwise the code and the API's message. */
export interface ExecResult {
  exitCode: number;
  message: string;
  status?: V1Status;
}

/** AccessCheck is one SelfSubjectAccessReview resource attribute. */
export interface AccessCheck {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace: string;
}

/**
 * KubeApi: the API calls of one build. Every method throws `KubeApiError` with
 * the HTTP status and the API server's message on failure, except the deletes,
 * which answer false when the object was already gone (404).
 */
export interface KubeApi {
  createJob(namespace: string, job: V1Job): Promise<V1Job>;
  createPod(namespace: string, pod: V1Pod): Promise<V1Pod>;
  createSecret(namespace: string, secret: V1Secret): Promise<V1Secret>;
  readJob(namespace: string, name: string): Promise<V1Job | undefined>;
  readPod(namespace: string, name: string): Promise<V1Pod | undefined>;
  /** readNode answers undefined when the node is gone or reading nodes is not allowed (403). */
  readNode(name: string): Promise<V1Node | undefined>;
  /** setSecretOwner makes owner the Secret's only owner (JSON merge patch), for garbage collection. */
  setSecretOwner(namespace: string, name: string, owner: V1OwnerReference): Promise<void>;
  deleteJob(namespace: string, name: string, propagation?: Propagation): Promise<boolean>;
  deletePod(namespace: string, name: string, gracePeriodSeconds?: number): Promise<boolean>;
  deleteSecret(namespace: string, name: string): Promise<boolean>;
  createConfigMap(namespace: string, configMap: V1ConfigMap): Promise<V1ConfigMap>;
  /** setConfigMapOwner makes owner the ConfigMap's only owner (JSON merge patch). */
  setConfigMapOwner(namespace: string, name: string, owner: V1OwnerReference): Promise<void>;
  deleteConfigMap(namespace: string, name: string): Promise<boolean>;
  listPods(namespace: string, labelSelector: string): Promise<V1Pod[]>;
  listJobs(namespace: string, labelSelector: string): Promise<V1Job[]>;
  /** Events whose involvedObject is the named object, oldest first. */
  listEvents(namespace: string, involvedObjectName: string): Promise<CoreV1Event[]>;
  /**
   * watchPods calls `onEvent` for every pod matching labelSelector (first with
   * the current list as ADDED events), re-watching after the API server or the
   * client ends a watch and re-listing after 410 Gone, until `signal` aborts.
   */
  watchPods(
    namespace: string,
    labelSelector: string,
    onEvent: (type: WatchEventType, pod: V1Pod) => void,
    signal: AbortSignal,
  ): Promise<void>;
  /** watchJobs: like watchPods, for Jobs. */
  watchJobs(
    namespace: string,
    labelSelector: string,
    onEvent: (type: WatchEventType, job: V1Job) => void,
    signal: AbortSignal,
  ): Promise<void>;
  /** openLog starts a log request and answers its body as a byte stream. */
  openLog(req: LogRequest, signal: AbortSignal): Promise<Readable>;
  exec(req: ExecRequest): Promise<ExecResult>;
  /** canI answers the checks that are denied (SelfSubjectAccessReview), in order. */
  canI?(checks: AccessCheck[]): Promise<AccessCheck[]>;
  /**
   * retrying runs a whole session (an exec with its stdin and stdout, started again from the
   * beginning) under the client's retry policy: retried while it throws a transient KubeApiError
   * (kubeTransient), other errors pass through unchanged. Absent: fn runs once.
   */
  retrying?<T>(what: string, fn: () => Promise<T>): Promise<T>;
}

/** runRetrying runs fn through kube.retrying when the client has one, else once. */
export function runRetrying<T>(kube: KubeApi, what: string, fn: () => Promise<T>): Promise<T> {
  return kube.retrying ? kube.retrying(what, fn) : fn();
}

/**
 * kubeTransient classifies a failure for the retry policy (base/retry.ts): a KubeApiError with
 * status 408, 429, 500, 502, 503 or 504 (with its Retry-After), or a connection failure (status 0
 * with a code); everything else (400, 401, 403, 404, 409, 422 ...) fails at once.
 */
export function kubeTransient(err: unknown): Transient | undefined {
  if (!(err instanceof KubeApiError)) return undefined;
  if (err.status === 0) return err.code ? { code: err.code } : undefined;
  if (!TRANSIENT_STATUS.has(err.status)) return undefined;
  return err.retryAfterMs !== undefined
    ? { status: err.status, retryAfterMs: err.retryAfterMs }
    : { status: err.status };
}

/** KubeApiError: a failed API call, with the HTTP status and the server's reason and message. */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  /** The server's Retry-After in ms (API Priority and Fairness sends it with 429), when given. */
  retryAfterMs?: number;
  /** For a connection failure (status 0): its code (base/retry.ts networkCode), e.g. ECONNREFUSED. */
  code?: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}
