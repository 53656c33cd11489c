// deploy.test.ts: deploy/kubernetes applies to the lab (server-side dry run
// first, then for real), and the Roles it grants are what the action and the
// dispatcher need and no more, checked with `kubectl auth can-i --as=<the
// Google service account's email>` (the user name GKE, and the lab, give it).
// It also shows why the action's Role has both `create` and `get` on
// pods/exec: exec over WebSocket is refused with either verb alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { HttpKubeApi } from '../../src/core/kube/client.ts';
import { execInPod } from '../../src/core/kube/stream.ts';
import { renderManifests } from '../../src/core/manifest/manifest.ts';
import { validateBuildSpec } from '../../src/core/inputs/spec.ts';
import { gcloud, labInputs, runStep } from './action.ts';
import { kubectl, labEnv } from './lab.ts';

const BUILDER = 'kbuild-builder@kbuild-lab.iam.gserviceaccount.com';
const DISPATCHER = 'kbuild-dispatcher@kbuild-lab.iam.gserviceaccount.com';
const NS = 'kbuild';
const LAB = 'deploy/kubernetes/lab';

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** rendered answers the objects of a kustomization, as kubectl renders them. */
function rendered(dir: string): { yaml: string; docs: Doc[] } {
  const yaml = kubectl(['kustomize', dir]);
  return { yaml, docs: parseAllDocuments(yaml).map((d) => d.toJSON() as Doc) };
}

/** canI asks `kubectl auth can-i` as user; answers true for "yes". */
function canI(user: string, args: string[]): boolean {
  const r = spawnSync('kubectl', ['auth', 'can-i', '--as', user, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...labEnv() },
  });
  const answer = r.stdout.trim();
  if (answer !== 'yes' && answer !== 'no') {
    throw new Error(`kubectl auth can-i ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  }
  return answer === 'yes';
}

test('deploy/kubernetes/lab applies: server-side dry run, then for real', () => {
  const { yaml, docs } = rendered(LAB);
  const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();
  assert.deepEqual(kinds, [
    'Namespace/kbuild',
    'Role/kbuild-builder',
    'Role/kbuild-dispatcher',
    'RoleBinding/kbuild-builder',
    'RoleBinding/kbuild-dispatcher',
    'RoleBinding/kbuild-release',
    'ServiceAccount/kbuild-uploader',
    'ValidatingAdmissionPolicy/kbuild-build-secrets',
    'ValidatingAdmissionPolicyBinding/kbuild-build-secrets',
  ]);
  assert.doesNotMatch(yaml, /PROJECT_ID/, 'the lab overlay names the lab accounts');
  // A namespaced object cannot be dry-run into a namespace that does not exist
  // yet: the Namespace goes first (dry run, then real), then everything.
  const namespace = kubectl(['kustomize', LAB]).split(/^---$/m)[0] ?? '';
  assert.match(namespace, /kind: Namespace/);
  assert.match(
    kubectl(['apply', '--dry-run=server', '-f', '-'], namespace),
    /namespace\/kbuild .*\(server dry run\)/,
  );
  kubectl(['apply', '-f', '-'], namespace);
  const dry = kubectl(['apply', '--dry-run=server', '-k', LAB]);
  assert.equal(dry.match(/\(server dry run\)/g)?.length, docs.length, dry);
  const real = kubectl(['apply', '-k', LAB]);
  assert.equal(real.match(/ (created|configured|unchanged)$/gm)?.length, docs.length, real);
  const bindings = JSON.parse(kubectl(['get', 'rolebindings', '-n', NS, '-o', 'json'])) as {
    items: { metadata: { name: string }; subjects: { kind: string; name: string }[] }[];
  };
  const subject = (name: string) =>
    bindings.items
      .find((b) => b.metadata.name === name)
      ?.subjects.map((s) => `${s.kind}:${s.name}`);
  assert.deepEqual(subject('kbuild-builder'), [`User:${BUILDER}`]);
  assert.deepEqual(subject('kbuild-dispatcher'), [`User:${DISPATCHER}`]);
  assert.deepEqual(subject('kbuild-release'), [
    'User:kbuild-release@kbuild-lab.iam.gserviceaccount.com',
  ]);
});

test("deploy/kubernetes/kueue applies to the lab's Kueue; its queues become active", () => {
  const { docs } = rendered('deploy/kubernetes/kueue');
  assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort(), [
    'ClusterQueue/kbuild',
    'LocalQueue/builds',
    'ResourceFlavor/kbuild-amd64',
    'ResourceFlavor/kbuild-arm64',
  ]);
  // The LocalQueue lives in the build namespace (deploy/kubernetes/lab makes it).
  kubectl(['apply', '-k', LAB]);
  const dry = kubectl(['apply', '--dry-run=server', '-k', 'deploy/kubernetes/kueue']);
  assert.equal(dry.match(/\(server dry run\)/g)?.length, docs.length, dry);
  const real = kubectl(['apply', '-k', 'deploy/kubernetes/kueue']);
  assert.equal(real.match(/ (created|configured|unchanged)$/gm)?.length, docs.length, real);
  // Kueue itself accepts them: the ClusterQueue is Active once its flavors exist, the
  // LocalQueue once its ClusterQueue is.
  kubectl(['wait', '--for=condition=Active', '--timeout=60s', 'clusterqueue/kbuild']);
  kubectl(['wait', '--for=condition=Active', '--timeout=60s', '-n', NS, 'localqueue/builds']);
});

// [user, allowed?, kubectl auth can-i arguments]
const ACCESS: [string, boolean, string][] = [
  // The action: every call of the lifecycle engine (src/core/kube/client.ts).
  [BUILDER, true, 'create jobs.batch -n kbuild'],
  [BUILDER, true, 'get jobs.batch -n kbuild'],
  [BUILDER, true, 'list jobs.batch -n kbuild'],
  [BUILDER, true, 'watch jobs.batch -n kbuild'],
  [BUILDER, true, 'delete jobs.batch -n kbuild'],
  [BUILDER, true, 'create pods -n kbuild'],
  [BUILDER, true, 'get pods -n kbuild'],
  [BUILDER, true, 'list pods -n kbuild'],
  [BUILDER, true, 'watch pods -n kbuild'],
  [BUILDER, true, 'delete pods -n kbuild'],
  [BUILDER, true, 'get pods --subresource=log -n kbuild'],
  [BUILDER, true, 'create pods --subresource=exec -n kbuild'],
  [BUILDER, true, 'get pods --subresource=exec -n kbuild'],
  [BUILDER, true, 'create secrets -n kbuild'],
  [BUILDER, true, 'patch secrets -n kbuild'],
  [BUILDER, true, 'delete secrets -n kbuild'],
  [BUILDER, true, 'list events -n kbuild'],
  // upload: cluster: the ConfigMap carrying kbuild's pod program (no read back).
  [BUILDER, true, 'create configmaps -n kbuild'],
  [BUILDER, true, 'patch configmaps -n kbuild'],
  [BUILDER, true, 'delete configmaps -n kbuild'],
  // ...and nothing else.
  [BUILDER, false, 'get secrets -n kbuild'],
  [BUILDER, false, 'list secrets -n kbuild'],
  [BUILDER, false, 'watch secrets -n kbuild'],
  [BUILDER, false, 'update secrets -n kbuild'],
  [BUILDER, false, 'list secrets -n kube-system'],
  [BUILDER, false, 'list secrets --all-namespaces'],
  [BUILDER, false, 'create jobs.batch -n kube-system'],
  [BUILDER, false, 'create pods -n kube-system'],
  [BUILDER, false, 'update jobs.batch -n kbuild'],
  [BUILDER, false, 'patch jobs.batch -n kbuild'],
  [BUILDER, false, 'update pods -n kbuild'],
  [BUILDER, false, 'patch pods --subresource=ephemeralcontainers -n kbuild'],
  [BUILDER, false, 'create pods --subresource=attach -n kbuild'],
  [BUILDER, false, 'create pods --subresource=portforward -n kbuild'],
  [BUILDER, false, 'create serviceaccounts --subresource=token -n kbuild'],
  [BUILDER, false, 'create deployments.apps -n kbuild'],
  [BUILDER, false, 'get configmaps -n kbuild'],
  [BUILDER, false, 'list configmaps -n kbuild'],
  [BUILDER, false, 'update configmaps -n kbuild'],
  [BUILDER, false, 'create roles.rbac.authorization.k8s.io -n kbuild'],
  [BUILDER, false, 'create rolebindings.rbac.authorization.k8s.io -n kbuild'],
  [BUILDER, false, 'create clusterroles.rbac.authorization.k8s.io'],
  [BUILDER, false, 'create clusterrolebindings.rbac.authorization.k8s.io'],
  [BUILDER, false, 'get nodes'],
  [BUILDER, false, 'list nodes'],
  [BUILDER, false, 'delete namespaces'],
  [BUILDER, false, 'impersonate users'],
  // The dispatcher: Jobs (create, read, suspend, delete) and reading Pods.
  [DISPATCHER, true, 'create jobs.batch -n kbuild'],
  [DISPATCHER, true, 'get jobs.batch -n kbuild'],
  [DISPATCHER, true, 'list jobs.batch -n kbuild'],
  [DISPATCHER, true, 'watch jobs.batch -n kbuild'],
  [DISPATCHER, true, 'patch jobs.batch -n kbuild'],
  [DISPATCHER, true, 'delete jobs.batch -n kbuild'],
  [DISPATCHER, true, 'get pods -n kbuild'],
  [DISPATCHER, true, 'list pods -n kbuild'],
  [DISPATCHER, true, 'watch pods -n kbuild'],
  // The pod program's ConfigMap of `upload: cluster` builds: create, own (patch), remove; no reads.
  [DISPATCHER, true, 'create configmaps -n kbuild'],
  [DISPATCHER, true, 'patch configmaps -n kbuild'],
  [DISPATCHER, true, 'delete configmaps -n kbuild'],
  [DISPATCHER, false, 'get configmaps -n kbuild'],
  [DISPATCHER, false, 'update configmaps -n kbuild'],
  // No exec, no logs, no Secrets, no bare pods, nothing outside its namespace.
  [DISPATCHER, false, 'create pods --subresource=exec -n kbuild'],
  [DISPATCHER, false, 'get pods --subresource=exec -n kbuild'],
  [DISPATCHER, false, 'get pods --subresource=log -n kbuild'],
  [DISPATCHER, false, 'create pods -n kbuild'],
  [DISPATCHER, false, 'delete pods -n kbuild'],
  [DISPATCHER, false, 'create secrets -n kbuild'],
  [DISPATCHER, false, 'get secrets -n kbuild'],
  [DISPATCHER, false, 'list secrets -n kbuild'],
  [DISPATCHER, false, 'list events -n kbuild'],
  [DISPATCHER, false, 'create jobs.batch -n default'],
  [DISPATCHER, false, 'create clusterroles.rbac.authorization.k8s.io'],
  [DISPATCHER, false, 'get nodes'],
];

test('the Roles grant exactly what each identity needs (kubectl auth can-i --as)', async (t) => {
  kubectl(['apply', '-k', LAB]);
  for (const [user, want, args] of ACCESS) {
    const who = user === BUILDER ? 'builder' : 'dispatcher';
    await t.test(`${who} ${want ? 'can' : 'cannot'} ${args}`, () => {
      assert.equal(canI(user, args.split(' ')), want);
    });
  }
});

test("a build runs under exactly the action's Role (namespace kbuild)", async (t) => {
  kubectl(['apply', '-k', LAB]);
  const ws = mkdtempSync(join(tmpdir(), 'kbuild-role-'));
  t.after(() => rmSync(ws, { recursive: true, force: true }));
  writeFileSync(join(ws, 'input.txt'), 'staged\n');
  const secret = `s3cret-${Date.now()}`;
  // Every rule of the Role is used: a Secret (secret_env), the Job, watches,
  // exec to stage and to collect, the log, events on failure, and cleanup.
  const run = await runStep({
    workspace: ws,
    inputs: {
      ...labInputs(),
      namespace: NS,
      image: 'debian:bookworm',
      name: 'rolecheck',
      package_target: '',
      command: `sh -c 'mkdir -p packages && cp input.txt packages/ && printf %s "$TOKEN" | wc -c > packages/len.txt && echo built'`,
      secret_env: `TOKEN=${secret}`,
      bucket: labEnv()['KBUILD_LAB_BUCKET'] ?? '',
      cpu: '100m',
      memory: '256Mi',
    },
  });
  const log = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.code, 0, log.slice(-4000));
  assert.equal(run.outputs['status'], 'succeeded');
  // The runner consumes ::add-mask:: commands; everything else is what people see.
  assert.match(log, new RegExp(`^::add-mask::${secret}$`, 'm'), 'the secret value is masked');
  const shown = log.replace(/^::add-mask::.*$/gm, '');
  assert.doesNotMatch(shown, new RegExp(secret), 'the secret value never reaches the log');
  const artifacts = JSON.parse(run.outputs['artifacts'] ?? '[]') as { name: string; uri: string }[];
  assert.deepEqual(artifacts.map((a) => a.name).sort(), ['input.txt', 'len.txt']);
  const len = artifacts.find((a) => a.name === 'len.txt')?.uri ?? '';
  assert.equal(gcloud(['storage', 'cat', len]).toString('utf8').trim(), String(secret.length));
  const job = run.outputs['job_name'] ?? '';
  assert.equal(
    kubectl(['get', 'job,secret', job, '-n', NS, '--ignore-not-found', '-o', 'name']),
    '',
  );
});

/** asBuilder runs kubectl as the action's identity; answers its status and output. */
function asBuilder(args: string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync('kubectl', ['--as', BUILDER, '-n', NS, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...labEnv() },
    input,
  });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

test("the admission policy keeps the namespace's Secrets to the builds' own", async (t) => {
  kubectl(['apply', '-k', LAB]);
  // The Secret the engine makes for secret_env (src/core/manifest/manifest.ts).
  const spec = validateBuildSpec(
    { image: 'debian:bookworm', packages: 'hello', namespace: NS, secret_env: 'TOKEN=s3cret' },
    {
      repository: 'kbuild-lab/demo',
      owner: 'kbuild-lab',
      repo: 'demo',
      sha: '0123456789abcdef0123456789abcdef01234567',
      ref: 'refs/heads/main',
      runId: String(Date.now()),
      runAttempt: '1',
      serverUrl: 'https://github.example',
    },
  );
  const secret = renderManifests(spec).secret;
  assert.ok(secret?.metadata?.name, 'secret_env makes a Secret');
  const name = secret.metadata.name;
  const other = (patch: Record<string, unknown>) =>
    JSON.stringify({ ...secret, metadata: { ...secret.metadata, ...patch } });
  const cases = [
    {
      name: "the engine's Secret",
      input: JSON.stringify(secret),
      want: /created \(server dry run\)/,
    },
    {
      name: 'another name',
      input: other({ name: 'registry-credentials' }),
      want: /named kb-\.\.\./,
    },
    { name: 'no kbuild label', input: other({ labels: {} }), want: /managed-by=kbuild/ },
    {
      name: 'a service account token Secret',
      input: JSON.stringify({
        ...secret,
        metadata: {
          ...secret.metadata,
          annotations: { 'kubernetes.io/service-account.name': 'default' },
        },
        type: 'kubernetes.io/service-account-token',
        stringData: {},
      }),
      want: /of type Opaque/,
    },
    {
      name: 'a mutable Secret',
      input: JSON.stringify({ ...secret, immutable: false }),
      want: /are immutable/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const r = asBuilder(['create', '--dry-run=server', '-f', '-'], c.input);
      assert.match(r.out, c.want);
      assert.equal(r.ok, c.want.source.includes('created'), r.out);
    });
  }
  await t.test("the engine's calls as the builder: create, set the owner, delete", async () => {
    const kube = new HttpKubeApi(kubeAs(BUILDER));
    // A suspended Job (no pod) as the owner, so the garbage collector keeps the Secret.
    const job = await kube.createJob(NS, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, labels: secret.metadata?.labels ?? {} },
      spec: {
        suspend: true,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'build', image: 'debian:bookworm', command: ['true'] }],
          },
        },
      },
    });
    try {
      await kube.createSecret(NS, secret);
      const uid = job.metadata?.uid ?? '';
      await kube.setSecretOwner(NS, name, { apiVersion: 'batch/v1', kind: 'Job', name, uid });
      const read = asBuilder(['get', 'secret', name]);
      assert.match(
        read.out,
        /cannot get resource "secrets"/,
        'the builder cannot read a Secret back',
      );
      const owners = kubectl([
        'get',
        'secret',
        name,
        '-n',
        NS,
        '-o',
        'jsonpath={.metadata.ownerReferences[*].uid}',
      ]);
      assert.equal(owners, uid);
      assert.equal(await kube.deleteSecret(NS, name), true);
    } finally {
      await kube.deleteJob(NS, name);
    }
  });
});

/** until polls check every 100 ms, for at most 10 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`not granted after 10 s: ${what}`);
}

/** kubeAs answers the lab's admin KubeConfig, impersonating user (Impersonate-User header). */
function kubeAs(user: string): KubeConfig {
  const admin = new KubeConfig();
  admin.loadFromFile(labEnv()['KUBECONFIG'] ?? '');
  const current = admin.getCurrentUser();
  assert.ok(current, 'the lab kubeconfig has a user');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: admin.clusters,
    users: [{ ...current, impersonateUser: user }],
    contexts: admin.contexts,
    currentContext: admin.getCurrentContext(),
  });
  return kc;
}

test('exec over WebSocket needs both create and get on pods/exec', async (t) => {
  const ns = 'kbuild-deploy-test';
  kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=true']);
  kubectl(['create', 'namespace', ns]);
  t.after(() => kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']));
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'exec-target', namespace: ns },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      nodeSelector: { 'kubernetes.io/arch': 'amd64' },
      containers: [{ name: 'main', image: 'debian:bookworm', command: ['sleep', '600'] }],
    },
  };
  kubectl(['apply', '-f', '-'], JSON.stringify(pod));
  kubectl(['wait', '--for=condition=Ready', 'pod/exec-target', '-n', ns, '--timeout=120s']);

  // Create alone is refused as a `get` (the WebSocket upgrade is an HTTP GET);
  // get alone is refused by the second check for `create` (Kubernetes >= 1.35,
  // AuthorizePodWebsocketUpgradeCreatePermission), whose message names no verb.
  type Refused = { name: string; status: number; message: RegExp };
  const cases: { name: string; input: string[]; want: Refused | 'exec-ok' }[] = [
    {
      name: 'create only',
      input: ['create'],
      want: { name: 'KubeApiError', status: 403, message: /cannot get resource "pods\/exec"/ },
    },
    {
      name: 'get only',
      input: ['get'],
      want: { name: 'KubeApiError', status: 403, message: /pods "exec-target" is forbidden/ },
    },
    { name: 'create and get (the action Role)', input: ['create', 'get'], want: 'exec-ok' },
  ];
  for (const [i, c] of cases.entries()) {
    await t.test(c.name, async () => {
      const user = `exec-verbs-${i}@kbuild-lab.test`;
      const role = {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: `exec-${i}`, namespace: ns },
        rules: [{ apiGroups: [''], resources: ['pods/exec'], verbs: c.input }],
      };
      const binding = {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: `exec-${i}`, namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `exec-${i}` },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
      };
      kubectl(
        ['apply', '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [role, binding] }),
      );
      // The authorizer sees a new binding after its informer does: wait until it
      // grants the Role's verbs, so a refusal below is about the missing verb.
      for (const verb of c.input) {
        await until(
          () => canI(user, [verb, 'pods', '--subresource=exec', '-n', ns]),
          `${verb} pods/exec for ${user}`,
        );
      }
      const stdout = new PassThrough();
      const out: Buffer[] = [];
      stdout.on('data', (b: Buffer) => out.push(b));
      const req = {
        namespace: ns,
        pod: 'exec-target',
        container: 'main',
        command: ['echo', 'exec-ok'],
        stdout,
      };
      if (typeof c.want === 'object') {
        await assert.rejects(execInPod(kubeAs(user), req), c.want);
      } else {
        const res = await execInPod(kubeAs(user), req);
        assert.equal(res.exitCode, 0, res.message);
        assert.equal(Buffer.concat(out).toString('utf8'), `${c.want}\n`);
      }
    });
  }
});
