// release-trust.test.ts: the trust that deploy/gcp/setup.sh --release-service-account
// sets up, enforced by the lab's STS, IAM Credentials and GCS stand-ins. The
// provider's attribute mapping, the service accounts' workloadIdentityUser
// members and the bucket's conditional bindings are read from the commands
// `setup.sh --dry-run` prints (so the test checks the script, not a copy of
// it); the tokens and uploads go through the product's own code
// (WorkloadIdentityTokenSource, GcsObjectStore). A pull request's build
// cannot write under releases/ nor impersonate the release account; a tag
// push or a job of the release environment can, and only there. Starts the
// stand-ins in-process on ephemeral ports; needs nothing else of the lab.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseGoogleLabConfig } from '../../lab/google/config.ts';
import type { BucketBinding } from '../../lab/google/gcs/iam.ts';
import { startGoogleStandIns } from '../../lab/google/standins.ts';
import type { GoogleStandIns } from '../../lab/google/standins.ts';
import { dryRunCommands } from '../../scripts/setup-gcloud-check.ts';
import { WorkloadIdentityTokenSource } from '../../src/core/google/wif.ts';
import { GcsObjectStore } from '../../src/core/gcs/storage.ts';

const PROJECT = 'kbuild-lab';
const BUCKET = 'kbuild-lab-release-trust';
const REPOSITORY_ID = '90001';
const BUILDER = `kbuild-builder@${PROJECT}.iam.gserviceaccount.com`;
const RELEASE = `kbuild-release@${PROJECT}.iam.gserviceaccount.com`;
const PROVIDER =
  'projects/123456789012/locations/global/workloadIdentityPools/kbuild-pool/providers/github';

/** SetupPolicy is what setup.sh configures, as the lab's config needs it. */
interface SetupPolicy {
  attributeMapping: Record<string, string>;
  attributeCondition: string;
  serviceAccounts: { email: string; members: string[] }[];
  bindings: BucketBinding[];
}

/** flag answers the value of `--name=value` in a gcloud argv, or undefined. */
function flag(argv: string[], name: string): string | undefined {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  return a?.slice(name.length + 3);
}

/**
 * setupPolicy reads the provider, service account bindings and bucket
 * bindings from `setup.sh --dry-run --release-service-account`. A gcloud
 * dict flag is `k=v,k=v`; a condition flag `^:^title=T:description=D:expression=E`
 * (gcloud's alternate delimiter, topic escaping).
 */
function setupPolicy(): SetupPolicy {
  const commands = dryRunCommands([
    '--project',
    PROJECT,
    '--project-number',
    '123456789012',
    '--region',
    'us-central1',
    '--github-owner-id',
    '4242',
    '--github-repository-id',
    REPOSITORY_ID,
    '--bucket',
    BUCKET,
    '--release-service-account',
  ]);
  const provider = commands.find(
    (c) => c.slice(0, 4).join(' ') === 'iam workload-identity-pools providers create-oidc',
  );
  assert.ok(provider, 'setup.sh creates the provider');
  const attributeMapping = Object.fromEntries(
    (flag(provider, 'attribute-mapping') ?? '').split(',').map((kv) => {
      const i = kv.indexOf('=');
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
  const serviceAccounts = commands
    .filter((c) => c.slice(0, 3).join(' ') === 'iam service-accounts add-iam-policy-binding')
    .map((c) => ({ email: c[3] ?? '', members: [flag(c, 'member') ?? ''] }));
  const bindings = commands
    .filter((c) => c.slice(0, 3).join(' ') === 'storage buckets add-iam-policy-binding')
    .map((c): BucketBinding => {
      assert.equal(c[3], `gs://${BUCKET}`);
      const binding: BucketBinding = {
        role: flag(c, 'role') ?? '',
        members: [flag(c, 'member') ?? ''],
      };
      const condition = flag(c, 'condition');
      if (condition !== undefined) {
        assert.match(condition, /^\^:\^/, 'the condition uses ":" as its delimiter');
        const fields = Object.fromEntries(
          condition
            .slice(3)
            .split(':')
            .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
        );
        binding.condition = { title: fields.title ?? '', expression: fields.expression ?? '' };
      }
      return binding;
    });
  return {
    attributeMapping,
    attributeCondition: flag(provider, 'attribute-condition') ?? '',
    serviceAccounts,
    bindings,
  };
}

let dir: string;
let lab: GoogleStandIns;
let policy: SetupPolicy;

before(async () => {
  delete process.env.STORAGE_EMULATOR_HOST;
  policy = setupPolicy();
  dir = await mkdtemp(join(tmpdir(), 'release-trust-'));
  await writeFile(join(dir, 'ca.crt'), '');
  const config = parseGoogleLabConfig({
    ports: { oidc: 0, sts: 0, iam: 0, gke: 0, gcs: 0, tokenReview: 0, metadata: 0 },
    workloadIdentity: {
      attributeMapping: policy.attributeMapping,
      attributeCondition: policy.attributeCondition,
    },
    serviceAccounts: policy.serviceAccounts,
    gcs: { stateDir: join(dir, 'gcs'), buckets: [BUCKET], iam: { [BUCKET]: policy.bindings } },
    cluster: { caCertPath: join(dir, 'ca.crt') },
  });
  lab = await startGoogleStandIns(config, { log: () => undefined });
});

after(async () => {
  await lab?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** UPLOADER is the uploader KSA's principal in the lab's workload pool (setup.sh's own form). */
const UPLOADER =
  'principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/kbuild-lab.svc.id.goog/subject/ns/kbuild/sa/kbuild-uploader';

test('setup.sh binds by repository id and conditions both accounts on releases/', () => {
  assert.deepEqual(
    policy.serviceAccounts.map((s) => [s.email, s.members[0]?.replace(/^.*\/attribute\./, '')]),
    [
      [BUILDER, `repository_id/${REPOSITORY_ID}`],
      [RELEASE, `release_repository_id/${REPOSITORY_ID}`],
    ],
  );
  const prefix = `projects/_/buckets/${BUCKET}/objects/releases/`;
  assert.deepEqual(
    policy.bindings.map((b) => [b.members[0], b.role, b.condition?.expression]),
    [
      [
        `serviceAccount:${BUILDER}`,
        'roles/storage.objectCreator',
        `!resource.name.startsWith("${prefix}")`,
      ],
      [`serviceAccount:${BUILDER}`, 'roles/storage.objectViewer', undefined],
      // upload: cluster: the uploader's Kubernetes service account, outside releases/ too.
      [UPLOADER, 'roles/storage.objectCreator', `!resource.name.startsWith("${prefix}")`],
      [UPLOADER, 'roles/storage.objectViewer', undefined],
      // staging: bucket: the builder may also delete its staging objects, and only those.
      [
        `serviceAccount:${BUILDER}`,
        'roles/storage.objectUser',
        `resource.name.startsWith("projects/_/buckets/${BUCKET}/objects/kbuild-staging/")`,
      ],
      [
        `serviceAccount:${RELEASE}`,
        'roles/storage.objectCreator',
        `resource.name.startsWith("${prefix}")`,
      ],
    ],
  );
});

/** Job is the GitHub context a token is minted for. */
type Job = Record<string, string>;

const PULL_REQUEST: Job = {
  event_name: 'pull_request',
  ref: 'refs/pull/7/merge',
  ref_type: '',
  head_ref: 'feature',
  base_ref: 'main',
};
const TAG_PUSH: Job = { event_name: 'push', ref: 'refs/tags/v1.2.3', ref_type: 'tag' };
const RELEASE_ENVIRONMENT: Job = {
  event_name: 'workflow_dispatch',
  ref: 'refs/heads/main',
  ref_type: 'branch',
  environment: 'release',
};
const MAIN_PUSH: Job = { event_name: 'push', ref: 'refs/heads/main', ref_type: 'branch' };

/** storeFor is the product's GCS client with the product's WIF token source, for one job. */
function storeFor(job: Job, serviceAccount: string): GcsObjectStore {
  const tokenSource = new WorkloadIdentityTokenSource({
    getIdToken: (audience) => lab.issuer.mint({ audience, claims: { ...job } }),
    workloadIdentityProvider: PROVIDER,
    serviceAccount,
    endpoints: { sts: `${lab.urls.sts}/`, iamcredentials: `${lab.urls.iam}/` },
    mask: () => undefined,
    retry: { policy: { attempts: 1 } },
  });
  return new GcsObjectStore({
    bucket: BUCKET,
    tokenSource,
    apiEndpoint: lab.urls.gcs,
    attempts: 1,
    retry: { policy: { attempts: 1 } },
  });
}

const RELEASE_OBJECT = 'releases/kbuild-lab/demo/v1.2.3/amd64/hello/hello.tar.gz';
const BUILD_OBJECT = 'kbuild-lab/demo/1000001-1/amd64/hello/hello.tar.gz';

const body = (text: string) => () => Readable.from([Buffer.from(text)]);

test('who may write what: pull requests never under releases/', async (t) => {
  const cases = [
    {
      name: 'pull request, builder, under releases/: GCS refuses',
      input: { job: PULL_REQUEST, account: BUILDER, object: RELEASE_OBJECT },
      error: new RegExp(
        `${BUILDER.replace(/\./g, '\\.')} does not have storage\\.objects\\.create access`,
      ),
    },
    {
      name: 'pull request, builder, its own prefix: stored',
      input: { job: PULL_REQUEST, account: BUILDER, object: BUILD_OBJECT },
      want: BUILD_OBJECT,
    },
    {
      name: 'pull request, release account: IAM Credentials refuses the impersonation',
      input: { job: PULL_REQUEST, account: RELEASE, object: RELEASE_OBJECT },
      error: /IAM Credentials generateAccessToken .*403.*iam\.serviceAccounts\.getAccessToken/s,
    },
    {
      name: 'push to main, release account: refused (neither a tag nor the environment)',
      input: { job: MAIN_PUSH, account: RELEASE, object: RELEASE_OBJECT },
      error: /IAM Credentials generateAccessToken .*403/s,
    },
    {
      name: 'tag push, release account, outside releases/: GCS refuses',
      input: { job: TAG_PUSH, account: RELEASE, object: BUILD_OBJECT.replace('hello.', 'other.') },
      error: /kbuild-release@.* does not have storage\.objects\.create access/,
    },
    {
      name: 'tag push, release account, under releases/: stored',
      input: { job: TAG_PUSH, account: RELEASE, object: RELEASE_OBJECT },
      want: RELEASE_OBJECT,
    },
    {
      name: 'release environment, release account, under releases/: stored',
      input: {
        job: RELEASE_ENVIRONMENT,
        account: RELEASE,
        object: RELEASE_OBJECT.replace('amd64', 'arm64'),
      },
      want: RELEASE_OBJECT.replace('amd64', 'arm64'),
    },
    {
      name: 'tag push again: objectCreator cannot replace the published object',
      input: { job: TAG_PUSH, account: RELEASE, object: RELEASE_OBJECT },
      error: /kbuild-release@.* does not have storage\.objects\.delete access/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const store = storeFor(c.input.job, c.input.account);
      const upload = store.upload(c.input.object, body(`${c.name}\n`), {
        contentType: 'application/gzip',
      });
      if (c.error) await assert.rejects(upload, c.error);
      else assert.equal((await upload).name, c.want);
    });
  }
  // What the refused attempts left: the release's objects are the release's own.
  assert.deepEqual([...lab.gcs.objectNames(BUCKET)].sort(), [
    BUILD_OBJECT,
    RELEASE_OBJECT,
    RELEASE_OBJECT.replace('amd64', 'arm64'),
  ]);
  const stored = await readFile(lab.gcs.dataPath(BUCKET, RELEASE_OBJECT), 'utf8');
  assert.match(stored, /^tag push, release account, under releases\/: stored/);
});
