// upload.ts: artifacts from the pod to GCS through the action, beside
// `gcloud storage cp` of the same files from local disk to the same GCS.
//
//   npm run bench:upload                                  1 x 512 MiB, then 2,000 x 64 KiB
//   npm run bench:upload -- --big-mb 128 --files 500      a quicker run
//
// Two builds, one per case: the pod writes the files into /workspace/<case>
// with a deterministic, incompressible generator (AES-CTR keystream from
// openssl), then prints a marker. The action (dist/main, lab inputs, a
// bucket) copies them out of the pod (tar over exec) and uploads them. What is
// timed for the action is its collect phase: from the end of the build output
// (`::endgroup::`, printed once the log has ended and the container has
// terminated) to `Uploaded N artifacts` (every artifact stored; build.log and
// kbuild.json come after and are not counted). The same generator then writes
// identical files to a local temp dir, and `gcloud storage cp DIR/*` (its own
// parallelism, process start included) uploads them to another prefix of the
// same lab bucket (parallel composite uploads off: the lab's GCS has no
// compose). Everything uploaded is deleted at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { labInputs, runStep } from '../lab/runner.ts';
import { labEnv, ROOT } from '../lab/env.ts';
import { cpuProfileEnv, fixed, machineNote, mbps, MiB, PeakRss, table } from './lib.ts';

const READY = 'kbuild-bench-files-ready';

/** Case: one set of artifacts. */
interface Case {
  name: string;
  files: number;
  /** Bytes per file. */
  size: number;
}

/** generator answers a bash script that writes the case's files below `dir`, the same bytes wherever it runs. */
function generator(c: Case, dir: string): string {
  const stream = `openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass pass:kbuild-${c.name} </dev/zero 2>/dev/null | head -c ${c.files * c.size}`;
  const write =
    c.files === 1
      ? `${stream} > ${dir}/${c.name}.bin`
      : `${stream} | split -b ${c.size} -a 5 -d - ${dir}/f`;
  return `set -e; mkdir -p ${dir}; ${write}; echo ${READY}`;
}

/** Timed: seconds, and the rates they give for a case. */
interface Timed {
  who: string;
  ms: number;
}

/** actionCollect runs the action on a build that writes the case, and times its collect phase. */
async function actionCollect(
  c: Case,
  bucket: string,
  cpuProf?: string,
): Promise<Timed & { prefix: string; totalMs: number; peakRss: number }> {
  const t0 = performance.now();
  let rss: PeakRss | undefined;
  let endGroup: number | undefined;
  let uploaded: number | undefined;
  let tail = '';
  const run = await runStep({
    inputs: {
      ...labInputs(),
      image: 'buildpack-deps:bookworm', // openssl is not in debian:bookworm
      name: `bench-upload-${c.name}`,
      command: `bash -c '${generator(c, `/workspace/${c.name}`)}'`,
      package_target: '',
      artifacts_path: c.name,
      memory: '2Gi',
      bucket,
    },
    ...cpuProfileEnv(cpuProf && join(cpuProf, c.name)),
    onStart: (child) => {
      if (child.pid) rss = new PeakRss(child.pid);
    },
    onStdout: (chunk) => {
      const lines = (tail + chunk).split('\n');
      tail = lines.pop() ?? '';
      for (const l of lines) {
        if (endGroup === undefined && l === '::endgroup::') endGroup = performance.now();
        if (uploaded === undefined && /^Uploaded \d+ artifacts to /.test(l))
          uploaded = performance.now();
      }
    },
  });
  const totalMs = performance.now() - t0;
  const peakRss = rss?.stop() ?? 0;
  if (run.code !== 0 || endGroup === undefined || uploaded === undefined) {
    throw new Error(
      `the action failed (exit ${run.code}): ${run.stdout.slice(-2000)}${run.stderr.slice(-1500)}`,
    );
  }
  const artifacts = JSON.parse(run.outputs['artifacts'] ?? '[]') as { size: number }[];
  const bytes = artifacts.reduce((s, a) => s + a.size, 0);
  if (artifacts.length !== c.files || bytes !== c.files * c.size) {
    throw new Error(
      `the action uploaded ${artifacts.length} files, ${bytes} bytes; want ${c.files} files, ${c.files * c.size} bytes`,
    );
  }
  return {
    who: 'action: pod -> GCS (collect phase)',
    ms: uploaded - endGroup,
    prefix: run.outputs['artifacts_uri'] ?? '',
    totalMs,
    peakRss,
  };
}

/**
 * gcloudStorage runs `gcloud storage` on the lab's GCS like lab/runner.ts's
 * gcloud, with parallel composite uploads off: gcloud would split a file over
 * 150 MiB into parts and compose them, and the lab's GCS has no compose.
 * Throws with gcloud's stderr on failure.
 */
function gcloudStorage(args: string[]): void {
  const lab = labEnv();
  const r = spawnSync('gcloud', ['storage', ...args], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/root',
      CLOUDSDK_CONFIG: join(ROOT, '.lab', 'gcloud'),
      CLOUDSDK_CORE_PROJECT: lab['KBUILD_LAB_PROJECT_ID'],
      CLOUDSDK_AUTH_DISABLE_CREDENTIALS: 'true',
      CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE: lab['CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE'],
      CLOUDSDK_STORAGE_PARALLEL_COMPOSITE_UPLOAD_ENABLED: 'False',
      CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
      CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
      CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
    },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`gcloud storage ${args.join(' ')} failed: ${r.stderr}`);
}

/** gcloudCopy writes the same files locally and times `gcloud storage cp -r` of them. */
function gcloudCopy(c: Case, bucket: string): Timed & { prefix: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kbuild-bench-upload-'));
  try {
    const gen = spawnSync('bash', ['-c', generator(c, join(dir, c.name))], { encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`generating the files failed: ${gen.stderr}`);
    const prefix = `gs://${bucket}/bench/gcloud-${Date.now()}/`;
    const t = performance.now();
    // A wildcard, not -r: `cp -r` asks for the bucket's storageLayout, which the lab's GCS lacks.
    gcloudStorage(['cp', join(dir, c.name, '*'), prefix]);
    return { who: 'gcloud storage cp: local disk -> GCS', ms: performance.now() - t, prefix };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'big-mb': { type: 'string', default: '512' },
      files: { type: 'string', default: '2000' },
      'file-kb': { type: 'string', default: '64' },
      // A V8 CPU profile of each action run, into DIR/<case>.
      'cpu-prof': { type: 'string' },
    },
  });
  const cases: Case[] = [
    { name: 'big', files: 1, size: Number(values['big-mb']) * MiB },
    { name: 'small', files: Number(values.files), size: Number(values['file-kb']) * 1024 },
  ];
  console.log(machineNote());
  const bucket = labEnv()['KBUILD_LAB_BUCKET']!;
  const rows: string[][] = [];
  const prefixes: string[] = [];
  try {
    for (const c of cases) {
      const bytes = c.files * c.size;
      console.log(
        `case ${c.name}: ${c.files} x ${fixed(c.size / 1024, 0)} KiB (${fixed(bytes / MiB, 1)} MiB)`,
      );
      const a = await actionCollect(c, bucket, values['cpu-prof']);
      prefixes.push(a.prefix);
      console.log(
        `  action step took ${fixed(a.totalMs / 1000, 1)} s in all (auth, Job, build, collect, records, cleanup); peak RSS ${fixed(a.peakRss / MiB, 0)} MiB (target < 150: ${a.peakRss / MiB < 150 ? 'met' : 'MISSED'})`,
      );
      const g = gcloudCopy(c, bucket);
      prefixes.push(g.prefix);
      for (const t of [a, g]) {
        rows.push([
          c.name,
          t.who,
          fixed(t.ms / 1000, 2),
          fixed(mbps(bytes, t.ms)),
          c.files > 1 ? fixed(c.files / (t.ms / 1000), 0) : '',
        ]);
      }
      rows.push([c.name, 'action / gcloud throughput', fixed(g.ms / a.ms, 2), '', '']);
    }
  } finally {
    for (const p of prefixes) {
      try {
        if (p) gcloudStorage(['rm', '--quiet', `${p}**`]);
      } catch (err) {
        console.warn(`could not delete ${p}: ${(err as Error).message}`);
      }
    }
  }
  console.log(table(['case', 'who', 'seconds', 'MiB/s', 'files/s'], rows));
}

await main();
