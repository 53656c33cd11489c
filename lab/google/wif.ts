// wif.ts: Workload Identity Federation rules (pure): resource names, the
// audiences a provider accepts, CEL attribute mapping and condition, and the
// principal / principalSet identifiers IAM grants roles to.
// Sources: https://cloud.google.com/iam/docs/workload-identity-federation
// (attribute mappings and conditions, principal identifiers) and
// https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools.providers
// (oidc.allowedAudiences: empty means the provider's full resource name,
// with or without the https: prefix).
import { parse } from '@marcbachmann/cel-js';

/** PoolRef names one provider of one workload identity pool. */
export interface PoolRef {
  projectNumber: string;
  pool: string;
  provider: string;
}

const IAM_HOST = 'iam.googleapis.com';

/** providerResourceName is `projects/NUM/locations/global/workloadIdentityPools/POOL/providers/PROV`. */
export function providerResourceName(ref: PoolRef): string {
  return `projects/${ref.projectNumber}/locations/global/workloadIdentityPools/${ref.pool}/providers/${ref.provider}`;
}

/** poolResourceName is `projects/NUM/locations/global/workloadIdentityPools/POOL`. */
export function poolResourceName(ref: PoolRef): string {
  return `projects/${ref.projectNumber}/locations/global/workloadIdentityPools/${ref.pool}`;
}

/**
 * parseStsAudience reads the STS `audience` parameter,
 * `//iam.googleapis.com/projects/NUM/locations/global/workloadIdentityPools/POOL/providers/PROV`;
 * undefined when it has another form.
 */
export function parseStsAudience(audience: string): PoolRef | undefined {
  const m =
    /^\/\/iam\.googleapis\.com\/projects\/(\d+)\/locations\/global\/workloadIdentityPools\/([^/]+)\/providers\/([^/]+)$/.exec(
      audience,
    );
  if (m === null) return undefined;
  return { projectNumber: m[1] ?? '', pool: m[2] ?? '', provider: m[3] ?? '' };
}

/**
 * acceptedAudiences is the list of `aud` values the provider accepts in a
 * subject token: `allowedAudiences` when set, else its resource name as
 * `https://iam.googleapis.com/...` and `//iam.googleapis.com/...`.
 */
export function acceptedAudiences(ref: PoolRef, allowedAudiences: string[]): string[] {
  if (allowedAudiences.length > 0) return allowedAudiences;
  const name = providerResourceName(ref);
  return [`https://${IAM_HOST}/${name}`, `//${IAM_HOST}/${name}`];
}

/** MappedIdentity is the result of an attribute mapping. */
export interface MappedIdentity {
  subject: string;
  groups: string[];
  attributes: Record<string, string>;
}

/** MappingError says why a subject token cannot be mapped (STS answers invalid_request). */
export class MappingError extends Error {}

const compiled = new Map<string, ReturnType<typeof parse>>();

function compile(expression: string): ReturnType<typeof parse> {
  let fn = compiled.get(expression);
  if (fn === undefined) {
    fn = parse(expression);
    compiled.set(expression, fn);
  }
  return fn;
}

/**
 * mapAttributes evaluates each CEL expression of `mapping` (keys
 * `google.subject`, `google.groups`, `attribute.NAME`) over
 * `{assertion: claims}`. google.subject is required and at most 127 bytes;
 * an attribute whose expression fails (a missing claim) is left unset.
 * Throws MappingError.
 */
export function mapAttributes(
  mapping: Record<string, string>,
  claims: Record<string, unknown>,
): MappedIdentity {
  const out: MappedIdentity = { subject: '', groups: [], attributes: {} };
  for (const [key, expression] of Object.entries(mapping)) {
    let value: unknown;
    try {
      value = compile(expression)({ assertion: claims });
    } catch (err) {
      if (key === 'google.subject') {
        throw new MappingError(`The mapping for google.subject failed: ${firstLine(err)}`);
      }
      continue;
    }
    if (key === 'google.subject') {
      if (typeof value !== 'string' || value === '') {
        throw new MappingError('The mapped attribute google.subject must be a non-empty string.');
      }
      if (Buffer.byteLength(value) > 127) {
        throw new MappingError(
          'The size of mapped attribute google.subject exceeds the 127 bytes limit.',
        );
      }
      out.subject = value;
    } else if (key === 'google.groups') {
      out.groups = Array.isArray(value) ? value.map(String) : [String(value)];
    } else if (key.startsWith('attribute.')) {
      out.attributes[key.slice('attribute.'.length)] = String(value);
    }
  }
  if (out.subject === '') throw new MappingError('The attribute mapping has no google.subject.');
  return out;
}

/**
 * conditionHolds evaluates a CEL attribute condition over `assertion`,
 * `google` ({subject, groups}) and `attribute`; an empty condition holds, and
 * an expression that fails to evaluate (a missing claim) does not.
 */
export function conditionHolds(
  condition: string,
  claims: Record<string, unknown>,
  mapped: MappedIdentity,
): boolean {
  if (condition.trim() === '') return true;
  try {
    const result = compile(condition)({
      assertion: claims,
      google: { subject: mapped.subject, groups: mapped.groups },
      attribute: mapped.attributes,
    });
    return result === true;
  } catch {
    return false;
  }
}

/** principalOf is `principal://iam.googleapis.com/<pool>/subject/SUBJECT`. */
export function principalOf(ref: PoolRef, subject: string): string {
  return `principal://${IAM_HOST}/${poolResourceName(ref)}/subject/${subject}`;
}

/**
 * principalSetsOf lists the principal sets an identity belongs to:
 * `principalSet://iam.googleapis.com/<pool>/attribute.NAME/VALUE` per
 * attribute, `.../group/GROUP` per group, and `.../*`.
 */
export function principalSetsOf(ref: PoolRef, mapped: MappedIdentity): string[] {
  const base = `principalSet://${IAM_HOST}/${poolResourceName(ref)}`;
  return [
    ...Object.entries(mapped.attributes).map(([k, v]) => `${base}/attribute.${k}/${v}`),
    ...mapped.groups.map((g) => `${base}/group/${g}`),
    `${base}/*`,
  ];
}

/** Identity is the caller as IAM sees it: its own id and the sets it is in. */
export interface Identity {
  ids: string[];
}

/** isMember tells whether any IAM member (principal://, principalSet://, serviceAccount:) names the identity. */
export function isMember(members: string[], identity: Identity): boolean {
  return members.some((m) => identity.ids.includes(m));
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}
