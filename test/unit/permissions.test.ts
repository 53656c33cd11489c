import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  followPermissions,
  checkPermissions,
  describeCheck,
  PermissionError,
  requiredPermissions,
} from '../../src/core/build/permissions.ts';
import type { AccessCheck, KubeApi } from '../../src/core/kube/api.ts';

const base = {
  namespace: 'builds',
  kind: 'job' as const,
  watch: true,
  secretEnv: {},
  context: '.',
  bucket: 'b',
  upload: 'runner' as const,
  staging: 'exec' as const,
};

/** WATCH_JOB: what following a watched Job needs, whatever else the spec asks for. */
const WATCH_JOB = [
  'list batch/jobs',
  'watch batch/jobs',
  'list pods',
  'watch pods',
  'get pods/log',
  'list events',
];
const EXEC = ['create pods/exec', 'get pods/exec'];
const SECRETS = ['create secrets', 'patch secrets', 'delete secrets'];
const CONFIGMAPS = ['create configmaps', 'patch configmaps', 'delete configmaps'];

const cases: { name: string; input: Parameters<typeof requiredPermissions>[0]; want: string[] }[] =
  [
    {
      name: 'job, watched, staged, uploaded',
      input: base,
      want: ['create batch/jobs', 'get batch/jobs', ...WATCH_JOB, ...EXEC, 'delete batch/jobs'],
    },
    {
      name: 'secret_env adds the Secret: create, patch (owner), delete',
      input: { ...base, secretEnv: { A: 'x' } },
      want: [
        'create batch/jobs',
        'get batch/jobs',
        ...SECRETS,
        ...WATCH_JOB,
        ...EXEC,
        'delete batch/jobs',
      ],
    },
    {
      name: 'bare pod: the pod instead of the Job, no Job watch',
      input: { ...base, kind: 'pod' },
      want: [
        'create pods',
        'get pods',
        'list pods',
        'watch pods',
        'get pods/log',
        'list events',
        ...EXEC,
        'delete pods',
      ],
    },
    {
      name: 'watch false: create (or adopt) and return',
      input: { ...base, watch: false },
      want: ['create batch/jobs', 'get batch/jobs'],
    },
    {
      name: 'watch false with secret_env still makes the Secret',
      input: { ...base, watch: false, secretEnv: { A: 'x' } },
      want: ['create batch/jobs', 'get batch/jobs', ...SECRETS],
    },
    {
      name: 'no context and no bucket: no exec',
      input: { ...base, context: undefined, bucket: undefined },
      want: ['create batch/jobs', 'get batch/jobs', ...WATCH_JOB, 'delete batch/jobs'],
    },
    {
      name: 'a bucket alone needs exec (collect the artifacts)',
      input: { ...base, context: undefined },
      want: ['create batch/jobs', 'get batch/jobs', ...WATCH_JOB, ...EXEC, 'delete batch/jobs'],
    },
    {
      name: 'upload: cluster with no context: the ConfigMap of the pod program, no exec',
      input: { ...base, context: undefined, upload: 'cluster' },
      want: [
        'create batch/jobs',
        'get batch/jobs',
        ...CONFIGMAPS,
        ...WATCH_JOB,
        'delete batch/jobs',
      ],
    },
    {
      name: 'upload: cluster with a context: exec only to stage',
      input: { ...base, upload: 'cluster' },
      want: [
        'create batch/jobs',
        'get batch/jobs',
        ...CONFIGMAPS,
        ...WATCH_JOB,
        ...EXEC,
        'delete batch/jobs',
      ],
    },
    {
      name: 'upload: cluster and staging: bucket: no exec at all',
      input: { ...base, upload: 'cluster', staging: 'bucket' },
      want: [
        'create batch/jobs',
        'get batch/jobs',
        ...CONFIGMAPS,
        ...WATCH_JOB,
        'delete batch/jobs',
      ],
    },
    {
      name: 'staging: bucket with upload: runner still collects over exec',
      input: { ...base, staging: 'bucket' },
      want: [
        'create batch/jobs',
        'get batch/jobs',
        ...CONFIGMAPS,
        ...WATCH_JOB,
        ...EXEC,
        'delete batch/jobs',
      ],
    },
    {
      name: 'upload: cluster without a bucket changes nothing',
      input: { ...base, context: undefined, bucket: undefined, upload: 'cluster' },
      want: ['create batch/jobs', 'get batch/jobs', ...WATCH_JOB, 'delete batch/jobs'],
    },
  ];

for (const c of cases) {
  test(`requiredPermissions: ${c.name}`, () => {
    const got = requiredPermissions(c.input);
    assert.deepEqual(got.map(describeCheck), c.want);
    assert.ok(got.every((a) => a.namespace === 'builds'));
  });
}

test('requiredPermissions: keep: true still needs delete (cancellation, Spot retry, post step)', () => {
  const withKeep = { ...base, keep: true };
  const got = requiredPermissions(withKeep).map(describeCheck);
  assert.ok(got.includes('delete batch/jobs'), got.join(', '));
});

test('describeCheck renders like RBAC: group/resource/subresource', () => {
  const cases = [
    { input: { verb: 'create', group: 'batch', resource: 'jobs' }, want: 'create batch/jobs' },
    {
      input: { verb: 'get', group: '', resource: 'pods', subresource: 'log' },
      want: 'get pods/log',
    },
    { input: { verb: 'list', group: '', resource: 'events' }, want: 'list events' },
  ];
  for (const c of cases) assert.equal(describeCheck({ ...c.input, namespace: 'n' }), c.want);
});

test('checkPermissions names every missing permission and the namespace', async () => {
  const kube = {
    canI: async (checks: AccessCheck[]) =>
      checks.filter((a) => a.subresource === 'exec' || a.resource === 'events'),
  } as unknown as KubeApi;
  await assert.rejects(checkPermissions(kube, base), {
    name: 'PermissionError',
    message:
      /missing Kubernetes permissions in namespace "builds": list events, create pods\/exec, get pods\/exec\. Grant/,
  });
  const ok = { canI: async () => [] } as unknown as KubeApi;
  await checkPermissions(ok, base);
});

test('PermissionError names the namespace and the deploy command that grants it', async (t) => {
  const missing = [{ verb: 'create', group: 'batch', resource: 'jobs', namespace: 'x' }];
  const cases = [
    {
      name: "the deploy kit's namespace",
      input: 'kbuild',
      want: /namespace "kbuild": create batch\/jobs\. Grant them: deploy\/gcp\/setup\.sh applies .* kubectl kustomize deploy\/kubernetes\/base \| sed 's\/@PROJECT_ID\\\.iam\/@YOUR_PROJECT\.iam\/' \| kubectl apply -f -$/,
    },
    {
      name: 'another namespace: the kit renamed into it',
      input: 'builds',
      want: /namespace "builds": create batch\/jobs\. Grant them: deploy\/kubernetes\/base grants them in namespace "kbuild" \(the default of input "namespace"\); for "builds": kubectl kustomize deploy\/kubernetes\/base \| .* \| sed 's\/namespace: kbuild\$\/namespace: builds\/' \| kubectl apply -f -$/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.match(new PermissionError(missing, c.input).message, c.want);
    });
  }
});

test('checkPermissions is a no-op for a client that cannot check', async () => {
  await checkPermissions({} as KubeApi, base);
});

test('followPermissions: what mode dispatch does with its own identity in the namespace', () => {
  const cases: { name: string; input: { stage: boolean; collect: boolean }; want: string[] }[] = [
    {
      name: 'statuses and logs only',
      input: { stage: false, collect: false },
      want: ['list pods', 'get pods/log', 'delete batch/jobs'],
    },
    {
      name: 'staging',
      input: { stage: true, collect: false },
      want: ['list pods', 'get pods/log', 'create pods/exec', 'get pods/exec', 'delete batch/jobs'],
    },
    {
      name: 'collecting',
      input: { stage: false, collect: true },
      want: ['list pods', 'get pods/log', 'create pods/exec', 'get pods/exec', 'delete batch/jobs'],
    },
  ];
  for (const c of cases) {
    const got = followPermissions('kbuild', c.input);
    assert.deepEqual(got.map(describeCheck), c.want, c.name);
    assert.ok(
      got.every((a) => a.namespace === 'kbuild'),
      c.name,
    );
  }
});
