// lab-metadata.test.ts: Workload Identity Federation for GKE on the lab, with
// real clients inside pods. The pod runtime points every container at the
// lab's GKE metadata server (GCE_METADATA_HOST/ROOT/IP); `gcloud storage`
// and google-auth-library get their token there, as the pod's Kubernetes
// service account (KSA), and use it against the lab's GCS:
//   - a KSA annotated with the builder service account and bound to it
//     (roles/iam.workloadIdentityUser) lists and writes a bucket whose IAM
//     policy grants the builder roles/storage.admin;
//   - a KSA without annotation gets its own federated principal, which GCS
//     refuses until the bucket's policy grants that principal a role;
//   - an annotated KSA without the binding gets GKE's 403 from the metadata
//     server itself.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { kubectl, labEnv, labIamBinding, ROOT } from './lab.ts';
import { create, createNamespace, deleteNamespace, uniqueName, waitForPhase } from './lab-kube.ts';

/** The images with gcloud (amd64 only, like the real one's slim tag) and with Node 24. */
const GCLOUD_IMAGE = 'gcr.io/google.com/cloudsdktool/google-cloud-cli:slim';
const NODE_IMAGE = 'node:24-slim';
const POOL = 'kbuild-lab.svc.id.goog';

// The namespace is made in this file's own before hook, which needs it at once.
const scope = { ns: '' };
let env: Record<string, string> = {};
let bucket = '';
let builder = '';
let gcs = '';
let prefix = '';
const cleanups: (() => Promise<void>)[] = [];

/** ksa creates a Kubernetes service account, annotated with a Google one when `gsa` is set. */
function ksa(name: string, gsa?: string): void {
  create(scope.ns, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name,
      ...(gsa === undefined ? {} : { annotations: { 'iam.gke.io/gcp-service-account': gsa } }),
    },
  });
}

/** bind grants a role for the rest of this file (taken back afterwards). */
async function bind(resource: string, role: string, member: string): Promise<void> {
  await labIamBinding({ resource, role, member });
  cleanups.push(() => labIamBinding({ resource, role, member, remove: true }));
}

/**
 * runPod runs one container as KSA `serviceAccount` to its end and answers
 * its phase and log. No service account token is mounted: Workload Identity
 * does not need one.
 */
async function runPod(
  serviceAccount: string,
  image: string,
  command: string[],
  extra: { env?: { name: string; value: string }[]; volumes?: object[]; mounts?: object[] } = {},
): Promise<{ phase: string; log: string }> {
  const name = uniqueName('md');
  create(scope.ns, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      serviceAccountName: serviceAccount,
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 1,
      nodeSelector: { 'kubernetes.io/arch': 'amd64' },
      containers: [
        {
          name: 'main',
          image,
          command,
          env: extra.env ?? [],
          volumeMounts: extra.mounts ?? [],
        },
      ],
      volumes: extra.volumes ?? [],
    },
  });
  const pod = await waitForPhase(scope.ns, name, ['Succeeded', 'Failed'], 180_000);
  return { phase: pod.status.phase ?? '', log: kubectl(['logs', '-n', scope.ns, name]) };
}

/** gcloud runs `gcloud ARGS...` (a shell script) in a pod, against the lab's GCS. */
function gcloudInPod(serviceAccount: string, script: string) {
  return runPod(serviceAccount, GCLOUD_IMAGE, ['sh', '-c', script], {
    env: [
      { name: 'CLOUDSDK_CONFIG', value: '/tmp/gcloud' },
      {
        name: 'CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE',
        value: env['CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE'] ?? '',
      },
      { name: 'CLOUDSDK_CORE_DISABLE_PROMPTS', value: '1' },
      { name: 'CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK', value: 'true' },
      { name: 'CLOUDSDK_CORE_DISABLE_USAGE_REPORTING', value: 'true' },
    ],
  });
}

before(async () => {
  scope.ns = await createNamespace('lab-metadata-e2e');
  env = labEnv();
  // A bucket of its own with an IAM policy (the lab's default bucket has none: open to all).
  bucket = `kbuild-wi-${randomBytes(4).toString('hex')}`;
  builder = env['KBUILD_LAB_SERVICE_ACCOUNT'] ?? '';
  gcs = env['STORAGE_EMULATOR_HOST'] ?? '';
  prefix = `lab-metadata/${scope.ns}`;
  const made = await fetch(`${gcs}/storage/v1/b`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: bucket }),
  });
  assert.equal(made.status, 200, await made.text());
  const res = await fetch(
    `${gcs}/upload/storage/v1/b/${bucket}/o?uploadType=media&name=${encodeURIComponent(`${prefix}/hello.txt`)}`,
    { method: 'POST', body: 'hello from the host\n' },
  );
  assert.equal(res.status, 200, await res.text());
  await labIamBinding({
    resource: `buckets/${bucket}`,
    role: 'roles/storage.admin',
    member: `serviceAccount:${builder}`,
  });
  ksa('builder', builder);
  ksa('direct');
  ksa('unbound', builder);
  await bind(
    `serviceAccounts/${builder}`,
    'roles/iam.workloadIdentityUser',
    `serviceAccount:${POOL}[${scope.ns}/builder]`,
  );
});

after(async () => {
  for (const undo of cleanups) await undo();
  deleteNamespace(scope.ns);
});

test('gcloud storage ls and cp in a pod whose KSA is bound to the builder service account', async () => {
  const r = await gcloudInPod(
    'builder',
    [
      `gcloud storage ls gs://${bucket}/${prefix}/`,
      'echo written by a pod > /tmp/up.txt',
      `gcloud storage cp /tmp/up.txt gs://${bucket}/${prefix}/from-pod.txt`,
      `gcloud storage cat gs://${bucket}/${prefix}/from-pod.txt`,
      'gcloud auth list --filter=status:ACTIVE --format="value(account)"',
    ].join(' && '),
  );
  assert.equal(r.phase, 'Succeeded', r.log);
  assert.match(r.log, new RegExp(`^gs://${bucket}/${prefix}/hello\\.txt$`, 'm'));
  assert.match(r.log, /^written by a pod$/m);
  assert.match(r.log, new RegExp(`^${builder.replace(/\./g, '\\.')}$`, 'm'));
  // Without a token, the bucket's policy (no allUsers) refuses.
  const anonymous = await fetch(`${gcs}/storage/v1/b/${bucket}/o?prefix=${prefix}/`);
  assert.equal(anonymous.status, 403);
});

test('google-auth-library in a pod gets the builder token from the metadata server and reads the bucket', async () => {
  // google-auth-library comes from this repository's node_modules (a hostPath
  // volume); node is the image's (the test's own Node 24 while pods run host programs).
  const modules = realpathSync(join(ROOT, 'node_modules'));
  const script = `
    const { GoogleAuth } = require('/opt/node_modules/google-auth-library');
    (async () => {
      const auth = new GoogleAuth({ scopes: 'https://www.googleapis.com/auth/cloud-platform' });
      const { token } = await (await auth.getClient()).getAccessToken();
      const { client_email } = await auth.getCredentials();
      const res = await fetch(process.env.GCS + '/storage/v1/b/${bucket}/o?prefix=${prefix}/', {
        headers: { authorization: 'Bearer ' + token },
      });
      const body = await res.json();
      console.log(JSON.stringify({ email: client_email, project: await auth.getProjectId(),
        status: res.status, names: (body.items ?? []).map((o) => o.name) }));
    })().catch((err) => { console.error(err.message); process.exit(1); });`;
  const r = await runPod('builder', NODE_IMAGE, ['node', '-e', script], {
    env: [
      { name: 'GCS', value: gcs },
      { name: 'PATH', value: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin` },
    ],
    volumes: [{ name: 'modules', hostPath: { path: modules, type: 'Directory' } }],
    mounts: [{ name: 'modules', mountPath: '/opt/node_modules', readOnly: true }],
  });
  assert.equal(r.phase, 'Succeeded', r.log);
  const got = JSON.parse(r.log.trim().split('\n').at(-1) ?? '{}') as {
    email: string;
    project: string;
    status: number;
    names: string[];
  };
  assert.deepEqual(
    { email: got.email, project: got.project, status: got.status },
    { email: builder, project: env['KBUILD_LAB_PROJECT_ID'], status: 200 },
  );
  assert.ok(got.names.includes(`${prefix}/hello.txt`), JSON.stringify(got.names));
});

test('a KSA without annotation acts as its own principal: refused by GCS until the bucket binds it', async () => {
  const ls = `gcloud storage ls gs://${bucket}/${prefix}/`;
  const refused = await gcloudInPod('direct', ls);
  assert.equal(refused.phase, 'Failed', refused.log);
  const principal = `principal://iam.googleapis.com/projects/${env['KBUILD_LAB_WORKLOAD_IDENTITY_PROVIDER']?.split('/')[1]}/locations/global/workloadIdentityPools/${POOL}/subject/ns/${scope.ns}/sa/direct`;
  assert.ok(
    refused.log.includes(`HTTPError 403: ${principal} does not have storage.objects.`),
    refused.log,
  );
  await bind(`buckets/${bucket}`, 'roles/storage.objectViewer', principal);
  const allowed = await gcloudInPod('direct', ls);
  assert.equal(allowed.phase, 'Succeeded', allowed.log);
  assert.match(allowed.log, new RegExp(`^gs://${bucket}/${prefix}/hello\\.txt$`, 'm'));
});

test('an annotated KSA without roles/iam.workloadIdentityUser gets the GKE metadata server 403', async () => {
  const r = await gcloudInPod('unbound', `gcloud storage ls gs://${bucket}/${prefix}/`);
  assert.equal(r.phase, 'Failed', r.log);
  // gcloud quotes the body as Python bytes (\' for ').
  assert.match(
    r.log,
    /Unable to generate access token; IAM returned 403 Forbidden: Permission \\?'iam\.serviceAccounts\.getAccessToken\\?' denied on resource \(or it may not exist\)/,
  );
});

test('the metadata server refuses callers that are not pods, and requests without Metadata-Flavor', async () => {
  const base = `http://${env['KBUILD_LAB_METADATA_HOST']}/computeMetadata/v1`;
  const flavor = { 'Metadata-Flavor': 'Google' };
  const host = await fetch(`${base}/instance/service-accounts/default/token`, { headers: flavor });
  assert.equal(host.status, 403);
  assert.match(await host.text(), /no lab pod behind this connection/);
  const noHeader = await fetch(`${base}/project/project-id`);
  assert.deepEqual([noHeader.status, noHeader.headers.get('metadata-flavor')], [403, 'Google']);
  const project = await fetch(`${base}/project/project-id`, { headers: flavor });
  assert.equal(await project.text(), env['KBUILD_LAB_PROJECT_ID']);
});
