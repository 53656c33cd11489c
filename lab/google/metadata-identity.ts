// metadata-identity.ts: Workload Identity Federation for GKE (pure): which
// Google identity a Kubernetes service account (KSA) stands for, and the
// GKE metadata server's refusal when it may not.
// Sources: https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity
// (the fixed pool PROJECT_ID.svc.id.goog; principal
// `principal://iam.googleapis.com/projects/NUM/locations/global/workloadIdentityPools/PROJECT_ID.svc.id.goog/subject/ns/NS/sa/KSA`;
// principal sets by namespace, cluster and KSA UID; the legacy member
// `serviceAccount:PROJECT_ID.svc.id.goog[NS/KSA]`), and
// https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity
// (the `iam.gke.io/gcp-service-account` annotation, which needs
// roles/iam.workloadIdentityUser for the KSA on the Google service account).
import type { FederatedIdentity } from './tokens.ts';

/** GSA_ANNOTATION names the Google service account a KSA impersonates. */
export const GSA_ANNOTATION = 'iam.gke.io/gcp-service-account';

/**
 * GKE_GET_ACCESS_TOKEN_DENIED is the body of the GKE metadata server's 403
 * when IAM refuses getAccessToken for an annotated KSA (as seen from the
 * gke-metadata-server, quoted in client libraries' errors).
 */
export const GKE_GET_ACCESS_TOKEN_DENIED =
  "Unable to generate access token; IAM returned 403 Forbidden: Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).\n" +
  'This error could be caused by a missing IAM policy binding on the target IAM service account.\n' +
  'For more information, refer to the Workload Identity documentation:\n' +
  '\thttps://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity#authenticating_to\n\n';

/** GkePool is the cluster's workload pool as IAM names it. */
export interface GkePool {
  projectId: string;
  projectNumber: string;
  /** workloadPool is `PROJECT_ID.svc.id.goog`. */
  workloadPool: string;
  cluster: { name: string; location: string };
}

/** Ksa is a Kubernetes service account as the metadata server reads it. */
export interface Ksa {
  namespace: string;
  name: string;
  uid: string;
  /** gsa is the `iam.gke.io/gcp-service-account` annotation ('' when absent). */
  gsa: string;
}

const IAM = 'iam.googleapis.com';

function poolBase(pool: GkePool): string {
  return `projects/${pool.projectNumber}/locations/global/workloadIdentityPools/${pool.workloadPool}`;
}

/** ksaPrincipal is the KSA's `principal://.../subject/ns/NS/sa/KSA`. */
export function ksaPrincipal(pool: GkePool, namespace: string, name: string): string {
  return `principal://${IAM}/${poolBase(pool)}/subject/ns/${namespace}/sa/${name}`;
}

/** ksaMember is the legacy IAM member `serviceAccount:PROJECT_ID.svc.id.goog[NS/KSA]`. */
export function ksaMember(pool: GkePool, namespace: string, name: string): string {
  return `serviceAccount:${pool.workloadPool}[${namespace}/${name}]`;
}

/**
 * ksaIdentity is the federated identity of a KSA: its principal, and as
 * principal sets its legacy member, its namespace, its cluster and its UID
 * (the IAM member strings a binding may name).
 */
export function ksaIdentity(pool: GkePool, ksa: Ksa): FederatedIdentity {
  const base = `principalSet://${IAM}/${poolBase(pool)}`;
  const cluster = `https://container.googleapis.com/v1/projects/${pool.projectId}/locations/${pool.cluster.location}/clusters/${pool.cluster.name}`;
  return {
    kind: 'federated',
    principal: ksaPrincipal(pool, ksa.namespace, ksa.name),
    principalSets: [
      ksaMember(pool, ksa.namespace, ksa.name),
      `${base}/namespace/${ksa.namespace}`,
      `${base}/kubernetes.cluster/${cluster}`,
      ...(ksa.uid === '' ? [] : [`${base}/kubernetes.serviceaccount.uid/${ksa.uid}`]),
    ],
    attributes: {},
  };
}

/**
 * PodIdentity is what the metadata server answers for a KSA: `email` is the
 * account's name at `.../service-accounts/default/email`, and either the
 * identity its tokens carry or the refusal its token requests get.
 */
export type PodIdentity =
  | { email: string; kind: 'serviceAccount' }
  | { email: string; kind: 'federated'; identity: FederatedIdentity }
  | { email: string; kind: 'refused'; status: number; message: string };

/**
 * podIdentity applies GKE's rules. An annotated KSA stands for its Google
 * service account when `mayGetAccessToken(email, ids)` holds for the KSA's
 * ids (roles/iam.workloadIdentityUser on the account), else its token
 * requests get GKE's 403 (GKE_GET_ACCESS_TOKEN_DENIED), also when the account
 * does not exist. A KSA without the annotation gets the federated token of
 * its own principal, whatever its bindings: what that token may do is
 * decided by the APIs it calls (GCS answers 403 without a binding).
 */
export function podIdentity(
  pool: GkePool,
  ksa: Ksa,
  mayGetAccessToken: (email: string, ids: readonly string[]) => boolean,
): PodIdentity {
  const identity = ksaIdentity(pool, ksa);
  if (ksa.gsa === '') return { email: pool.workloadPool, kind: 'federated', identity };
  const ids = [identity.principal, ...identity.principalSets];
  if (mayGetAccessToken(ksa.gsa, ids)) return { email: ksa.gsa, kind: 'serviceAccount' };
  return { email: ksa.gsa, kind: 'refused', status: 403, message: GKE_GET_ACCESS_TOKEN_DENIED };
}
