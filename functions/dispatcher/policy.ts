// policy.ts: the dispatcher's policy (who may build what), parsed from a JSON document, and the
// pure checks that refuse a caller or a request naming the rule (docs/design.md, "The dispatcher").
import {
  ARCHES,
  parseArch,
  parseQuantity,
  type Arch,
  type Quantity,
} from '../../src/core/inputs/parse.ts';

/**
 * PolicyDocument is the JSON document of KBUILD_POLICY / KBUILD_POLICY_FILE (docs/dispatcher.md
 * has an example). Numeric GitHub ids may be written as JSON numbers or strings.
 */
export interface PolicyDocument {
  /** repository_owner_ids: owners (users or organisations, by `repository_owner_id`) allowed to dispatch. */
  repository_owner_ids?: (string | number)[];
  /** repository_ids: single repositories (by `repository_id`) allowed to dispatch. */
  repository_ids?: (string | number)[];
  /** images: allowed image reference prefixes, e.g. `cgr.dev/chainguard/` (end with `/` or `:`). */
  images: string[];
  /** archs: allowed arches; default both amd64 and arm64. */
  archs?: string[];
  /** max_cpu: the largest `cpu` request, a Kubernetes quantity such as `8`. */
  max_cpu: string;
  /** max_memory: the largest `memory` request, a Kubernetes quantity such as `32Gi`. */
  max_memory: string;
  /** max_builds: the most builds (packages x archs) one request may create, 1..MAX_BUILDS_LIMIT. */
  max_builds: number;
  /**
   * privileged: who may ask for `privileged: true`, by the token's `ref` and `event_name` claims.
   * A request must match every list given (refs: exact, or a prefix ending in `*`). Absent:
   * privileged builds are never allowed.
   */
  privileged?: { refs?: string[]; events?: string[] };
  /** compute_classes: the compute classes a request may ask for (`compute_class`). Absent: none. */
  compute_classes?: string[];
  /**
   * node_selector: the node labels a request may add (`node_selector`), as `KEY=VALUE` or
   * `KEY=*` (any value). Absent: none. The labels of arch, spot, node pools and compute classes
   * are never added this way (the build spec refuses them).
   */
  node_selector?: string[];
  /**
   * tolerations: the toleration lines a request may add (`tolerations`), exactly as written in
   * the request (`dedicated=builds:NoSchedule`). Absent: none. Tolerations of the arch taint are
   * never accepted (the build spec refuses them), so no toleration reaches an arch outside
   * `archs`.
   */
  tolerations?: string[];
  /**
   * service_accounts: the Kubernetes service accounts a request may run its pods as
   * (`service_account_name`) besides `default`. A service account carries a Google identity
   * through Workload Identity (the one that uploads with `upload: cluster`), so each is a grant.
   * Absent: only `default`.
   */
  service_accounts?: string[];
}

/** MAX_BUILDS_LIMIT bounds max_builds: the dispatch plan rides on every Job as an annotation. */
export const MAX_BUILDS_LIMIT = 500;

/** Policy is a validated PolicyDocument. */
export interface Policy {
  ownerIds: ReadonlySet<string>;
  repositoryIds: ReadonlySet<string>;
  images: readonly string[];
  archs: readonly Arch[];
  maxCpu: Quantity;
  maxMemory: Quantity;
  maxBuilds: number;
  privileged?: { refs?: readonly string[]; events?: readonly string[] };
  computeClasses: readonly string[];
  nodeSelector: readonly string[];
  tolerations: readonly string[];
  serviceAccounts: readonly string[];
}

/** PolicyRule names a rule; every 403 names the one that refused. */
export type PolicyRule =
  | 'repository'
  | 'images'
  | 'archs'
  | 'max_cpu'
  | 'max_memory'
  | 'max_builds'
  | 'privileged'
  | 'compute_classes'
  | 'node_selector'
  | 'tolerations'
  | 'service_accounts';

/** Refusal is a 403: the rule that refused and why, for people. */
export interface Refusal {
  rule: PolicyRule;
  reason: string;
}

/** PolicyError reports an invalid policy document; the message names the field. */
export class PolicyError extends Error {
  constructor(message: string) {
    super(`invalid policy: ${message}`);
    this.name = 'PolicyError';
  }
}

const NUMERIC_ID = /^[1-9]\d*$/;

function idSet(field: string, v: unknown): Set<string> {
  if (v === undefined) return new Set();
  if (!Array.isArray(v)) throw new PolicyError(`"${field}" must be a list of numeric ids`);
  return new Set(
    v.map((id) => {
      const s = typeof id === 'number' ? String(id) : id;
      if (typeof s !== 'string' || !NUMERIC_ID.test(s)) {
        throw new PolicyError(`"${field}" holds ${JSON.stringify(id)}: use numeric GitHub ids`);
      }
      return s;
    }),
  );
}

function stringList(field: string, v: unknown, required: boolean): string[] | undefined {
  if (v === undefined && !required) return undefined;
  if (!Array.isArray(v) || v.length === 0 || v.some((s) => typeof s !== 'string' || s === '')) {
    throw new PolicyError(`"${field}" must be a non-empty list of non-empty strings`);
  }
  return v as string[];
}

function quantity(field: string, v: unknown, unit: 'millicores' | 'bytes'): Quantity {
  if (typeof v !== 'string' && typeof v !== 'number') {
    throw new PolicyError(
      `"${field}" must be a Kubernetes quantity such as ${unit === 'bytes' ? '32Gi' : '8'}`,
    );
  }
  try {
    return parseQuantity(field, String(v), unit);
  } catch (err) {
    throw new PolicyError((err as Error).message);
  }
}

const FIELDS = new Set([
  'repository_owner_ids',
  'repository_ids',
  'images',
  'archs',
  'max_cpu',
  'max_memory',
  'max_builds',
  'privileged',
  'compute_classes',
  'node_selector',
  'tolerations',
  'service_accounts',
]);

/**
 * parsePolicy validates a PolicyDocument (already JSON-parsed). Throws PolicyError naming the
 * field: unknown fields, no owner or repository at all (nobody could dispatch), empty images,
 * bad quantities, max_builds outside 1..MAX_BUILDS_LIMIT, an empty privileged section.
 */
export function parsePolicy(doc: unknown): Policy {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new PolicyError('the policy must be a JSON object');
  }
  const d = doc as Record<string, unknown>;
  for (const key of Object.keys(d)) {
    if (!FIELDS.has(key))
      throw new PolicyError(`unknown field "${key}"; fields: ${[...FIELDS].join(', ')}`);
  }
  const ownerIds = idSet('repository_owner_ids', d.repository_owner_ids);
  const repositoryIds = idSet('repository_ids', d.repository_ids);
  if (ownerIds.size === 0 && repositoryIds.size === 0) {
    throw new PolicyError('list at least one id in "repository_owner_ids" or "repository_ids"');
  }
  const archs = (stringList('archs', d.archs, false) ?? [...ARCHES]).map((a) => {
    try {
      return parseArch('archs', a);
    } catch (err) {
      throw new PolicyError((err as Error).message);
    }
  });
  const maxBuilds = d.max_builds;
  if (
    typeof maxBuilds !== 'number' ||
    !Number.isInteger(maxBuilds) ||
    maxBuilds < 1 ||
    maxBuilds > MAX_BUILDS_LIMIT
  ) {
    throw new PolicyError(`"max_builds" must be a whole number from 1 to ${MAX_BUILDS_LIMIT}`);
  }
  const policy: Policy = {
    ownerIds,
    repositoryIds,
    images: stringList('images', d.images, true) ?? [],
    archs: [...new Set(archs)],
    maxCpu: quantity('max_cpu', d.max_cpu, 'millicores'),
    maxMemory: quantity('max_memory', d.max_memory, 'bytes'),
    maxBuilds,
    computeClasses: stringList('compute_classes', d.compute_classes, false) ?? [],
    nodeSelector: (stringList('node_selector', d.node_selector, false) ?? []).map((e) => {
      if (!/^[^=\s]+=\S*$/.test(e))
        throw new PolicyError(`"node_selector" holds ${JSON.stringify(e)}: use KEY=VALUE or KEY=*`);
      return e;
    }),
    tolerations: stringList('tolerations', d.tolerations, false) ?? [],
    serviceAccounts: stringList('service_accounts', d.service_accounts, false) ?? [],
  };
  if (d.privileged !== undefined) {
    const p = d.privileged as Record<string, unknown> | null;
    if (typeof p !== 'object' || p === null || (p.refs === undefined && p.events === undefined)) {
      throw new PolicyError(
        '"privileged" must have "refs", "events" or both (leave it out to forbid privileged builds)',
      );
    }
    const refs = stringList('privileged.refs', p.refs, false);
    const events = stringList('privileged.events', p.events, false);
    policy.privileged = { ...(refs ? { refs } : {}), ...(events ? { events } : {}) };
  }
  return policy;
}

/** CallerIdentity is what the policy reads from a verified token. */
export interface CallerIdentity {
  repository: string;
  repositoryId: string;
  repositoryOwnerId: string;
  ref: string;
  eventName: string;
}

/** checkCaller refuses (rule `repository`) a caller whose owner id and repository id are both unlisted. */
export function checkCaller(policy: Policy, who: CallerIdentity): Refusal | undefined {
  if (policy.ownerIds.has(who.repositoryOwnerId) || policy.repositoryIds.has(who.repositoryId)) {
    return undefined;
  }
  return {
    rule: 'repository',
    reason: `repository ${who.repository} (id ${who.repositoryId}, owner id ${who.repositoryOwnerId}) is not allowed by the policy's repository_owner_ids or repository_ids`,
  };
}

/** DispatchAsk is the part of a validated request the policy limits. */
export interface DispatchAsk {
  image: string;
  archs: readonly Arch[];
  cpu: Quantity;
  memory: Quantity;
  builds: number;
  privileged: boolean;
  computeClass?: string;
  nodeSelector?: Readonly<Record<string, string>>;
  tolerations?: readonly string[];
  /** serviceAccountName: the pods' Kubernetes service account when it is not `default`. */
  serviceAccountName?: string;
}

/**
 * checkScheduling refuses a compute class, node label or toleration that the policy does not list
 * (rules compute_classes, node_selector, tolerations): each may steer builds onto nodes the
 * policy's owner keeps for something else.
 */
function checkScheduling(policy: Policy, ask: DispatchAsk): Refusal | undefined {
  const none = (what: string): string => (what === '' ? 'none' : what);
  if (ask.computeClass !== undefined && !policy.computeClasses.includes(ask.computeClass)) {
    return {
      rule: 'compute_classes',
      reason: `compute class ${ask.computeClass} is not allowed; allowed: ${none(policy.computeClasses.join(', '))}`,
    };
  }
  for (const [key, value] of Object.entries(ask.nodeSelector ?? {})) {
    if (!policy.nodeSelector.some((e) => e === `${key}=${value}` || e === `${key}=*`)) {
      return {
        rule: 'node_selector',
        reason: `node label ${key}=${value} is not allowed; allowed: ${none(policy.nodeSelector.join(', '))}`,
      };
    }
  }
  const toleration = (ask.tolerations ?? []).find((t) => !policy.tolerations.includes(t));
  if (toleration !== undefined) {
    return {
      rule: 'tolerations',
      reason: `toleration ${toleration} is not allowed; allowed: ${none(policy.tolerations.join(', '))}`,
    };
  }
  return undefined;
}

/** refMatches: exact, or a prefix when the pattern ends with `*` (`refs/tags/*`). */
export function refMatches(pattern: string, ref: string): boolean {
  return pattern.endsWith('*') ? ref.startsWith(pattern.slice(0, -1)) : pattern === ref;
}

/**
 * checkRequest applies the request rules in order (max_builds, images, archs, max_cpu, max_memory,
 * compute_classes, node_selector, tolerations, service_accounts, privileged) and answers the first refusal. The privileged rule reads the token's ref and event,
 * never the request body's.
 */
export function checkRequest(
  policy: Policy,
  ask: DispatchAsk,
  who: CallerIdentity,
): Refusal | undefined {
  if (ask.builds > policy.maxBuilds) {
    return {
      rule: 'max_builds',
      reason: `the request makes ${ask.builds} builds (packages x archs); the policy allows at most ${policy.maxBuilds}`,
    };
  }
  if (!policy.images.some((prefix) => ask.image.startsWith(prefix))) {
    return {
      rule: 'images',
      reason: `image ${ask.image} does not start with an allowed prefix (${policy.images.join(', ')})`,
    };
  }
  const arch = ask.archs.find((a) => !policy.archs.includes(a));
  if (arch)
    return {
      rule: 'archs',
      reason: `arch ${arch} is not allowed; allowed: ${policy.archs.join(', ')}`,
    };
  if (ask.cpu.value > policy.maxCpu.value) {
    return {
      rule: 'max_cpu',
      reason: `cpu ${ask.cpu.canonical} is above the policy's max_cpu ${policy.maxCpu.canonical}`,
    };
  }
  if (ask.memory.value > policy.maxMemory.value) {
    return {
      rule: 'max_memory',
      reason: `memory ${ask.memory.canonical} is above the policy's max_memory ${policy.maxMemory.canonical}`,
    };
  }
  const scheduling = checkScheduling(policy, ask);
  if (scheduling) return scheduling;
  const ksa = ask.serviceAccountName;
  if (ksa !== undefined && ksa !== 'default' && !policy.serviceAccounts.includes(ksa)) {
    return {
      rule: 'service_accounts',
      reason: `service account ${ksa} is not allowed; allowed: default${policy.serviceAccounts.map((a) => `, ${a}`).join('')}`,
    };
  }
  if (ask.privileged) {
    const p = policy.privileged;
    const refOk = p?.refs === undefined || p.refs.some((r) => refMatches(r, who.ref));
    const eventOk = p?.events === undefined || p.events.includes(who.eventName);
    if (!p || !refOk || !eventOk) {
      const allowed = p
        ? ` (allowed: ${[p.refs ? `refs ${p.refs.join(', ')}` : '', p.events ? `events ${p.events.join(', ')}` : ''].filter(Boolean).join('; ')})`
        : ' (the policy allows no privileged builds)';
      return {
        rule: 'privileged',
        reason: `privileged builds are not allowed for ref ${who.ref || '(none)'} and event ${who.eventName || '(none)'}${allowed}`,
      };
    }
  }
  return undefined;
}
