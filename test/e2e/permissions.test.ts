// permissions.test.ts: every permission of the action's Role
// (deploy/kubernetes/base/builder-role.yaml, as deploy/kubernetes/lab renders
// it) is needed, and the action checks them all up front. For each single
// (verb, group, resource) the Role grants, a scratch namespace gets the Role
// minus that one permission, bound to the builder's identity as
// deploy/kubernetes binds it; the bundled action then runs there with inputs
// that need the permission. The step must fail naming exactly that
// permission and the namespace, and leave nothing in the namespace: the
// SelfSubjectAccessReview check comes before anything is created. Two control
// builds (a Job and a bare Pod) succeed with the whole Role.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describeCheck, requiredPermissions } from '../../src/core/build/permissions.ts';
import { labInputs, runStep, type ActionRun } from './action.ts';
import { errorText } from './annotations.ts';
import { kubectl, labEnv } from './lab.ts';

const BUILDER = 'kbuild-builder@kbuild-lab.iam.gserviceaccount.com';
/** RUN keeps this run's scratch namespaces apart from a previous run's, which may still terminate. */
const RUN = Date.now().toString(36);

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Permission: one verb on one resource (`pods/log` names the subresource), as RBAC grants it. */
interface Permission {
  verb: string;
  group: string;
  resource: string;
}

/** name renders a permission as the action's error does (permissions.ts describeCheck). */
const name = (p: Permission): string => `${p.verb} ${p.group ? `${p.group}/` : ''}${p.resource}`;

/** builderRules answers the rules of Role kbuild-builder as `kubectl kustomize deploy/kubernetes/lab` renders it. */
function builderRules(): Rule[] {
  const docs = parseAllDocuments(kubectl(['kustomize', 'deploy/kubernetes/lab'])).map(
    (d) => d.toJSON() as { kind: string; metadata: { name: string }; rules?: Rule[] },
  );
  const role = docs.find((d) => d.kind === 'Role' && d.metadata.name === 'kbuild-builder');
  assert.ok(role?.rules, 'deploy/kubernetes/lab renders Role kbuild-builder');
  return role.rules;
}

/** expand splits rules into single permissions, in the Role's order. */
function expand(rules: Rule[]): Permission[] {
  return rules.flatMap((r) =>
    r.apiGroups.flatMap((group) =>
      r.resources.flatMap((resource) => r.verbs.map((verb) => ({ verb, group, resource }))),
    ),
  );
}

/** rulesOf groups permissions back into one rule per (group, resource). */
function rulesOf(perms: Permission[]): Rule[] {
  const rules = new Map<string, Rule>();
  for (const p of perms) {
    const key = `${p.group}/${p.resource}`;
    const rule = rules.get(key) ?? { apiGroups: [p.group], resources: [p.resource], verbs: [] };
    rule.verbs.push(p.verb);
    rules.set(key, rule);
  }
  return [...rules.values()];
}

/** canI asks `kubectl auth can-i` as the builder; answers true for "yes". */
function canI(p: Permission, namespace: string): boolean {
  const [resource, subresource] = p.resource.split('/');
  const args = [
    'auth',
    'can-i',
    '--as',
    BUILDER,
    '-n',
    namespace,
    p.verb,
    p.group ? `${resource}.${p.group}` : (resource ?? ''),
    ...(subresource ? [`--subresource=${subresource}`] : []),
  ];
  const r = spawnSync('kubectl', args, {
    encoding: 'utf8',
    env: { ...process.env, ...labEnv() },
  });
  return r.stdout.trim() === 'yes';
}

/** until polls check every 100 ms, for at most 10 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`not true after 10 s: ${what}`);
}

const scratch: string[] = [];

/**
 * scratchNamespace creates a namespace with Role kbuild-builder holding perms,
 * bound to the builder's identity (as deploy/kubernetes binds it), and waits
 * until the API server's authorizer grants the first of them.
 */
async function scratchNamespace(label: string, perms: Permission[]): Promise<string> {
  const ns = `kbuild-perm-${RUN}-${label}`;
  scratch.push(ns);
  const meta = { name: 'kbuild-builder', namespace: ns };
  const objects = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta,
      rules: rulesOf(perms),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'kbuild-builder' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: BUILDER }],
    },
  ];
  kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  const first = perms[0];
  assert.ok(first, 'the Role keeps at least one permission');
  await until(() => canI(first, ns), `${name(first)} in ${ns} for ${BUILDER}`);
  return ns;
}

test.after(() => {
  if (scratch.length > 0)
    kubectl(['delete', 'namespace', ...scratch, '--ignore-not-found', '--wait=false']);
});

/** baseInputs: a cheap build (kind job, watched, the workspace staged, no bucket) in the given namespace. */
function baseInputs(namespace: string): Record<string, string> {
  return {
    ...labInputs(),
    namespace,
    image: 'debian:bookworm',
    name: 'permcheck',
    package_target: '',
    command: 'true',
    cpu: '100m',
    memory: '64Mi',
  };
}

const SECRET_ENV = { secret_env: 'TOKEN=perm-check' };
const POD = { kind: 'pod' };
/** CLUSTER_UPLOAD: the pod uploads (the check fails before the pod program is needed). */
const CLUSTER_UPLOAD = (): Record<string, string> => ({
  upload: 'cluster',
  bucket: labEnv()['KBUILD_LAB_BUCKET'] ?? '',
});
/**
 * NEEDS: the inputs beyond baseInputs that make the action use a permission.
 * Every other permission of the Role is used by the base build itself.
 */
const NEEDS: Record<string, Record<string, string>> = {
  'create pods': POD,
  'get pods': POD,
  'delete pods': POD,
  'create secrets': SECRET_ENV,
  'patch secrets': SECRET_ENV,
  'delete secrets': SECRET_ENV,
  'create configmaps': CLUSTER_UPLOAD(),
  'patch configmaps': CLUSTER_UPLOAD(),
  'delete configmaps': CLUSTER_UPLOAD(),
};

/** step runs the bundled action and deletes the temporary directories it made. */
async function step(inputs: Record<string, string>, workspace?: string): Promise<ActionRun> {
  const run = await runStep({ inputs, ...(workspace ? { workspace } : {}) });
  rmSync(run.runDir, { recursive: true, force: true });
  if (!workspace) rmSync(run.workspace, { recursive: true, force: true });
  return run;
}

const show = (run: ActionRun): string =>
  `stdout:\n${run.stdout.slice(-3000)}\nstderr:\n${run.stderr.slice(-2000)}`;

const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test("requiredPermissions asks, across all inputs, for exactly what the action's Role grants", () => {
  const specs = ['job' as const, 'pod' as const].flatMap((kind) =>
    ([{}, { TOKEN: 'x' }] as Record<string, string>[]).flatMap((secretEnv) =>
      (['runner', 'cluster'] as const).map((upload) => ({
        namespace: 'n',
        kind,
        watch: true,
        secretEnv,
        context: '.',
        bucket: 'b',
        upload,
        staging: 'exec' as const,
      })),
    ),
  );
  const asked = new Set(specs.flatMap((s) => requiredPermissions(s).map(describeCheck)));
  assert.deepEqual([...asked].sort(), expand(builderRules()).map(name).sort());
});

test("removing any one permission of the action's Role fails the step up front, naming it", async (t) => {
  const perms = expand(builderRules());
  const started = performance.now();
  for (const [i, missing] of perms.entries()) {
    const what = name(missing);
    await t.test(`without ${what}`, async (t) => {
      const ns = await scratchNamespace(String(i), perms.toSpliced(i, 1));
      const begin = performance.now();
      const run = await step({ ...baseInputs(ns), ...NEEDS[what] });
      const seconds = (performance.now() - begin) / 1000;
      assert.notEqual(run.code, 0, `the step succeeded without ${what}:\n${show(run)}`);
      const error = errorText(run);
      assert.match(
        error,
        new RegExp(
          `^kbuild-action failed: the identity of this step is missing Kubernetes permissions ` +
            `in namespace "${literal(ns)}": ${literal(what)}\\. Grant them`,
        ),
        show(run),
      );
      assert.doesNotMatch(run.stdout, /^(Created|Found existing) (Job|Pod) /m);
      assert.equal(kubectl(['get', 'all,secrets', '-n', ns, '-o', 'name']), '', 'created');
      t.diagnostic(`${seconds.toFixed(1)} s: ${error}`);
    });
  }
  t.diagnostic(
    `${perms.length} permissions in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
});

test('the whole Role is enough: a Job and a bare Pod build succeed with it', async (t) => {
  const perms = expand(builderRules());
  for (const kind of ['job', 'pod']) {
    await t.test(`kind ${kind}`, async () => {
      const ns = await scratchNamespace(`all-${kind}`, perms);
      // The pod needs the namespace's default ServiceAccount (admission refuses it before).
      await until(
        () => kubectl(['get', 'serviceaccounts', '-n', ns, '-o', 'name']).includes('/default'),
        `serviceaccount default in ${ns}`,
      );
      const ws = mkdtempSync(join(tmpdir(), 'kbuild-perm-'));
      t.after(() => rmSync(ws, { recursive: true, force: true }));
      writeFileSync(join(ws, 'input.txt'), 'staged\n');
      const run = await step(
        {
          ...baseInputs(ns),
          ...SECRET_ENV,
          kind,
          bucket: labEnv()['KBUILD_LAB_BUCKET'] ?? '',
          command: `sh -c 'test -n "$TOKEN" && mkdir -p packages && cp input.txt packages/'`,
        },
        ws,
      );
      assert.equal(run.code, 0, show(run));
      assert.equal(run.outputs['status'], 'succeeded');
      const artifacts = JSON.parse(run.outputs['artifacts'] ?? '[]') as { name: string }[];
      assert.deepEqual(
        artifacts.map((a) => a.name),
        ['input.txt'],
      );
      const job = run.outputs['job_name'] ?? '';
      assert.match(
        run.stdout,
        new RegExp(`^Deleted ${kind === 'job' ? 'Job' : 'Pod'} ${ns}/${job}$`, 'm'),
      );
    });
  }
});

/** noExecRules answers the rules of Role kbuild-builder as deploy/kubernetes/no-exec renders it. */
function noExecRules(): Rule[] {
  const docs = parseAllDocuments(kubectl(['kustomize', 'deploy/kubernetes/no-exec'])).map(
    (d) => d.toJSON() as { kind: string; metadata: { name: string }; rules?: Rule[] },
  );
  const role = docs.find((d) => d.kind === 'Role' && d.metadata.name === 'kbuild-builder');
  assert.ok(role?.rules, 'deploy/kubernetes/no-exec renders Role kbuild-builder');
  return role.rules;
}

test('without pods/exec: upload: cluster and staging: bucket build under the no-exec Role', async () => {
  const perms = expand(noExecRules());
  assert.deepEqual(
    perms.filter((p) => p.resource === 'pods/exec'),
    [],
    'the overlay grants no exec',
  );
  assert.deepEqual(
    expand(builderRules())
      .filter((p) => p.resource !== 'pods/exec')
      .map(name)
      .sort(),
    perms.map(name).sort(),
    'the overlay is the base Role minus pods/exec',
  );
  const asked = requiredPermissions({
    namespace: 'n',
    kind: 'job',
    watch: true,
    secretEnv: {},
    context: '.',
    bucket: 'b',
    upload: 'cluster',
    staging: 'bucket',
  }).map(describeCheck);
  assert.ok(!asked.some((a) => a.includes('pods/exec')), asked.join(', '));
  const ns = await scratchNamespace('noexec', perms);
  // The pod's own identity: a KSA in the scratch namespace (the lab's bucket is open to it).
  kubectl(['create', 'serviceaccount', 'kbuild-uploader', '-n', ns]);
  const ws = mkdtempSync(join(tmpdir(), 'kbuild-perm-'));
  writeFileSync(join(ws, 'input.txt'), 'staged through the bucket\n');
  try {
    const run = await step(
      {
        ...baseInputs(ns),
        bucket: labEnv()['KBUILD_LAB_BUCKET'] ?? '',
        upload: 'cluster',
        staging: 'bucket',
        service_account_name: 'kbuild-uploader',
        memory: '256Mi',
        command: `sh -c 'mkdir -p packages && cp input.txt packages/'`,
      },
      ws,
    );
    assert.equal(run.code, 0, show(run));
    const artifacts = JSON.parse(run.outputs['artifacts'] ?? '[]') as {
      name: string;
      size: number;
    }[];
    assert.deepEqual(
      artifacts.map((a) => [a.name, a.size]),
      [['input.txt', 26]],
    );
    assert.match(run.stdout, /Staged 1 files .* as gs:\/\/.*\/kbuild-staging\//);
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});
