// lab-google-gcs-iam.test.ts: the GCS stand-in's bucket IAM (lab/google/gcs/iam.ts):
// role permissions, members and conditions on the object name, as Cloud
// Storage evaluates them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conditionHolds, permits, storageResourceName } from '../../lab/google/gcs/iam.ts';
import type { BucketBinding, ObjectPermission } from '../../lab/google/gcs/iam.ts';

const BUILDER = 'serviceAccount:kbuild-builder@p.iam.gserviceaccount.com';
const RELEASE = 'serviceAccount:kbuild-release@p.iam.gserviceaccount.com';
const PREFIX = 'projects/_/buckets/b/objects/releases/';
const POLICY: BucketBinding[] = [
  {
    role: 'roles/storage.objectCreator',
    members: [BUILDER],
    condition: { title: 'not releases', expression: `!resource.name.startsWith("${PREFIX}")` },
  },
  { role: 'roles/storage.objectViewer', members: [BUILDER] },
  {
    role: 'roles/storage.objectCreator',
    members: [RELEASE],
    condition: { title: 'releases', expression: `resource.name.startsWith("${PREFIX}")` },
  },
];

test('permits: roles, members and conditions', async (t) => {
  const cases: {
    name: string;
    input: { ids: string[]; permission: ObjectPermission; object?: string };
    want: boolean;
  }[] = [
    {
      name: 'builder creates outside releases/',
      input: { ids: [BUILDER], permission: 'storage.objects.create', object: 'o/r/1-1/a' },
      want: true,
    },
    {
      name: 'builder cannot create under releases/',
      input: { ids: [BUILDER], permission: 'storage.objects.create', object: 'releases/v1/a' },
      want: false,
    },
    {
      name: 'a name that only starts like releases is not under it',
      input: { ids: [BUILDER], permission: 'storage.objects.create', object: 'releases-old/a' },
      want: true,
    },
    {
      name: 'release creates under releases/',
      input: { ids: [RELEASE], permission: 'storage.objects.create', object: 'releases/v1/a' },
      want: true,
    },
    {
      name: 'release cannot create elsewhere',
      input: { ids: [RELEASE], permission: 'storage.objects.create', object: 'o/r/1-1/a' },
      want: false,
    },
    {
      name: 'objectCreator cannot delete (so cannot replace)',
      input: { ids: [RELEASE], permission: 'storage.objects.delete', object: 'releases/v1/a' },
      want: false,
    },
    {
      name: 'objectViewer lists the bucket',
      input: { ids: [BUILDER], permission: 'storage.objects.list' },
      want: true,
    },
    {
      name: 'anyone else: nothing',
      input: { ids: ['allUsers'], permission: 'storage.objects.get', object: 'o/a' },
      want: false,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const resource = storageResourceName('b', c.input.object);
      assert.equal(permits(POLICY, c.input.ids, c.input.permission, resource), c.want);
    });
  }
});

test('conditionHolds: resource attributes; an error is false', () => {
  const name = storageResourceName('b', 'releases/x');
  assert.equal(name, 'projects/_/buckets/b/objects/releases/x');
  assert.equal(conditionHolds('resource.type == "storage.googleapis.com/Object"', name), true);
  assert.equal(
    conditionHolds('resource.type == "storage.googleapis.com/Bucket"', 'projects/_/buckets/b'),
    true,
  );
  assert.equal(conditionHolds('resource.name.startsWith(', name), false, 'syntax error');
  assert.equal(conditionHolds('resource.nope.startsWith("x")', name), false, 'missing field');
});
