// pod-program.test.ts: kbuild's pod program (src/pod) against the lab's GCS stand-in, started
// in-process, and a fake GKE metadata server: the uploader stores every file byte for byte and
// reports it, a byte flipped in flight is refused by GCS and the file sent again, the check names
// the KSA, the identity, the role and the command. Also the build wrapper of podspec.ts under sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statObject } from '../../src/core/gcs/objects.ts';
import { BUILD_WRAPPER } from '../../src/core/manifest/podspec.ts';
import { parseUploadReport } from '../../src/core/manifest/pod-program.ts';
import { memberOf, runCheck } from '../../src/pod/check.ts';
import { runUpload, type UploadEnv } from '../../src/pod/upload.ts';
import { runStage } from '../../src/pod/stage.ts';
import { removeContext, uploadContext } from '../../src/core/build/bucket-staging.ts';
import { GcsObjectStore } from '../../src/core/gcs/storage.ts';

import { BUCKET, lab, workspace } from './pod-gcs.ts';

test('upload: every file streams to GCS once the build is done; the report matches GCS', async (t) => {
  const l = await lab(t);
  const ws = workspace(t);
  const dir = join(ws, 'packages');
  mkdirSync(join(dir, 'x86_64'), { recursive: true });
  const big = randomBytes(20 * 1024 * 1024 + 123); // several 8 MiB chunks
  writeFileSync(join(dir, 'x86_64', 'big.bin'), big);
  writeFileSync(join(dir, 'empty'), '');
  writeFileSync(join(dir, 'hello.txt'), 'hello\n');
  symlinkSync('hello.txt', join(dir, 'link'));
  writeFileSync(join(ws, 'done'), '');
  const env: UploadEnv = {
    bucket: BUCKET,
    prefix: 'o/r/1-1/amd64/hello',
    artifactsDir: dir,
    apiEndpoint: l.gcs,
    doneMarker: join(ws, 'done'),
    waitSeconds: 5,
    metadataHost: l.metadataHost,
  };
  const lines: string[] = [];
  await runUpload(env, (line) => lines.push(line));
  const report = parseUploadReport(lines.join('\n'));
  assert.deepEqual(report.done, { files: 3, bytes: big.length + 6, missing: false });
  assert.deepEqual(report.skipped, [
    { name: 'link', reason: 'symlink (object storage has no links)' },
  ]);
  assert.deepEqual(report.files.map((f) => [f.name, f.size, f.attempts]).sort(), [
    ['empty', 0, 1],
    ['hello.txt', 6, 1],
    ['x86_64/big.bin', big.length, 1],
  ]);
  const bigReport = report.files.find((f) => f.name === 'x86_64/big.bin')!;
  assert.equal(bigReport.sha256, createHash('sha256').update(big).digest('hex'));
  const path = l.store.dataPath(BUCKET, 'o/r/1-1/amd64/hello/x86_64/big.bin');
  assert.ok(readFileSync(path).equals(big), 'bytes differ');
  const stat = await statObject(
    { bucket: BUCKET, apiEndpoint: l.gcs, authorization: async () => undefined },
    'o/r/1-1/amd64/hello/x86_64/big.bin',
  );
  assert.deepEqual(stat, {
    name: 'o/r/1-1/amd64/hello/x86_64/big.bin',
    size: big.length,
    crc32c: bigReport.crc32c,
    generation: bigReport.generation,
  });
  assert.equal(l.tokenRequests(), 1, 'the token is cached');
});

test('upload: a byte flipped in flight is refused by GCS and the file is sent again', async (t) => {
  const l = await lab(t);
  const ws = workspace(t);
  const data = randomBytes(9 * 1024 * 1024);
  mkdirSync(join(ws, 'out'));
  writeFileSync(join(ws, 'out', 'a.bin'), data);
  writeFileSync(join(ws, 'done'), '');
  const name = 'p/a.bin';
  const arm = await fetch(`${l.gcs}/_lab/gcs/corrupt`, {
    method: 'POST',
    body: JSON.stringify({ bucket: BUCKET, name, times: 1 }),
  });
  assert.equal(arm.status, 200);
  const lines: string[] = [];
  await runUpload(
    {
      bucket: BUCKET,
      prefix: 'p',
      artifactsDir: join(ws, 'out'),
      apiEndpoint: l.gcs,
      doneMarker: join(ws, 'done'),
      waitSeconds: 5,
      metadataHost: l.metadataHost,
    },
    (line) => lines.push(line),
  );
  const report = parseUploadReport(lines.join('\n'));
  const file = report.files.find((f) => f.name === 'a.bin');
  assert.equal(file?.attempts, 2, lines.join('\n'));
  assert.match(
    lines.join('\n'),
    /rejected by GCS: HTTP 400: .*crc32c.*sending a\.bin again \(attempt 2 of 3\)/i,
  );
  assert.ok(readFileSync(l.store.dataPath(BUCKET, name)).equals(data));
});

test('upload: a missing artifacts directory is reported, not an error', async (t) => {
  const l = await lab(t);
  const ws = workspace(t);
  writeFileSync(join(ws, 'done'), '');
  const lines: string[] = [];
  await runUpload(
    {
      bucket: BUCKET,
      prefix: 'p',
      artifactsDir: join(ws, 'nope'),
      apiEndpoint: l.gcs,
      doneMarker: join(ws, 'done'),
      waitSeconds: 1,
      metadataHost: l.metadataHost,
    },
    (line) => lines.push(line),
  );
  assert.deepEqual(parseUploadReport(lines.join('\n')).done, { files: 0, bytes: 0, missing: true });
});

test('check: passes when the identity holds the permissions; names identity, role and command when not', async (t) => {
  const l = await lab(t);
  const ok = await runCheck({
    bucket: BUCKET,
    apiEndpoint: l.gcs,
    permissions: ['storage.objects.create'],
    serviceAccount: 'builds/kbuild-uploader',
    metadataHost: l.metadataHost,
  });
  assert.match(
    ok,
    /builds\/kbuild-uploader acts as principal:\/\/.*\/subject\/ns\/builds\/sa\/kbuild-uploader and holds storage\.objects\.create/,
  );
  await assert.rejects(
    runCheck({
      bucket: 'no-such-bucket',
      apiEndpoint: l.gcs,
      permissions: ['storage.objects.create'],
      serviceAccount: 'builds/kbuild-uploader',
      metadataHost: l.metadataHost,
    }),
    /bucket no-such-bucket was not found/,
  );
  await assert.rejects(
    runCheck({
      bucket: BUCKET,
      apiEndpoint: l.gcs,
      permissions: ['storage.objects.create'],
      serviceAccount: 'builds/kbuild-uploader',
      metadataHost: '127.0.0.1:1',
    }),
    /Kubernetes service account builds\/kbuild-uploader has no Google identity/,
  );
});

test('memberOf: the annotation form names the GSA, else the KSA principal', () => {
  const project = { id: 'acme-builds', number: '1234' };
  assert.equal(
    memberOf('builder@acme-builds.iam.gserviceaccount.com', 'ci/kbuild', project),
    'serviceAccount:builder@acme-builds.iam.gserviceaccount.com',
  );
  assert.equal(
    memberOf('acme-builds.svc.id.goog', 'ci/kbuild', project),
    'principal://iam.googleapis.com/projects/1234/locations/global/workloadIdentityPools/acme-builds.svc.id.goog/subject/ns/ci/sa/kbuild',
  );
});

test('BUILD_WRAPPER: runs argv without a shell, passes the exit code, then creates the marker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kbuild-wrap-'));
  try {
    const marker = join(dir, '.kbuild', 'build-done');
    const r = spawnSync(
      'sh',
      [
        '-c',
        BUILD_WRAPPER,
        'kbuild-build',
        marker,
        'sh',
        '-c',
        'echo "$1"; exit 7',
        'x',
        '$HOME; `id`',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 7);
    assert.equal(r.stdout, '$HOME; `id`\n');
    assert.ok(existsSync(marker));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stage: the runner packs the context into the bucket; the pod checks and unpacks it', async (t) => {
  const l = await lab(t);
  const src = workspace(t);
  mkdirSync(join(src, 'sub'));
  writeFileSync(join(src, 'Makefile'), 'all:\n\ttrue\n');
  writeFileSync(join(src, 'sub', 'data.bin'), randomBytes(300_000));
  const store = new GcsObjectStore({ bucket: BUCKET, apiEndpoint: l.gcs });
  const infos: string[] = [];
  const reporter = { info: (m: string) => infos.push(m), warning: (m: string) => infos.push(m) };
  const staged = await uploadContext(store, 'b1d', src, ['Makefile', 'sub/data.bin'], reporter);
  assert.equal(staged.object, 'kbuild-staging/b1d.tar.gz');
  assert.match(
    infos.join('\n'),
    /Staged 2 files .* as gs:\/\/kbuild-unit\/kbuild-staging\/b1d\.tar\.gz/,
  );
  const ws = workspace(t);
  const env = {
    bucket: BUCKET,
    apiEndpoint: l.gcs,
    metadataHost: l.metadataHost,
    object: staged.object,
    crc32c: staged.crc32c,
    workspace: ws,
  };
  assert.match(await runStage(env), /staged gs:\/\/kbuild-unit\/kbuild-staging\/b1d\.tar\.gz/);
  assert.equal(readFileSync(join(ws, 'Makefile'), 'utf8'), 'all:\n\ttrue\n');
  assert.ok(
    readFileSync(join(ws, 'sub', 'data.bin')).equals(readFileSync(join(src, 'sub', 'data.bin'))),
  );
  assert.ok(!existsSync(join(ws, '.kbuild', 'context.tar.gz')), 'the archive is removed');

  // An archive that does not match what the runner uploaded is never unpacked.
  const other = workspace(t);
  await assert.rejects(runStage({ ...env, crc32c: 'AAAAAA==', workspace: other }), (err: Error) => {
    assert.match(err.message, /runner uploaded AAAAAA==: the context is not unpacked/);
    return true;
  });
  assert.ok(!existsSync(join(other, 'Makefile')));

  await removeContext(store, staged, reporter);
  assert.equal(l.store.object(BUCKET, staged.object), undefined, 'the archive is deleted');
});
