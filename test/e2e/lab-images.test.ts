// lab-images.test.ts: the lab runs each container in its image, as a GKE node
// does (docs/lab.md, section Images): a command the image lacks fails to
// start, a reference no catalogue entry matches fails like a registry miss,
// digests and imagePullPolicy behave as on GKE, the image's files belong to
// root and are read-only while the container's user owns what it writes,
// arm64 pods run arm64 code (qemu-user), and pods reach the lab's endpoints
// on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubectl, labEnv } from './lab.ts';
import { create, getJson, podEvents, useScope, waitFor, waitForPhase } from './lab-kube.ts';

const scope = useScope('lab-images-e2e');

/** ARM64 schedules a pod on the arm64 node pool (its taint and label, as on GKE). */
const ARM64 = {
  nodeSelector: { 'kubernetes.io/arch': 'arm64' },
  tolerations: [
    { key: 'kubernetes.io/arch', operator: 'Equal', value: 'arm64', effect: 'NoSchedule' },
  ],
};

interface PodStatus {
  status: {
    phase?: string;
    containerStatuses?: {
      image?: string;
      imageID?: string;
      containerID?: string;
      state?: {
        terminated?: { exitCode: number; reason?: string; message?: string };
        waiting?: { reason?: string; message?: string };
      };
    }[];
  };
}

/** pod creates a one-container pod running `sh -c script` (or command) in image. */
function pod(
  name: string,
  image: string,
  command: string[],
  extra: { spec?: object; container?: object } = {},
): void {
  create(scope.ns, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image, command, ...extra.container }],
      ...extra.spec,
    },
  });
}

/** finished waits for pod name to end and answers its status and log. */
async function finished(
  name: string,
  timeoutMs = 120_000,
): Promise<{ pod: PodStatus; log: string }> {
  const p = (await waitForPhase(scope.ns, name, ['Succeeded', 'Failed'], timeoutMs)) as PodStatus;
  return { pod: p, log: kubectl(['logs', '-n', scope.ns, name]) };
}

/** waitingReason waits until the container waits with one of reasons; answers the message. */
function waitingFor(name: string, reasons: string[], timeoutMs = 60_000): Promise<string> {
  return waitFor(`${name} waiting ${reasons.join('|')}`, timeoutMs, () => {
    const w = getJson<PodStatus>(['pod', '-n', scope.ns, name]).status.containerStatuses?.[0]?.state
      ?.waiting;
    return w?.reason && reasons.includes(w.reason) ? (w.message ?? '') : undefined;
  });
}

test('make is not in debian:bookworm (StartError, runc message); buildpack-deps:bookworm has it', async () => {
  pod('make-debian', 'debian:bookworm', ['make', '--version']);
  pod('make-buildpack', 'buildpack-deps:bookworm', ['make', '--version']);
  const debian = await finished('make-debian');
  assert.equal(debian.pod.status.phase, 'Failed');
  const t = debian.pod.status.containerStatuses?.[0]?.state?.terminated;
  assert.equal(t?.reason, 'StartError');
  assert.ok(t?.exitCode === 128 || t?.exitCode === 127, `exit code ${t?.exitCode}`);
  assert.match(t?.message ?? '', /exec: "make": executable file not found in \$PATH/);
  // As with containerd, the container exists (an ID, an empty log).
  assert.match(
    debian.pod.status.containerStatuses?.[0]?.containerID ?? '',
    /^lab:\/\/[0-9a-f]{64}$/,
  );
  assert.equal(debian.log, '');
  assert.ok(
    podEvents(scope.ns, 'make-debian').some(
      (e) => e.reason === 'Failed' && /executable file not found/.test(e.message ?? ''),
    ),
  );

  const bp = await finished('make-buildpack');
  assert.equal(bp.pod.status.phase, 'Succeeded', bp.log);
  assert.match(bp.log, /^GNU Make 4\.3/);
});

test('a reference the catalogue lacks fails like a registry miss: ErrImagePull, then ImagePullBackOff', async () => {
  const image = 'no-such-registry.example/nothing:1';
  pod('miss', image, ['true']);
  const pulled = await waitingFor('miss', ['ErrImagePull']);
  assert.match(pulled, /failed to pull and unpack image "no-such-registry\.example\/nothing:1"/);
  const backoff = await waitingFor('miss', ['ImagePullBackOff']);
  assert.match(backoff, /^Back-off pulling image "no-such-registry\.example\/nothing:1"/);
  const events = podEvents(scope.ns, 'miss').map((e) => `${e.reason}: ${e.message}`);
  assert.ok(events.includes(`Pulling: Pulling image "${image}"`), events.join('\n'));
  assert.ok(
    events.some((e) => e.startsWith(`Failed: Failed to pull image "${image}": `)),
    events.join('\n'),
  );
  assert.ok(events.includes(`BackOff: Back-off pulling image "${image}"`), events.join('\n'));
  assert.equal(getJson<PodStatus>(['pod', '-n', scope.ns, 'miss']).status.phase, 'Pending');
});

test('digests and imagePullPolicy behave as on GKE', async () => {
  pod('by-tag', 'debian:bookworm', ['true']);
  const tagged = await finished('by-tag');
  const status = tagged.pod.status.containerStatuses?.[0];
  assert.equal(status?.image, 'docker.io/library/debian:bookworm');
  const id = status?.imageID ?? '';
  assert.match(id, /^docker\.io\/library\/debian@sha256:[0-9a-f]{64}$/);
  const digest = id.split('@')[1]!;

  // The same image by digest runs, and reports the same imageID.
  pod('by-digest', `debian@${digest}`, ['true']);
  const byDigest = await finished('by-digest');
  assert.equal(byDigest.pod.status.phase, 'Succeeded');
  assert.equal(byDigest.pod.status.containerStatuses?.[0]?.imageID, id);

  // A digest nothing has is a pull failure.
  pod('bad-digest', `debian@sha256:${'0'.repeat(64)}`, ['true']);
  assert.match(await waitingFor('bad-digest', ['ErrImagePull', 'ImagePullBackOff']), /not found/);

  // Never with an image that is not present: ErrImageNeverPull.
  pod('never', 'no-such-registry.example/nothing:1', ['true'], {
    container: { imagePullPolicy: 'Never' },
  });
  assert.equal(
    await waitingFor('never', ['ErrImageNeverPull']),
    'Container image "no-such-registry.example/nothing:1" is not present with pull policy of Never',
  );

  // Always pulls (Pulling, Pulled) even though the image is present; IfNotPresent does not.
  pod('always', 'debian:bookworm', ['true'], { container: { imagePullPolicy: 'Always' } });
  assert.equal((await finished('always')).pod.status.phase, 'Succeeded');
  const always = podEvents(scope.ns, 'always').map((e) => e.reason);
  assert.ok(always.includes('Pulling') && always.includes('Pulled'), always.join(','));
  const present = podEvents(scope.ns, 'by-tag').find((e) => e.reason === 'Pulled');
  assert.equal(present?.message, 'Container image "debian:bookworm" already present on machine');
});

test("the image's files belong to root, read-only; the container's user owns what it writes; the host is hidden", async () => {
  const sources = labEnv()['KBUILD_LAB_SOURCES'] ?? '/nonexistent';
  const script = [
    'stat -c "%U %a" /usr/bin/env',
    'touch /usr/bin/kb-test 2>/dev/null && echo usr-writable || echo usr-read-only',
    'echo hi > /workspace/f && stat -c "workspace %u %g" /workspace/f',
    'echo hi > /data/f && stat -c "emptydir %u %g" /data/f',
    'echo hi > /tmp/f && stat -c "tmp %u" /tmp/f',
    'id -u; id -G',
    'test -e /usr/lib/google-cloud-sdk && echo host-usr-visible || echo own-usr',
    'grep -q "^127.0.0.1.*localhost" /etc/hosts && echo hosts-ok',
    '. /etc/os-release; echo "$PRETTY_NAME"',
  ].join('; ');
  pod('owners', 'debian:bookworm', ['sh', '-c', script], {
    spec: {
      securityContext: { runAsUser: 65532, runAsGroup: 65532, fsGroup: 4000 },
      volumes: [{ name: 'data', emptyDir: {} }],
    },
    container: { volumeMounts: [{ name: 'data', mountPath: '/data' }] },
  });
  // As root (not privileged), the lab's own files are not there either.
  pod(
    'host-hidden',
    'debian:bookworm',
    ['sh', '-c', `test -e '${sources}' && echo sources-visible || echo sources-hidden`],
    { container: { securityContext: { runAsUser: 0 } } },
  );
  const o = await finished('owners');
  assert.equal(o.pod.status.phase, 'Succeeded', o.log);
  assert.deepEqual(o.log.trim().split('\n'), [
    'root 755',
    'usr-read-only',
    'workspace 65532 4000',
    'emptydir 65532 4000',
    'tmp 65532',
    '65532',
    '65532 4000',
    'own-usr',
    'hosts-ok',
    'Debian GNU/Linux 12 (bookworm)',
  ]);
  const h = await finished('host-hidden');
  assert.equal(h.log.trim(), 'sources-hidden');
});

test('arm64 pods run arm64 code: uname -m, and gcc in buildpack-deps:bookworm builds aarch64 binaries', async () => {
  const script = [
    'uname -m',
    'printf "int main(void){return 42;}\\n" > /tmp/a.c',
    'gcc -o /tmp/a /tmp/a.c',
    'file -b /tmp/a | cut -d, -f1,2',
    '/tmp/a; echo "ran: $?"',
  ].join('; ');
  pod('arm64', 'buildpack-deps:bookworm', ['sh', '-c', script], { spec: ARM64 });
  pod('amd64', 'debian:bookworm', ['uname', '-m']);
  const arm = await finished('arm64', 300_000);
  assert.equal(arm.pod.status.phase, 'Succeeded', arm.log);
  assert.deepEqual(arm.log.trim().split('\n'), [
    'aarch64',
    'ELF 64-bit LSB pie executable, ARM aarch64',
    'ran: 42',
  ]);
  assert.equal((await finished('amd64')).log.trim(), 'x86_64');
});

test("pods reach the lab's endpoints on 127.0.0.1 (API server, Cloud Storage stand-in)", async () => {
  const env = labEnv();
  const api = env['KBUILD_LAB_API_SERVER']!;
  const gcs = env['STORAGE_EMULATOR_HOST']!;
  const script = `curl -sk -o /dev/null -w "api %{http_code}\\n" ${api}/readyz; curl -s -o /dev/null -w "gcs %{http_code}\\n" ${gcs}/storage/v1/b/${env['KBUILD_LAB_BUCKET']}/o`;
  pod('net', 'buildpack-deps:bookworm', ['sh', '-c', script]);
  const n = await finished('net');
  assert.equal(n.pod.status.phase, 'Succeeded', n.log);
  const [apiLine, gcsLine] = n.log.trim().split('\n');
  // Anonymous requests: the API server answers 401; the GCS stand-in answers.
  assert.equal(apiLine, 'api 401');
  assert.match(gcsLine ?? '', /^gcs [2-4]\d\d$/);
});
