// names.ts: Kubernetes names, build ids, and the labels and annotations every kbuild object
// carries (docs/design.md, "Names and labels").
import { createHash } from 'node:crypto';
import type { Arch } from './parse.ts';

/** GitHubContext identifies the workflow run a build belongs to (GITHUB_* variables). */
export interface GitHubContext {
  /** repository is `owner/repo`. */
  repository: string;
  repositoryId?: string;
  owner: string;
  repo: string;
  sha: string;
  ref: string;
  runId: string;
  runAttempt: string;
  serverUrl: string;
  workflow?: string;
  actor?: string;
  eventName?: string;
  /** baseRef is a pull request's base branch name (GITHUB_BASE_REF), e.g. `main`. */
  baseRef?: string;
  /** defaultBranch is the repository's default branch (the event payload's `repository.default_branch`). */
  defaultBranch?: string;
}

/** MANAGED_BY is the `app.kubernetes.io/managed-by` value of every object kbuild creates. */
export const MANAGED_BY = 'kbuild';

/** LABEL names the kbuild labels (docs/design.md, "Names and labels") and the Kueue queue label. */
export const LABEL = {
  managedBy: 'app.kubernetes.io/managed-by',
  buildId: 'kbuild.dev/build-id',
  package: 'kbuild.dev/package',
  arch: 'kbuild.dev/arch',
  repository: 'kbuild.dev/repository',
  runId: 'kbuild.dev/run-id',
  runAttempt: 'kbuild.dev/run-attempt',
  kueueQueue: 'kueue.x-k8s.io/queue-name',
} as const;

/** ANNOTATION names the annotations that carry unsanitised values. */
export const ANNOTATION = {
  repository: 'kbuild.dev/repository',
  sha: 'kbuild.dev/sha',
  ref: 'kbuild.dev/ref',
  workflow: 'kbuild.dev/workflow',
  workflowUrl: 'kbuild.dev/workflow-url',
  actor: 'kbuild.dev/actor',
  build: 'kbuild.dev/build',
  packages: 'kbuild.dev/packages',
} as const;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** isDns1123Label: RFC 1123 label as Kubernetes checks it (namespaces, Job names), <= 63 chars. */
export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

/** isDns1123Subdomain: dot-separated labels, <= 253 chars (service account and Secret names). */
export function isDns1123Subdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split('.').every((part) => DNS1123_LABEL.test(part));
}

/** isLabelValue: a Kubernetes label value, <= 63 chars of `[A-Za-z0-9._-]`, alnum at both ends. */
export function isLabelValue(s: string): boolean {
  return s.length <= 63 && LABEL_VALUE.test(s);
}

/** sha256Hex returns the hex SHA-256 of the JSON encoding of parts (unambiguous separators). */
function sha256Hex(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** BuildIdentity is what makes a build unique: a retried request with the same one finds it. */
export interface BuildIdentity {
  repository: string;
  runId: string;
  runAttempt: string;
  /** build is the package, or the `name` input when there is no single package. */
  build: string;
  arch: Arch;
}

/** buildId is 32 hex chars of SHA-256 over the identity: deterministic, a valid label value. */
export function buildId(id: BuildIdentity): string {
  return sha256Hex(['kbuild/v1', id.repository, id.runId, id.runAttempt, id.build, id.arch]).slice(
    0,
    32,
  );
}

/** JOB_HASH_LENGTH is how many hex chars of the build id end a Job name. */
export const JOB_HASH_LENGTH = 8;

/**
 * jobName is `kb-<build>-<arch>-<hash>`: a DNS-1123 label of at most 63 chars. The build part is
 * lowercased, every run of other chars than [a-z0-9] becomes `-`, and it is cut to fit; the hash
 * (first 8 hex chars of the build id) keeps names of cut builds apart.
 */
export function jobName(build: string, arch: Arch, id: string): string {
  const hash = id.slice(0, JOB_HASH_LENGTH);
  const room = 63 - `kb--${arch}-${hash}`.length;
  const part = trimTo(build.toLowerCase().replace(/[^a-z0-9]+/g, '-'), room, /[a-z0-9]/);
  return part === '' ? `kb-${arch}-${hash}` : `kb-${part}-${arch}-${hash}`;
}

/** trimTo cuts s to max chars and drops chars not matching alnum at both ends. */
function trimTo(s: string, max: number, alnum: RegExp): string {
  let out = s.slice(0, max);
  while (out !== '' && !alnum.test(out[0] ?? '')) out = out.slice(1);
  while (out !== '' && !alnum.test(out[out.length - 1] ?? '')) out = out.slice(0, -1);
  return out;
}

/**
 * sanitizeLabelValue maps any string onto a label value: runs of chars outside [A-Za-z0-9._-]
 * become `_` (so `owner/repo` -> `owner_repo`), ends are trimmed to alnum, and a value longer than
 * 63 chars is cut to 54 and ends with `-` and 8 hex chars of its SHA-256, so cut values stay
 * distinct. Source: Kubernetes "Labels and Selectors", syntax and character set.
 */
export function sanitizeLabelValue(value: string): string {
  const alnum = /[A-Za-z0-9]/;
  const replaced = value.replace(/[^A-Za-z0-9._-]+/g, '_');
  const clean = trimTo(replaced, replaced.length, alnum);
  if (clean.length <= 63) return clean;
  const hash = sha256Hex([value]).slice(0, 8);
  return `${trimTo(clean, 54, alnum)}-${hash}`;
}

/** LabelSource is the part of a build spec labels and annotations are made of. */
export interface LabelSource {
  buildId: string;
  name: string;
  package?: string;
  packages: readonly string[];
  arch: Arch;
  queueName?: string;
  source: GitHubContext;
}

/**
 * buildLabels returns the labels of every object of a build: managed-by, build id, package (the
 * build's name when it has no single package), arch, repository (`owner_repo`), run id and
 * attempt, and the Kueue queue label when the build asks for a queue.
 */
export function buildLabels(s: LabelSource): Record<string, string> {
  const labels: Record<string, string> = {
    [LABEL.managedBy]: MANAGED_BY,
    [LABEL.buildId]: s.buildId,
    [LABEL.package]: sanitizeLabelValue(s.package ?? s.name),
    [LABEL.arch]: s.arch,
    [LABEL.repository]: sanitizeLabelValue(s.source.repository),
    [LABEL.runId]: sanitizeLabelValue(s.source.runId),
    [LABEL.runAttempt]: sanitizeLabelValue(s.source.runAttempt),
  };
  if (s.queueName) labels[LABEL.kueueQueue] = s.queueName;
  return labels;
}

/** workflowRunUrl is the run's page: `<server>/<owner>/<repo>/actions/runs/<id>/attempts/<n>`. */
export function workflowRunUrl(ctx: GitHubContext): string {
  const server = ctx.serverUrl.replace(/\/+$/, '');
  return `${server}/${ctx.repository}/actions/runs/${ctx.runId}/attempts/${ctx.runAttempt}`;
}

/** buildAnnotations returns the unsanitised values: repository, sha, ref, workflow URL, ... */
export function buildAnnotations(s: LabelSource): Record<string, string> {
  const ctx = s.source;
  const out: Record<string, string> = {
    [ANNOTATION.repository]: ctx.repository,
    [ANNOTATION.sha]: ctx.sha,
    [ANNOTATION.workflowUrl]: workflowRunUrl(ctx),
    [ANNOTATION.build]: s.name,
  };
  if (ctx.ref) out[ANNOTATION.ref] = ctx.ref;
  if (ctx.workflow) out[ANNOTATION.workflow] = ctx.workflow;
  if (ctx.actor) out[ANNOTATION.actor] = ctx.actor;
  if (s.packages.length > 0) out[ANNOTATION.packages] = s.packages.join(' ');
  return out;
}

/** buildSelector is the label selector that finds every object of one build. */
export function buildSelector(id: string): string {
  return `${LABEL.managedBy}=${MANAGED_BY},${LABEL.buildId}=${id}`;
}
