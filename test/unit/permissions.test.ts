import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkPermissions,
  describeCheck,
  requiredPermissions,
} from '../../src/core/permissions.ts';
import type { AccessCheck, KubeApi } from '../../src/core/kube-api.ts';

const base = {
  namespace: 'builds',
  kind: 'job' as const,
  watch: true,
  keep: false,
  secretEnv: {},
  context: '.',
  bucket: 'b',
};

const cases = [
  {
    name: 'job, watched, staged, uploaded',
    spec: base,
    has: [
      'create batch/jobs',
      'watch batch/jobs',
      'list pods',
      'get pods/log',
      'create pods/exec',
      'get pods/exec',
      'delete batch/jobs',
      'list events',
    ],
    not: ['create secrets', 'create pods'],
  },
  {
    name: 'secret env needs secrets',
    spec: { ...base, secretEnv: { A: 'x' } },
    has: ['create secrets', 'patch secrets', 'delete secrets'],
    not: [],
  },
  {
    name: 'bare pod',
    spec: { ...base, kind: 'pod' as const },
    has: ['create pods', 'delete pods'],
    not: ['create batch/jobs'],
  },
  {
    name: 'watch false only creates',
    spec: { ...base, watch: false },
    has: ['create batch/jobs'],
    not: ['get pods/log', 'create pods/exec', 'delete batch/jobs'],
  },
  {
    name: 'keep does not delete',
    spec: { ...base, keep: true },
    has: ['get pods/log'],
    not: ['delete batch/jobs'],
  },
  {
    name: 'no context and no bucket: no exec',
    spec: { ...base, context: undefined, bucket: undefined },
    has: ['get pods/log'],
    not: ['create pods/exec'],
  },
];

for (const c of cases) {
  test(`requiredPermissions: ${c.name}`, () => {
    const got = requiredPermissions(c.spec).map(describeCheck);
    for (const h of c.has) assert.ok(got.includes(h), `${h} missing from ${got.join(', ')}`);
    for (const n of c.not) assert.ok(!got.includes(n), `${n} unexpected in ${got.join(', ')}`);
    assert.ok(requiredPermissions(c.spec).every((a) => a.namespace === 'builds'));
  });
}

test('checkPermissions names every missing permission and the namespace', async () => {
  const kube = {
    canI: async (checks: AccessCheck[]) =>
      checks.filter((a) => a.subresource === 'exec' || a.resource === 'events'),
  } as unknown as KubeApi;
  await assert.rejects(checkPermissions(kube, base), {
    name: 'PermissionError',
    message:
      /missing Kubernetes permissions in namespace "builds": .*create pods\/exec.*list events|list events.*create pods\/exec/,
  });
  const ok = { canI: async () => [] } as unknown as KubeApi;
  await checkPermissions(ok, base);
});
