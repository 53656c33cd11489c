// scheduling.ts: the scheduling inputs of a build beyond arch, spot and node_pool: compute_class,
// node_selector and tolerations (docs/autopilot.md). Parsers are strict and name the input and
// the accepted form; checkScheduling refuses the combinations that cannot work, before anything
// is created.
import { InputError, invalid } from '../base/errors.ts';
import { isDns1123Subdomain, isLabelValue } from './names.ts';
import type { Arch } from './parse.ts';

/** TaintEffect is a Kubernetes taint effect (core/v1 Taint.effect). */
export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

/** TAINT_EFFECTS lists the effects a toleration line may name. */
export const TAINT_EFFECTS: readonly TaintEffect[] = [
  'NoSchedule',
  'PreferNoSchedule',
  'NoExecute',
];

/**
 * Toleration is one parsed `tolerations` line, in the shape of core/v1 Toleration:
 * `KEY=VALUE:EFFECT` (Equal), `KEY=VALUE` (Equal, every effect), `KEY:EFFECT` (Exists) or `KEY`
 * (Exists, every effect).
 */
export interface Toleration {
  key: string;
  operator: 'Equal' | 'Exists';
  value?: string;
  effect?: TaintEffect;
}

/** ARCH_LABEL is the node label of the architecture (`arch`). */
export const ARCH_LABEL = 'kubernetes.io/arch';
/** SPOT_LABEL is GKE's Spot node label and taint key (`spot`). */
export const SPOT_LABEL = 'cloud.google.com/gke-spot';
/** NODE_POOL_LABEL is GKE's node pool label (`node_pool`). */
export const NODE_POOL_LABEL = 'cloud.google.com/gke-nodepool';
/** COMPUTE_CLASS_LABEL is GKE's compute class node label (`compute_class`). */
export const COMPUTE_CLASS_LABEL = 'cloud.google.com/compute-class';

/**
 * OWNED_LABELS maps the node labels that a dedicated input sets to that input: node_selector may
 * repeat the input's value but never contradict it, and tolerations may not name these keys.
 */
export const OWNED_LABELS: Readonly<Record<string, string>> = {
  [ARCH_LABEL]: 'arch',
  [SPOT_LABEL]: 'spot',
  [NODE_POOL_LABEL]: 'node_pool',
  [COMPUTE_CLASS_LABEL]: 'compute_class',
};

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * isLabelKey: a Kubernetes label key, `[PREFIX/]NAME` with NAME up to 63 chars of
 * `[A-Za-z0-9._-]` (alphanumeric at both ends) and PREFIX a DNS-1123 subdomain.
 */
export function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) return false;
  return prefix === undefined || isDns1123Subdomain(prefix);
}

const KEY_FIX =
  'use a label key such as example.com/pool: up to 63 letters, digits, -, _ and . after an optional DNS prefix and /';
const VALUE_FIX =
  'use a label value: up to 63 letters, digits, -, _ and ., alphanumeric at both ends';

/** meaningfulLines yields [line number, trimmed line] of value, without empty and `#` lines. */
function* meaningfulLines(value: string): Generator<[number, string]> {
  for (const [i, raw] of value.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line !== '' && !line.startsWith('#')) yield [i + 1, line];
  }
}

function checkKey(input: string, at: string, key: string): void {
  if (!isLabelKey(key)) throw invalid(input, `label key on ${at}`, key, KEY_FIX);
}

function checkValue(input: string, at: string, v: string): void {
  if (!isLabelValue(v)) throw invalid(input, `label value on ${at}`, v, VALUE_FIX);
}

/**
 * parseNodeSelector parses `KEY=VALUE` lines (node labels the build's nodes must have) into a
 * map in the order given. Empty lines and `#` lines are skipped; a key may appear once.
 */
export function parseNodeSelector(input: string, value: string): Record<string, string> {
  const out = new Map<string, string>();
  for (const [n, line] of meaningfulLines(value)) {
    const at = `line ${n} of input "${input}"`;
    const eq = line.indexOf('=');
    if (eq < 0) {
      throw new InputError(
        input,
        `${at} is not KEY=VALUE (${JSON.stringify(line.slice(0, 60))}): write one node label per line, e.g. cloud.google.com/machine-family=c4a`,
      );
    }
    const key = line.slice(0, eq).trim();
    const v = line.slice(eq + 1).trim();
    checkKey(input, at, key);
    checkValue(input, at, v);
    if (out.has(key)) throw new InputError(input, `label ${key} is set twice in input "${input}"`);
    out.set(key, v);
  }
  return Object.fromEntries(out);
}

/**
 * parseTolerations parses toleration lines: `KEY=VALUE:EFFECT`, `KEY=VALUE`, `KEY:EFFECT` or
 * `KEY`, with EFFECT one of NoSchedule, PreferNoSchedule, NoExecute. A line without `=VALUE`
 * tolerates any value (operator Exists); without `:EFFECT` every effect. The same line twice is
 * refused.
 */
export function parseTolerations(input: string, value: string): Toleration[] {
  const out: Toleration[] = [];
  const seen = new Set<string>();
  for (const [n, line] of meaningfulLines(value)) {
    const at = `line ${n} of input "${input}"`;
    const colon = line.lastIndexOf(':');
    const head = colon < 0 ? line : line.slice(0, colon).trim();
    const effectText = colon < 0 ? undefined : line.slice(colon + 1).trim();
    const effect = TAINT_EFFECTS.find((e) => e === effectText);
    if (effectText !== undefined && effect === undefined) {
      throw invalid(
        input,
        `taint effect on ${at}`,
        effectText,
        `use ${TAINT_EFFECTS.join(', ')}, as in KEY=VALUE:NoSchedule`,
      );
    }
    const eq = head.indexOf('=');
    const key = (eq < 0 ? head : head.slice(0, eq)).trim();
    checkKey(input, at, key);
    const t: Toleration = { key, operator: eq < 0 ? 'Exists' : 'Equal' };
    if (eq >= 0) {
      const v = head.slice(eq + 1).trim();
      checkValue(input, at, v);
      t.value = v;
    }
    if (effect !== undefined) t.effect = effect;
    const id = JSON.stringify([t.key, t.value, t.effect]);
    if (seen.has(id)) throw new InputError(input, `${at} repeats a toleration: give it once`);
    seen.add(id);
    out.push(t);
  }
  return out;
}

/** parseComputeClass accepts a compute class name (a label value: `Scale-Out`, `my-class`). */
export function parseComputeClass(input: string, value: string): string {
  const v = value.trim();
  if (v === '' || !isLabelValue(v)) {
    throw invalid(
      input,
      'compute class',
      value,
      'use a GKE compute class name such as Scale-Out, Balanced, Performance or the name of a custom ComputeClass',
    );
  }
  return v;
}

/** SchedulingInputs are the parsed values checkScheduling compares. */
export interface SchedulingInputs {
  arch: Arch;
  spot: boolean;
  privileged: boolean;
  nodePool?: string;
  computeClass?: string;
  nodeSelector: Readonly<Record<string, string>>;
  tolerations: readonly Toleration[];
}

/**
 * checkScheduling lists the conflicts between the scheduling inputs, each as [input, message]
 * naming both inputs and the accepted form: a node_selector label that contradicts the input
 * owning it (OWNED_LABELS; an unset compute_class or node_pool, or spot false, count as values),
 * a toleration of a key that arch, spot or compute_class handle, and privileged with compute_class (GKE
 * Autopilot refuses privileged Pods).
 */
export function checkScheduling(s: SchedulingInputs): [string, string][] {
  const issues: [string, string][] = [];
  const owned: Record<string, string | undefined> = {
    [ARCH_LABEL]: s.arch,
    [SPOT_LABEL]: s.spot ? 'true' : undefined,
    [NODE_POOL_LABEL]: s.nodePool,
    [COMPUTE_CLASS_LABEL]: s.computeClass,
  };
  for (const [key, v] of Object.entries(s.nodeSelector)) {
    const owner = OWNED_LABELS[key];
    if (owner === undefined || owned[key] === v) continue;
    const now = owned[key] === undefined ? 'unset' : `"${owned[key]}"`;
    const use = owner === 'spot' ? 'spot: true' : `${owner}: ${v}`;
    issues.push([
      'node_selector',
      `input "node_selector" sets ${key}=${v}, but that label belongs to input "${owner}", which is ${owner === 'spot' && now === 'unset' ? 'false' : now}: use ${use} instead and leave ${key} out of node_selector`,
    ]);
  }
  for (const t of s.tolerations) {
    if (t.key !== ARCH_LABEL && t.key !== SPOT_LABEL && t.key !== COMPUTE_CLASS_LABEL) continue;
    const owner = OWNED_LABELS[t.key]!;
    issues.push([
      'tolerations',
      `input "tolerations" names ${t.key}, whose toleration input "${owner}" adds: set ${owner} and leave ${t.key} out of tolerations`,
    ]);
  }
  if (s.privileged && s.computeClass !== undefined) {
    issues.push([
      'compute_class',
      `inputs "privileged" and "compute_class" cannot be used together: compute classes are GKE Autopilot's, and Autopilot refuses privileged Pods; drop privileged: true (build without bubblewrap), or drop compute_class and use a Standard node pool (node_pool)`,
    ]);
  }
  return issues;
}

/**
 * autopilotIssues lists, as [input, message], what a GKE Autopilot cluster would refuse or
 * ignore in a build (the GKE lookup tells the cluster's mode, before anything is created):
 * privileged containers, and a node pool pin (Autopilot makes its own pools). docs/autopilot.md.
 */
export function autopilotIssues(
  s: Pick<SchedulingInputs, 'privileged' | 'nodePool'>,
  cluster: string,
): [string, string][] {
  const issues: [string, string][] = [];
  if (s.privileged) {
    issues.push([
      'privileged',
      `cluster ${cluster} is a GKE Autopilot cluster, which refuses privileged Pods: drop privileged: true, or build on a Standard cluster's node pool`,
    ]);
  }
  if (s.nodePool !== undefined) {
    issues.push([
      'node_pool',
      `cluster ${cluster} is a GKE Autopilot cluster, which has no node pools to pin: leave node_pool empty and choose machines with compute_class or node_selector`,
    ]);
  }
  return issues;
}
