// upload.ts: artifacts from the pod to GCS both ways the action offers, beside `gcloud storage
// cp` of the same files from local disk to the same GCS, in one run.
//
//   npm run bench:upload                                  1 x 512 MiB, then 2,000 x 64 KiB
//   npm run bench:upload -- --big-mb 128 --files 500      a quicker run
//
// Per case, two builds through the bundled action (dist/main, lab inputs, a bucket): one with
// `upload: runner` (the action copies the files out of the pod over exec and uploads them) and
// one with `upload: cluster` (the pod's uploader container stores them through its Workload
// Identity; the action then compares each object's metadata with the pod's report:
// docs/architecture.md, "Two data paths for the artifacts"). The pod writes the files into
// /workspace/<case> with a deterministic, incompressible generator (AES-CTR keystream from
// openssl), then prints a marker as the build's last line. What is timed for the action: from
// that line in the step's output to `Uploaded N artifacts` (runner) or `The pod uploaded N
// artifacts` (cluster): from the end of the build to every artifact stored and checked
// (build.log and kbuild.json come after and are not counted). For each action run the bench
// samples the process's peak RSS (VmHWM) and `rchar` of /proc/PID/io: every byte it read
// through read(2) and friends, sockets and files alike (its own bundle included), so an upper
// bound on what it read from the network. The same generator then writes identical files to a
// local temp dir, and `gcloud storage cp DIR/*` (its own parallelism, process start included)
// uploads them to another prefix of the same lab bucket (parallel composite uploads off: the
// lab's GCS has no compose). Everything uploaded is deleted at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { labInputs, runStep } from '../lab/runner.ts';
import { labEnv, ROOT } from '../lab/env.ts';
import { cpuProfileEnv, fixed, machineNote, mbps, MiB, PeakRss, table } from './lib.ts';

const READY = 'kbuild-bench-files-ready';

/** UPLOADER_KSA: the lab's KSA with a Workload Identity binding to the bucket (deploy/kubernetes/base). */
const UPLOADER_KSA = 'kbuild-uploader';

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

/** Timed: who moved the bytes and how long it took; for the action, its peak RSS and rchar (bytes). */
interface Timed {
  who: string;
  ms: number;
  peakRss?: number;
  rchar?: number;
}

/**
 * ReadBytes samples `rchar` of /proc/PID/io (Linux proc(5): bytes read through read(2), pread(2),
 * recv(2) and the like, from files and sockets alike) every `everyMs`; `stop()` answers the last
 * value read. rchar only grows, so the last sample is the total up to `everyMs` before the exit.
 */
class ReadBytes {
  last = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(pid: number, everyMs = 50) {
    const read = () => {
      try {
        const m = /^rchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
        if (m) this.last = Math.max(this.last, Number(m[1]));
      } catch {
        // the process has exited
      }
    };
    read();
    this.timer = setInterval(read, everyMs);
  }

  stop(): number {
    clearInterval(this.timer);
    return this.last;
  }
}

/** UPLOAD_DONE: the line of each upload path once every artifact is stored (src/core/build/lifecycle.ts). */
const UPLOAD_DONE = {
  runner: /^Uploaded \d+ artifacts to /,
  cluster: /^The pod uploaded \d+ artifacts to /,
} as const;

/** actionUpload runs the action on a build that writes the case, and times its upload. */
async function actionUpload(
  c: Case,
  upload: 'runner' | 'cluster',
  bucket: string,
  cpuProf?: string,
): Promise<Timed & { prefix: string; totalMs: number }> {
  const t0 = performance.now();
  let rss: PeakRss | undefined;
  let io: ReadBytes | undefined;
  let ready: number | undefined;
  let uploaded: number | undefined;
  let tail = '';
  const run = await runStep({
    inputs: {
      ...labInputs(),
      image: 'buildpack-deps:bookworm', // openssl is not in debian:bookworm
      name: `bench-upload-${c.name}-${upload}`,
      command: `bash -c '${generator(c, `/workspace/${c.name}`)}'`,
      package_target: '',
      artifacts_path: c.name,
      memory: '2Gi',
      bucket,
      upload,
      ...(upload === 'cluster' ? { service_account_name: UPLOADER_KSA } : {}),
    },
    ...cpuProfileEnv(cpuProf && join(cpuProf, `${c.name}-${upload}`)),
    onStart: (child) => {
      if (!child.pid) return;
      rss = new PeakRss(child.pid);
      io = new ReadBytes(child.pid);
    },
    onStdout: (chunk) => {
      const lines = (tail + chunk).split('\n');
      tail = lines.pop() ?? '';
      for (const l of lines) {
        if (ready === undefined && l.trim() === READY) ready = performance.now();
        if (uploaded === undefined && UPLOAD_DONE[upload].test(l)) uploaded = performance.now();
      }
    },
  });
  const totalMs = performance.now() - t0;
  const peakRss = rss?.stop() ?? 0;
  const rchar = io?.stop() ?? 0;
  if (run.code !== 0 || ready === undefined || uploaded === undefined) {
    throw new Error(
      `the action (upload: ${upload}) failed (exit ${run.code}): ${run.stdout.slice(-2000)}${run.stderr.slice(-1500)}`,
    );
  }
  const artifacts = JSON.parse(run.outputs['artifacts'] ?? '[]') as { size: number }[];
  const bytes = artifacts.reduce((s, a) => s + a.size, 0);
  if (artifacts.length !== c.files || bytes !== c.files * c.size) {
    throw new Error(
      `the action (upload: ${upload}) stored ${artifacts.length} files, ${bytes} bytes; want ${c.files} files, ${c.files * c.size} bytes`,
    );
  }
  return {
    who:
      upload === 'runner'
        ? 'runner: pod -> exec -> action -> GCS'
        : 'cluster: pod -> GCS, action checks metadata',
    ms: uploaded - ready,
    prefix: run.outputs['artifacts_uri'] ?? '',
    totalMs,
    peakRss,
    rchar,
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

/** gcloudCopy writes the same files locally and times `gcloud storage cp` of them. */
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
      // A V8 CPU profile of each action run, into DIR/<case>-<upload>.
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
      const timed: Timed[] = [];
      for (const upload of ['runner', 'cluster'] as const) {
        const a = await actionUpload(c, upload, bucket, values['cpu-prof']);
        prefixes.push(a.prefix);
        console.log(
          `  upload: ${upload}: the step took ${fixed(a.totalMs / 1000, 1)} s in all (auth, Job, build, upload, records, cleanup); peak RSS ${fixed((a.peakRss ?? 0) / MiB, 0)} MiB; read ${fixed((a.rchar ?? 0) / MiB, 2)} MiB`,
        );
        timed.push(a);
      }
      const g = gcloudCopy(c, bucket);
      prefixes.push(g.prefix);
      timed.push(g);
      for (const t of timed) {
        rows.push([
          c.name,
          t.who,
          fixed(t.ms / 1000, 2),
          fixed(mbps(bytes, t.ms)),
          c.files > 1 ? fixed(c.files / (t.ms / 1000), 0) : '',
          t.peakRss !== undefined ? fixed(t.peakRss / MiB, 0) : '',
          t.rchar !== undefined ? fixed(t.rchar / MiB, 2) : '',
        ]);
      }
      const [runner, cluster] = timed;
      for (const [name, t] of [
        ['runner', runner!],
        ['cluster', cluster!],
      ] as const)
        rows.push([c.name, `${name} / gcloud throughput`, fixed(g.ms / t.ms, 2), '', '', '', '']);
      if (c.files === 1) {
        const read = (cluster!.rchar ?? 0) / MiB;
        console.log(
          `  upload: cluster read ${fixed(read, 2)} MiB in all (target < 5 MiB from the network: ${read < 5 ? 'met' : 'MISSED'}; rchar counts files too, an upper bound)`,
        );
      }
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
  console.log(
    table(
      ['case', 'who', 'seconds', 'MiB/s', 'files/s', 'action peak RSS MiB', 'action read MiB'],
      rows,
    ),
  );
}

await main();
