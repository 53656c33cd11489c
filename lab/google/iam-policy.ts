// iam-policy.ts: the IAM policies of the lab's service accounts: who may get
// their access tokens (IAM Credentials generateAccessToken, and the GKE
// metadata server for an annotated Kubernetes service account).
// Sources: https://cloud.google.com/iam/docs/service-account-permissions
// (roles on a service account that carry iam.serviceAccounts.getAccessToken)
// and https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity
// (roles/iam.workloadIdentityUser for `serviceAccount:PROJECT_ID.svc.id.goog[NS/KSA]`).
import type { ServiceAccountConfig } from './config.ts';

/** SERVICE_ACCOUNT_ROLES are the roles on a service account the lab knows, with their permissions. */
export const SERVICE_ACCOUNT_ROLES: Readonly<Record<string, readonly string[]>> = {
  'roles/iam.workloadIdentityUser': [
    'iam.serviceAccounts.getAccessToken',
    'iam.serviceAccounts.getOpenIdToken',
  ],
  'roles/iam.serviceAccountTokenCreator': [
    'iam.serviceAccounts.getAccessToken',
    'iam.serviceAccounts.getOpenIdToken',
    'iam.serviceAccounts.signBlob',
    'iam.serviceAccounts.signJwt',
  ],
};

/** ServiceAccountBinding grants a role on a service account to IAM members. */
export interface ServiceAccountBinding {
  role: string;
  members: string[];
}

/**
 * ServiceAccountPolicies holds each configured service account's policy in
 * memory. `serviceAccounts[].members` of the config start as its
 * roles/iam.workloadIdentityUser; tests change them through
 * `/_lab/iam-bindings` (a restart goes back to the config).
 */
export class ServiceAccountPolicies {
  readonly #policies = new Map<string, Map<string, Set<string>>>();

  constructor(accounts: readonly ServiceAccountConfig[]) {
    for (const sa of accounts) {
      this.#policies.set(
        sa.email,
        new Map([['roles/iam.workloadIdentityUser', new Set(sa.members)]]),
      );
    }
  }

  /** exists tells whether the service account is one of the lab's. */
  exists(email: string): boolean {
    return this.#policies.has(email);
  }

  /** get answers the account's bindings (empty when the account does not exist). */
  get(email: string): ServiceAccountBinding[] {
    return [...(this.#policies.get(email) ?? [])]
      .filter(([, members]) => members.size > 0)
      .map(([role, members]) => ({ role, members: [...members] }));
  }

  /** grant gives `role` on the account to `member`; throws when the account or role is unknown. */
  grant(email: string, role: string, member: string): void {
    const policy = this.#policies.get(email);
    if (policy === undefined) throw new Error(`no service account ${email} in the lab`);
    if (SERVICE_ACCOUNT_ROLES[role] === undefined) {
      throw new Error(
        `unknown role ${role}: want ${Object.keys(SERVICE_ACCOUNT_ROLES).join(' or ')}`,
      );
    }
    const members = policy.get(role) ?? new Set<string>();
    members.add(member);
    policy.set(role, members);
  }

  /** revoke takes `role` on the account from `member` (idempotent). */
  revoke(email: string, role: string, member: string): void {
    this.#policies.get(email)?.get(role)?.delete(member);
  }

  /** allows tells whether any of `ids` holds `permission` on the account. */
  allows(email: string, permission: string, ids: readonly string[]): boolean {
    for (const [role, members] of this.#policies.get(email) ?? []) {
      if (!(SERVICE_ACCOUNT_ROLES[role] ?? []).includes(permission)) continue;
      if ([...members].some((m) => ids.includes(m))) return true;
    }
    return false;
  }
}
