// log-relay.ts: how fast the bundled action relays a build log, and with how
// much memory, beside `kubectl logs -f` on the same pod.
//
//   npm run bench:logs               1 GiB of 100-byte lines
//   npm run bench:logs -- --mb 200   a quicker run
//
// One Job prints `--mb` MiB of numbered 100-byte lines as fast as awk can, then
// an end marker. The action (dist/main, through the lab's runner stand-in,
// `keep: true`, no bucket) follows it; its stdout goes to a counter in this
// process, and its peak RSS (VmHWM) is sampled. Then `kubectl logs -f` (plain,
// and with --timestamps, which the action requests) reads the same, finished
// pod into the same kind of counter. The action's relay time runs from its
// first build line to the end marker; kubectl's from spawn to the end marker.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { labInputs } from '../lab/runner.ts';
import { kubectl, labEnv } from '../lab/env.ts';
import {
  cpuProfileEnv,
  fixed,
  machineNote,
  mbps,
  MiB,
  PeakRss,
  runStreamed,
  StreamCounter,
  table,
} from './lib.ts';

const END = 'kbuild-bench-end-of-log';
/** NAMESPACE: where the build runs (the action's default, where the lab grants the builder's Role). */
const NAMESPACE = 'kbuild';
const LINE_BYTES = 100;

/** kubectlLogs times `kubectl logs -f` of the build container to the end marker. */
async function kubectlLogs(
  pod: string,
  extra: string[],
): Promise<{ counter: StreamCounter; ms: number; rss: number }> {
  const started = performance.now();
  const counter = new StreamCounter(END, started);
  const child = spawn('kubectl', ['logs', '-n', NAMESPACE, '-f', pod, '-c', 'build', ...extra], {
    env: { ...process.env, ...labEnv() },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const rss = new PeakRss(child.pid ?? 0);
  child.stdout.setEncoding('utf8').on('data', (c: string) => counter.add(c));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const peak = rss.stop();
  if (code !== 0) throw new Error(`kubectl logs exited with ${code}`);
  return { counter, ms: counter.markerAt ?? performance.now() - started, rss: peak };
}

/** withNodeOptions adds options to the NODE_OPTIONS of an env (cpuProfileEnv's). */
function withNodeOptions(
  e: { env?: Record<string, string> },
  options: string | undefined,
): { env?: Record<string, string> } {
  if (!options) return e;
  const before = e.env?.['NODE_OPTIONS'];
  return { env: { ...e.env, NODE_OPTIONS: before ? `${before} ${options}` : options } };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mb: { type: 'string', default: '1024' },
      'cpu-prof': { type: 'string' },
      'node-options': { type: 'string' },
    },
  });
  const mb = Number(values.mb);
  if (!Number.isFinite(mb) || mb <= 0)
    throw new Error(`invalid --mb "${values.mb}": use a number of MiB, e.g. --mb 200`);
  const lines = Math.round((mb * MiB) / LINE_BYTES);
  const payload = lines * LINE_BYTES;
  const pad = 'x'.repeat(LINE_BYTES - 12);
  const command = `awk 'BEGIN{for(i=1;i<=${lines};i++) printf "%010d %s\\n", i, "${pad}"; print "${END}"}'`;
  console.log(machineNote());
  console.log(`log relay: ${lines} lines of ${LINE_BYTES} bytes (${fixed(payload / MiB, 0)} MiB)`);

  const spawned = performance.now();
  const counter = new StreamCounter(END, spawned, '::stop-commands::');
  const step = await runStreamed({
    inputs: {
      ...labInputs(),
      image: 'debian:bookworm',
      name: 'bench-logs',
      command,
      package_target: '',
      keep: 'true',
      namespace: NAMESPACE,
    },
    // --cpu-prof DIR: a V8 CPU profile of the action, to see where its time goes.
    // --node-options '...': NODE_OPTIONS of the action, for experiments (e.g. heap flags).
    ...withNodeOptions(cpuProfileEnv(values['cpu-prof']), values['node-options']),
    onStdout: (c) => counter.add(c),
  });
  const { outputs } = step.run;
  const job = outputs['job_name'];
  try {
    if (step.run.code !== 0 || counter.markerAt === undefined || counter.firstAt === undefined) {
      throw new Error(
        `the action failed (exit ${step.run.code}, status ${outputs['status']}): ${step.run.stderr.slice(-2000)}`,
      );
    }
    const relayMs = counter.markerAt - counter.firstAt;
    if (counter.lines < lines)
      throw new Error(
        `the action printed ${counter.lines} lines, fewer than the ${lines} of the build`,
      );
    const pod = outputs['pod_name']!;
    const podJson = JSON.parse(kubectl(['get', 'pod', '-n', NAMESPACE, pod, '-o', 'json'])) as {
      status: {
        containerStatuses?: {
          name: string;
          state: { terminated?: { startedAt: string; finishedAt: string } };
        }[];
      };
    };
    const t = podJson.status.containerStatuses?.find((c) => c.name === 'build')?.state.terminated;
    const producedS = t ? (Date.parse(t.finishedAt) - Date.parse(t.startedAt)) / 1000 : NaN;

    const plain = await kubectlLogs(pod, []);
    const stamped = await kubectlLogs(pod, ['--timestamps']);
    const rows = [
      [
        'action (dist/main), first to last line',
        fixed(relayMs / 1000, 2),
        fixed(mbps(payload, relayMs)),
        fixed(step.peakRss / MiB, 0),
        '1.00',
      ],
      [
        'kubectl logs -f',
        fixed(plain.ms / 1000, 2),
        fixed(mbps(payload, plain.ms)),
        fixed(plain.rss / MiB, 0),
        fixed(plain.ms / relayMs, 2),
      ],
      [
        'kubectl logs -f --timestamps',
        fixed(stamped.ms / 1000, 2),
        fixed(mbps(payload, stamped.ms)),
        fixed(stamped.rss / MiB, 0),
        fixed(stamped.ms / relayMs, 2),
      ],
    ];
    console.log(
      table(['reader', 'seconds', 'MiB/s', 'peak RSS MiB', 'action throughput / this'], rows),
    );
    console.log(
      `the pod printed its log in ~${fixed(producedS, 0)} s (container start to end, 1 s resolution)`,
    );
    console.log(
      `action step: ${fixed(step.elapsedMs / 1000, 1)} s from spawn to exit, first build line after ${fixed(counter.firstAt / 1000, 1)} s`,
    );
    // Targets of issue 12: at least kubectl's throughput, in the same run; a flat memory profile.
    const ratio = plain.ms / relayMs;
    const rssMiB = step.peakRss / MiB;
    console.log(
      `action / kubectl logs -f throughput: ${fixed(ratio, 2)} (target >= 1.0: ${ratio >= 1 ? 'met' : 'MISSED'}); action peak RSS ${fixed(rssMiB, 0)} MiB (target < 100: ${rssMiB < 100 ? 'met' : 'MISSED'})`,
    );
  } finally {
    if (job) kubectl(['delete', 'job', '-n', NAMESPACE, job, '--wait=false', '--ignore-not-found']);
  }
}

await main();
