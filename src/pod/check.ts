/**
 * check.ts: the pod program's `check` command, the first init container of a build with
 * `upload: cluster`. It asks, as the pod's own Google identity and over the pod's own network
 * path, whether the build will be able to write its objects: the GKE metadata server must give a
 * token for the pod's Kubernetes service account (KSA), and GCS's testIamPermissions must answer
 * every permission the build needs on the bucket. When not, it fails the pod before the build
 * runs, with a message (the container's termination message, which the runner reports) that
 * names the KSA, the Google identity, the missing role and the command that grants it.
 */
import { testBucketPermissions } from '../core/gcs/objects.ts';
import { POD_ENV, roleFor } from '../core/manifest/pod-program.ts';
import { envReader } from './env.ts';
import { MetadataServer } from './metadata.ts';

/** CheckEnv: what the check reads (POD_ENV names). */
export interface CheckEnv {
  bucket: string;
  apiEndpoint: string;
  permissions: string[];
  /** `NAMESPACE/KSA`. */
  serviceAccount: string;
  metadataHost: string | undefined;
}

/** checkEnvFrom reads CheckEnv from the process environment; throws naming a missing variable. */
export function checkEnvFrom(env: NodeJS.ProcessEnv): CheckEnv {
  const { need, common } = envReader(env);
  return {
    ...common(),
    permissions: need(POD_ENV.permissions).split(',').filter(Boolean),
    serviceAccount: need(POD_ENV.serviceAccount),
  };
}

/** GSA_EMAIL matches a Google service account's email (the annotation form of the binding). */
const GSA_EMAIL = /^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]+\.iam\.gserviceaccount\.com$/;

/**
 * memberOf is the IAM member that stands for the pod: `serviceAccount:EMAIL` when the KSA is
 * annotated with `iam.gke.io/gcp-service-account`, else the KSA's own principal
 * `principal://iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/PROJECT.svc.id.goog/subject/ns/NS/sa/KSA`
 * (GKE docs "Authenticate to Google Cloud APIs from GKE workloads").
 */
export function memberOf(
  email: string,
  serviceAccount: string,
  project: { id: string; number: string },
): string {
  if (GSA_EMAIL.test(email)) return `serviceAccount:${email}`;
  const [ns, ksa] = serviceAccount.split('/');
  return (
    `principal://iam.googleapis.com/projects/${project.number}/locations/global/workloadIdentityPools/` +
    `${project.id}.svc.id.goog/subject/ns/${ns}/sa/${ksa}`
  );
}

/**
 * runCheck performs the check and answers the line to print on success; throws an Error whose
 * message is the whole explanation on failure.
 */
export async function runCheck(c: CheckEnv): Promise<string> {
  const md = new MetadataServer(c.metadataHost);
  const ksa = `Kubernetes service account ${c.serviceAccount}`;
  let email: string;
  try {
    email = await md.email();
  } catch (err) {
    throw new Error(
      `${ksa} has no Google identity: the GKE metadata server answered: ${(err as Error).message}. ` +
        'Enable Workload Identity Federation for GKE on the cluster and node pool (deploy/gcp/setup.sh).',
      { cause: err },
    );
  }
  const project = {
    id: await md.get('project/project-id').catch(() => 'PROJECT_ID'),
    number: await md.get('project/numeric-project-id').catch(() => 'PROJECT_NUMBER'),
  };
  const member = memberOf(email, c.serviceAccount, project);
  const [ns, name] = c.serviceAccount.split('/');
  try {
    await md.authorization();
  } catch (err) {
    const fix = GSA_EMAIL.test(email)
      ? `; allow it to act as ${email}: gcloud iam service-accounts add-iam-policy-binding ${email} ` +
        `--role=roles/iam.workloadIdentityUser --member="serviceAccount:${project.id}.svc.id.goog[${ns}/${name}]"`
      : '';
    throw new Error(
      `${ksa} (Google identity ${member}) cannot get a token from the GKE metadata server: ` +
        `${(err as Error).message}${fix}`,
      { cause: err },
    );
  }
  const held = await testBucketPermissions(
    { bucket: c.bucket, apiEndpoint: c.apiEndpoint, authorization: () => md.authorization() },
    c.permissions,
  );
  const missing = c.permissions.filter((p) => !held.includes(p));
  if (missing.length > 0) {
    const role = roleFor(c.permissions);
    throw new Error(
      `${ksa} (Google identity ${member}) lacks ${missing.join(', ')} on bucket ${c.bucket}, ` +
        `which the build pod needs (inputs "upload: cluster", "staging: bucket"). Grant ${role}: ` +
        `gcloud storage buckets add-iam-policy-binding gs://${c.bucket} --member="${member}" --role=${role}`,
    );
  }
  return `kbuild: ${ksa} acts as ${member} and holds ${c.permissions.join(', ')} on gs://${c.bucket}`;
}
