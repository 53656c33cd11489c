// lab-pods.test.ts: the lab's pod runtime through kubectl, as the product
// uses it: `kubectl logs -f` follows a container's output exactly and the pod
// reports its exit code; `kubectl exec -i` with tar copies a directory into a
// pod and back byte for byte (modes, mtimes, a symlink, random data).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kubectl, labEnv } from './lab.ts';
import { create, mustShell, useScope, waitForPhase } from './lab-kube.ts';
import { makeTree, snapshotTree } from './lab-tree.ts';

const IMAGE = 'debian:bookworm';
const scope = useScope('lab-pods-e2e');

/** sleeper creates a pod whose one container `main` waits, and waits until it runs. */
async function sleeper(name: string, script: string): Promise<void> {
  create(scope.ns, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image: IMAGE, command: ['sh', '-c', script] }],
    },
  });
  await waitForPhase(scope.ns, name, ['Running'], 60_000);
}

test('kubectl logs -f shows exactly the 1000 lines, and the pod ends with exit code 3 (Error)', async () => {
  const name = 'counter';
  // The loop starts once /workspace/go exists, so the log is followed while it is written.
  await sleeper(
    name,
    'while [ ! -e /workspace/go ]; do sleep 0.1; done; for i in $(seq 1 1000); do echo line $i; done; exit 3',
  );
  const follow = spawn('kubectl', ['logs', '-f', '-n', scope.ns, name], {
    env: { ...process.env, ...labEnv() },
  });
  const chunks: Buffer[] = [];
  follow.stdout.on('data', (c: Buffer) => chunks.push(c));
  let stderr = '';
  follow.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((res) => follow.on('close', (code) => res(code)));
  kubectl(['exec', '-n', scope.ns, name, '--', 'touch', '/workspace/go']);
  assert.equal(await exited, 0, `kubectl logs -f: ${stderr}`);

  const want = Array.from({ length: 1000 }, (_, i) => `line ${i + 1}\n`).join('');
  assert.equal(Buffer.concat(chunks).toString('utf8'), want);
  const pod = await waitForPhase(scope.ns, name, ['Failed', 'Succeeded'], 60_000);
  assert.equal(pod.status.phase, 'Failed');
  const terminated = pod.status.containerStatuses?.[0]?.state?.terminated;
  assert.deepEqual(
    { exitCode: terminated?.exitCode, reason: terminated?.reason },
    { exitCode: 3, reason: 'Error' },
  );
  assert.equal(kubectl(['logs', '-n', scope.ns, name]), want, 'the log of the finished container');
});

test('kubectl exec -i with tar copies a directory in and out byte for byte', async () => {
  const name = 'tar';
  const src = join(scope.dir, 'tar-src');
  const random = randomBytes(3 << 20);
  await makeTree(src, random);
  await sleeper(name, 'mkdir -p /workspace/in; exec sleep 3600');

  mustShell('tar -cf - -C "$1" . | kubectl exec -i -n "$2" "$3" -- tar -xf - -C /workspace/in', [
    src,
    scope.ns,
    name,
  ]);
  // Inside the pod: the bytes arrived, and the executable runs.
  const sum = kubectl([
    'exec',
    '-n',
    scope.ns,
    name,
    '--',
    'sha256sum',
    '/workspace/in/data/random.bin',
  ]);
  assert.equal(sum.split(' ')[0], createHash('sha256').update(random).digest('hex'));
  assert.equal(
    kubectl(['exec', '-n', scope.ns, name, '--', '/workspace/in/bin/run.sh']),
    'run.sh ran\n',
  );

  const back = mustShell('kubectl exec -n "$1" "$2" -- tar -cf - -C /workspace/in .', [
    scope.ns,
    name,
  ]);
  const out = join(scope.dir, 'tar-out');
  await writeFile(`${out}.tar`, back);
  mustShell('mkdir "$1" && tar -xpf "$1.tar" -C "$1"', [out]);
  const want = await snapshotTree(src);
  assert.ok(want.length >= 10, `the tree has ${want.length} entries`);
  assert.deepEqual(await snapshotTree(out), want);
});
