// action-faults.test.ts: a build survives its control plane (docs/troubleshooting.md, "Throttling
// and server errors", "Control-plane outages"). The action runs from its sources (runStep
// fromSources) against the lab through the fault-injecting front (lab/faults/front.ts): seeded
// 429/503 refusals, an outage of 90 s in the middle of a log, an outage longer than
// api_outage_budget, streams cut every 256 KiB, and a GCS upload session answering 503 twice.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { newRunId, runStep, type ActionRun } from './action.ts';
import { kubectl, labEnv } from './lab.ts';
import { buildOutput, kubeconfigVia } from './step-log.ts';
import type { FaultFront, Faults } from '../../lab/faults/front.ts';
import { startLabFront } from '../../lab/faults/lab.ts';

const BUILDS = 20;
/** The namespace of the builds, given explicitly (the admin kubeconfig may create anywhere). */
const NS = 'default';
let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kbuild-faults-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** front starts a fault front before the lab's API server and a kubeconfig that points at it. */
async function front(seed: number, faults: Faults): Promise<{ f: FaultFront; kubeconfig: string }> {
  const f = await startLabFront(seed, faults);
  return { f, kubeconfig: kubeconfigVia(f.url, mkdtempSync(join(dir, 'kc-'))) };
}

/** object reads an object of the lab's GCS (gs:// URI) over its JSON API. */
async function object(uri: string): Promise<Buffer> {
  const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri)!;
  const url = `${labEnv()['STORAGE_EMULATOR_HOST']}/download/storage/v1/b/${m[1]}/o/${encodeURIComponent(m[2]!)}?alt=media`;
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${uri}`);
  return Buffer.from(await res.arrayBuffer());
}

/** checkArtifacts compares each artifact's SHA-256 in the step's output with the stored object's. */
async function checkArtifacts(run: ActionRun, want: number): Promise<void> {
  const artifacts = JSON.parse(run.outputs['artifacts'] ?? '[]') as {
    name: string;
    sha256: string;
    uri: string;
  }[];
  const notes = buildOutput(run.stdout).other.join('\n');
  assert.equal(
    artifacts.length,
    want,
    `artifacts ${run.outputs['artifacts']}; the step's lines:\n${notes}`,
  );
  for (const a of artifacts) {
    const sha = createHash('sha256')
      .update(await object(a.uri))
      .digest('hex');
    assert.equal(sha, a.sha256, `SHA-256 of ${a.name}`);
  }
}

/** diag: the end of the step's log for a failure message. */
const diag = (run: ActionRun) =>
  `\n--- stdout (end) ---\n${run.stdout.slice(-4000)}\n--- stderr ---\n${run.stderr.slice(-2000)}`;

/** the build's lines as `kubectl logs` of the kept pod shows them. */
const podLog = (pod: string) =>
  kubectl(['logs', '-n', NS, pod, '-c', 'build']).replace(/\n$/, '').split('\n');

const deleteJob = (name: string | undefined) =>
  name && kubectl(['delete', 'job', '-n', NS, name, '--wait=false', '--ignore-not-found']);

const SMALL_BUILD =
  'sh -c \'mkdir -p packages; for i in $(seq 1 300); do echo "build line $i of $0"; done; ' +
  "head -c 300000 /dev/urandom > packages/a.bin; echo done > packages/b.txt' faults";

test(`10 % of plain API calls answered 429 or 503: ${BUILDS} builds in a row succeed, logs and artifacts intact`, async (t) => {
  const bucket = labEnv()['KBUILD_LAB_BUCKET']!;
  const seen = { refused: 0, retries: 0 };
  for (let i = 0; i < BUILDS; i++) {
    const seed = 1000 + i;
    const { f, kubeconfig } = await front(seed, { refuseShare: 0.1, retryAfterSeconds: 1 });
    let run: ActionRun | undefined;
    try {
      run = await runStep({
        fromSources: true,
        inputs: {
          kubeconfig,
          namespace: NS,
          image: 'debian:bookworm',
          name: `faults-${i}`,
          command: SMALL_BUILD,
          package_target: '',
          bucket,
          keep: 'true',
        },
      });
      assert.equal(run.code, 0, `build ${i} (seed ${seed}) failed:${diag(run)}`);
      assert.equal(run.outputs['status'], 'succeeded');
      const { build, other } = buildOutput(run.stdout);
      assert.deepEqual(
        build,
        podLog(run.outputs['pod_name']!),
        `build ${i}: step log vs kubectl logs`,
      );
      assert.equal(build.length, 300);
      await checkArtifacts(run, 2);
      const s = f.stats();
      seen.refused += Object.values(s.refused).reduce((a, b) => a + b, 0);
      seen.retries += other.filter((l) =>
        /^API server answered (429|503) to .*; retrying in/.test(l),
      ).length;
    } finally {
      await f.close();
      deleteJob(run?.outputs['job_name']);
    }
  }
  t.diagnostic(`refusals: ${seen.refused}; retry lines in the step logs: ${seen.retries}`);
  assert.ok(seen.refused >= BUILDS, `only ${seen.refused} refusals in ${BUILDS} builds`);
  assert.ok(seen.retries > 0);
});

/** LONG_LOG prints `line N` every 0.1 s for `seconds` seconds, then writes an artifact. */
const longLog = (seconds: number) =>
  `sh -c 'mkdir -p packages; i=0; while [ $i -lt ${seconds * 10} ]; do i=$((i+1)); echo "line $i"; sleep 0.1; done; ` +
  "head -c 100000 /dev/urandom > packages/out.bin' outage";

test('the API server refused for 90 s in the middle of the log: the build succeeds, no line lost or repeated, artifacts uploaded', async (t) => {
  const { f, kubeconfig } = await front(7, {});
  let outage: Promise<void> | undefined;
  let outageAt = 0;
  let run: ActionRun | undefined;
  try {
    run = await runStep({
      fromSources: true,
      inputs: {
        kubeconfig,
        namespace: NS,
        image: 'debian:bookworm',
        name: 'outage',
        command: longLog(150),
        package_target: '',
        bucket: labEnv()['KBUILD_LAB_BUCKET']!,
        keep: 'true',
      },
      onStdout: (chunk) => {
        if (!outage && /^line 200$/m.test(chunk)) {
          outageAt = Date.now();
          outage = f.outage(90_000);
        }
      },
    });
    await outage;
    assert.ok(outageAt > 0, `the log never reached line 200:${diag(run)}`);
    assert.equal(run.code, 0, `step failed:${diag(run)}`);
    assert.equal(run.outputs['status'], 'succeeded');
    const { build, other } = buildOutput(run.stdout);
    assert.deepEqual(
      build,
      Array.from({ length: 1500 }, (_, i) => `line ${i + 1}`),
      'every line once, in order',
    );
    assert.deepEqual(build, podLog(run.outputs['pod_name']!));
    await checkArtifacts(run, 1);
    const down = other.find((l) => /control plane is unreachable since/.test(l));
    const back = other.find((l) => /control plane is reachable again after/.test(l));
    assert.ok(down, `no outage line:${diag(run)}`);
    assert.ok(back, `no end-of-outage line:${diag(run)}`);
    const lasted = Number(/after ([\d.]+) s|after (\d+)m/.exec(back)?.[1] ?? 0);
    t.diagnostic(
      `${down}\n${back}\nstats: ${JSON.stringify({ ...f.stats(), refusedRequests: undefined })}`,
    );
    assert.match(back, /after (1m\d*s?|[89]\d\.\d s) unreachable/);
    assert.ok(lasted === 0 || lasted >= 85);
  } finally {
    await f.close();
    deleteJob(run?.outputs['job_name']);
  }
});

test('an outage longer than api_outage_budget fails the step within 60 s of the budget, naming the outage; nothing is left running', async (t) => {
  const { f, kubeconfig } = await front(8, {});
  let outageAt = 0;
  let outage: Promise<void> | undefined;
  let child = 0;
  let run: ActionRun | undefined;
  const runId = newRunId();
  try {
    run = await runStep({
      fromSources: true,
      runId,
      inputs: {
        kubeconfig,
        namespace: NS,
        image: 'debian:bookworm',
        name: 'long-outage',
        command: longLog(600),
        package_target: '',
        api_outage_budget: '20s',
      },
      onStart: (c) => (child = c.pid ?? 0),
      onStdout: (chunk) => {
        if (!outage && /^line 30$/m.test(chunk)) {
          outageAt = Date.now();
          outage = f.outage(150_000);
        }
      },
    });
    const endedAt = Date.now();
    assert.ok(outageAt > 0, `the log never reached line 30:${diag(run)}`);
    const afterBudget = (endedAt - outageAt) / 1000 - 20;
    t.diagnostic(`the step ended ${afterBudget.toFixed(1)} s after the budget ran out`);
    assert.equal(run.code, 1, diag(run));
    assert.ok(afterBudget <= 60, `ended ${afterBudget} s after the budget`);
    assert.match(
      run.stdout,
      /::error::kbuild-action failed: the control plane was unreachable for .* longer than input "api_outage_budget" \(20s\).*Job \S+\/\S+ could not be deleted/,
    );
    // No process of the step is left: the step's node process exited and nothing runs from its directory.
    const ps = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).stdout;
    assert.ok(
      !ps.split('\n').some((l) => l.trim().startsWith(`${child} `)),
      'the step process is gone',
    );
    assert.ok(!ps.includes(run.runDir), `a process still runs from ${run.runDir}`);
  } finally {
    await f.close();
    await outage;
    const job = run?.state['build']
      ? (JSON.parse(run.state['build']) as { jobName: string }).jobName
      : undefined;
    deleteJob(job);
  }
});

test('a 20 MB log at about 100 KiB/s with streams cut every 256 KiB arrives exactly once and in order', async (t) => {
  const { f, kubeconfig } = await front(9, { cutLogBytes: 256 * 1024 });
  const lines = 200_000;
  const pad = 'x'.repeat(88);
  let run: ActionRun | undefined;
  try {
    run = await runStep({
      fromSources: true,
      inputs: {
        kubeconfig,
        namespace: NS,
        image: 'debian:bookworm',
        name: 'cut-logs',
        // 100 lines of 100 bytes every 0.1 s: about 100 KiB/s for 200 s.
        command: `awk 'BEGIN{for(i=1;i<=${lines};i++){printf "line %06d %s\\n", i, "${pad}"; if(i%100==0){fflush(); system("sleep 0.1")}}}'`,
        package_target: '',
        keep: 'true',
      },
    });
    assert.equal(run.code, 0, `step failed:${diag(run)}`);
    const { build, other } = buildOutput(run.stdout);
    const s = f.stats();
    t.diagnostic(
      `log streams cut: ${s.cutLogs}; ${other.filter((l) => l.startsWith('Log stream:')).join(' ')}`,
    );
    assert.equal(build.length, lines, 'build lines in the step log');
    build.forEach((line, i) => {
      const want = `line ${String(i + 1).padStart(6, '0')} ${pad}`;
      if (line !== want) assert.fail(`line ${i + 1}: got ${JSON.stringify(line.slice(0, 40))}`);
    });
    assert.ok(s.cutLogs >= 60, `only ${s.cutLogs} cuts`);
  } finally {
    await f.close();
    deleteJob(run?.outputs['job_name']);
  }
});

test('a GCS upload session answering 503 twice mid-way resumes from the persisted offset and finishes', async (t) => {
  const bucket = labEnv()['KBUILD_LAB_BUCKET']!;
  const gcs = labEnv()['STORAGE_EMULATOR_HOST']!;
  const runId = newRunId();
  const name = `kbuild-lab/demo/${runId}-1/amd64/gcs-faults/big.bin`;
  const r = await fetch(`${gcs}/_lab/gcs/faults`, {
    method: 'POST',
    body: JSON.stringify({ name, failPuts: [2, 4] }),
  });
  assert.equal(r.status, 204);
  const run = await runStep({
    fromSources: true,
    runId,
    inputs: {
      kubeconfig: labEnv()['KUBECONFIG']!,
      namespace: NS,
      image: 'debian:bookworm',
      name: 'gcs-faults',
      // 40 MiB: five 8 MiB requests of the uploader.
      command: "sh -c 'mkdir -p packages; head -c 41943040 /dev/urandom > packages/big.bin'",
      package_target: '',
      bucket,
    },
  });
  assert.equal(run.code, 0, `step failed:${diag(run)}`);
  await checkArtifacts(run, 1);
  const counts = (await (
    await fetch(`${gcs}/_lab/gcs/uploads?name=${encodeURIComponent(name)}`)
  ).json()) as {
    puts: number;
    statusQueries: number;
    receivedBytes: number;
    resentBytes: number;
    faults: number;
  };
  t.diagnostic(JSON.stringify(counts));
  assert.equal(counts.faults, 2);
  assert.ok(counts.statusQueries >= 2, 'the uploader asked what was persisted');
  // Only bytes of the chunk in flight may be sent twice (8 MiB, the uploader's chunk).
  assert.ok(counts.resentBytes <= 8 * 1024 * 1024, `${counts.resentBytes} bytes sent twice`);
  assert.ok(counts.receivedBytes - counts.resentBytes >= 41943040);
  const artifacts = JSON.parse(run.outputs['artifacts']!) as { crc32c: string; uri: string }[];
  const meta = (await (
    await fetch(`${gcs}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`)
  ).json()) as { crc32c: string };
  assert.equal(
    meta.crc32c,
    artifacts[0]!.crc32c,
    'CRC32C stored by GCS = computed while streaming',
  );
});
