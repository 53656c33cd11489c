// lab-gcs.test.ts: the real gcloud CLI copies, lists, reads and removes
// objects in the lab's GCS stand-in, with the environment `gcloud()` of
// lab/runner.ts gives it (endpoint override, no credentials).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gcloud } from './action.ts';
import { labEnv } from './lab.ts';
import { uniqueName } from './lab-kube.ts';

// The objects go below a prefix no other run uses.
const scope = { prefix: uniqueName('lab-gcs-e2e'), dir: '' };

before(async () => {
  scope.dir = await mkdtemp(join(tmpdir(), 'kbuild-lab-gcs-'));
});

after(async () => {
  await rm(scope.dir, { recursive: true, force: true });
});

test('gcloud storage cp, ls, cat and rm work against the lab GCS', async () => {
  const bucket = labEnv()['KBUILD_LAB_BUCKET'];
  assert.equal(bucket, 'kbuild-lab-artifacts');
  const prefix = `gs://${bucket}/lab-e2e/${scope.prefix}/`;
  const text = 'hello from the lab\n';
  const big = randomBytes(5 << 20);
  await writeFile(join(scope.dir, 'note.txt'), text);
  await writeFile(join(scope.dir, 'big.bin'), big);

  gcloud(['storage', 'cp', join(scope.dir, 'note.txt'), join(scope.dir, 'big.bin'), prefix]);
  const ls = gcloud(['storage', 'ls', '-l', prefix]).toString('utf8');
  assert.match(ls, new RegExp(`^\\s*19\\s+\\S+\\s+${prefix}note\\.txt$`, 'm'));
  assert.match(ls, new RegExp(`^\\s*${big.length}\\s+\\S+\\s+${prefix}big\\.bin$`, 'm'));
  assert.equal(gcloud(['storage', 'cat', `${prefix}note.txt`]).toString('utf8'), text);
  gcloud(['storage', 'cp', `${prefix}big.bin`, join(scope.dir, 'big.down')]);
  assert.ok(
    readFileSync(join(scope.dir, 'big.down')).equals(big),
    'downloaded bytes equal the uploaded ones',
  );

  gcloud(['storage', 'rm', `${prefix}**`]);
  assert.throws(() => gcloud(['storage', 'ls', prefix]), /matched no objects/);
});
