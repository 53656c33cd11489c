// lab-build.test.ts: a real build on the lab, driven by hand the way the
// product drives it (src/core/manifest/podspec.ts): a `stage` init container waits
// while examples/ and the cached Debian source of GNU hello are copied into
// /workspace with `kubectl exec -i ... tar`, the `build` container runs
// `make -C /workspace package/hello`, and the `collector` container waits
// while the artifacts are copied out with `kubectl exec ... tar`. The `hello`
// that comes out runs here and greets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { kubectl, labEnv, ROOT } from './lab.ts';
import {
  create,
  getJson,
  mustShell,
  waitFor,
  waitForPhase,
  type PodLike,
  useScope,
} from './lab-kube.ts';

const scope = useScope('lab-build-e2e');

/** waitScript waits for a marker file below /workspace (as the product's `stage` and `collector` do). */
function waitScript(marker: string): string[] {
  return [
    'sh',
    '-c',
    'mkdir -p "${1%/*}"; while [ ! -e "$1" ]; do sleep 0.2; done',
    'wait',
    `/workspace/.kbuild/${marker}`,
  ];
}

test('a pod builds GNU hello from the cached Debian source; the hello copied out runs', async (t) => {
  const sources = labEnv()['KBUILD_LAB_SOURCES'] ?? '';
  assert.ok(
    existsSync(join(sources, 'hello', '.complete')),
    `no cached Debian source hello in ${sources}`,
  );
  const name = 'hello-build';
  create(scope.ns, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      nodeSelector: { 'kubernetes.io/arch': 'amd64' },
      initContainers: [{ name: 'stage', image: 'debian:bookworm', command: waitScript('staged') }],
      containers: [
        {
          name: 'build',
          image: 'buildpack-deps:bookworm',
          command: ['make', '-C', '/workspace', 'package/hello'],
          resources: { requests: { cpu: '2', memory: '2Gi' } },
        },
        { name: 'collector', image: 'debian:bookworm', command: waitScript('collected') },
      ],
    },
  });
  await waitFor(`init container stage of ${name} running`, 60_000, () => {
    const pod = getJson<
      PodLike & { status: { initContainerStatuses?: PodLike['status']['containerStatuses'] } }
    >(['pod', '-n', scope.ns, name]);
    return pod.status.initContainerStatuses?.[0]?.state?.running ? true : undefined;
  });

  // Stage the context like `context: examples`: the files git knows, plus sources/hello.
  const exec = ['kubectl', 'exec', '-i', '-n', scope.ns, name, '-c', 'stage', '--'];
  mustShell(
    `cd "$1/examples" && git ls-files -z --cached --others --exclude-standard . |
       tar --null -T - -cf - | "\${@:3}" tar -xf - -C /workspace`,
    [ROOT, sources, ...exec],
  );
  mustShell(
    `tar -cf - -C "$2" hello | "\${@:3}" sh -c 'mkdir -p /workspace/sources && tar -xf - -C /workspace/sources'`,
    [ROOT, sources, ...exec],
  );
  kubectl([
    'exec',
    '-n',
    scope.ns,
    name,
    '-c',
    'stage',
    '--',
    'touch',
    '/workspace/.kbuild/staged',
  ]);

  const build = await waitFor(`container build of ${name} to finish`, 900_000, () => {
    const pod = getJson<PodLike>(['pod', '-n', scope.ns, name]);
    return pod.status.containerStatuses?.find((c) => c.name === 'build')?.state?.terminated;
  });
  const log = kubectl(['logs', '-n', scope.ns, name, '-c', 'build']);
  assert.equal(build.exitCode, 0, `the build failed; its log ends:\n${log.slice(-3000)}`);
  t.diagnostic(`build log: ${log.split('\n').length} lines`);

  // Collect the artifacts through the collector, as the product does, and run hello here.
  const out = join(scope.dir, 'x86_64');
  await mkdir(out);
  mustShell(
    `kubectl exec -n "$1" "$2" -c collector -- tar -cf - -C /workspace/packages/x86_64 . | tar -xf - -C "$3"`,
    [scope.ns, name, out],
  );
  kubectl([
    'exec',
    '-n',
    scope.ns,
    name,
    '-c',
    'collector',
    '--',
    'touch',
    '/workspace/.kbuild/collected',
  ]);
  assert.ok(existsSync(join(out, 'hello-2.10-r0.tar.gz')), 'the package tarball was collected');
  const hello = spawnSync(join(out, 'hello'), [], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', LANG: 'C' },
  });
  assert.equal(hello.status, 0, hello.stderr);
  assert.equal(hello.stdout, 'Hello, world!\n');

  const pod = await waitForPhase(scope.ns, name, ['Succeeded', 'Failed'], 60_000);
  assert.equal(pod.status.phase, 'Succeeded');
});
