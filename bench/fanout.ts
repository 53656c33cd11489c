// fanout.ts: the dispatcher's fan-out (issue 4): 500 packages x 2 arches, 1,000 Jobs, against
// the lab, beside a naive sequential loop of the same creates in the same run.
//
//   npm run bench:fanout                              500 x 2, the default concurrency (16)
//   npm run bench:fanout -- --concurrency 8,16,32     one dispatcher run per setting
//   npm run bench:fanout -- --packages 100 --server bundle --identity admin --cold-starts 10
//   npm run bench:fanout -- --identity admin --rtt-ms 10   the API server 10 ms away (delay proxy)
//
// The dispatcher runs in a child process (bench/fanout-server.ts; `--server lab`: the source
// through lab/dispatcher.ts, `bundle`: build/dispatcher as deployed) whose peak RSS is
// VmHWM of /proc/PID/status. It is asked for the builds in requests of at most max_builds (500,
// the policy's ceiling): two POSTs one after the other, like one client. Every build names a
// Kueue queue (`queue_name`), so each Job is created suspended, as it would wait for Kueue's
// admission (the lab runs no Kueue): 1,000 running pods on 2 cores would time the pod runtime,
// not the fan-out. The baseline renders the very same Jobs with the dispatcher's own code
// (planDispatch, another run id) and creates them one at a time through the same client
// (@kubernetes/client-node, JobsApi) as the same identity. Both count from the first request to
// the last Job created: for the dispatcher, to the log line its fan-out writes when the last
// create answered (functions/dispatcher/app.ts). 429s: apiserver_request_total{code="429"}
// before and after each phase. Cold start: spawn -> the first 200 of GET /healthz (polled every
// 5 ms), `--cold-starts` times for each form. Before timing, the dispatcher is warmed up (keys of
// the issuer, cluster connection) as the baseline's client is. The namespace is deleted at the end.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { V1Job } from '@kubernetes/client-node';
import { configFromEnv, connectJobs } from '../functions/dispatcher/config.ts';
import { LAB_POLICY } from '../lab/dispatcher.ts';
import { planDispatch } from '../functions/dispatcher/plan.ts';
import { MAX_BUILDS_LIMIT } from '../functions/dispatcher/policy.ts';
import { parseDispatchRequest, type DispatchBody } from '../src/core/dispatch/request.ts';
import { TokenVerifier } from '../functions/dispatcher/tokens.ts';
import { labEnv, ROOT } from '../lab/env.ts';
import { startDelayProxy } from './delay-proxy.ts';
import * as lab from './fanout-lab.ts';
import { fixed, machineNote, MiB, quantile, table } from './lib.ts';

const NS = 'kbuild-bench-fanout';
const ARCHS = ['amd64', 'arm64'];
type Form = lab.ServerForm;

/** bodies splits packages x ARCHS into requests of at most MAX_BUILDS_LIMIT builds. */
function bodies(packages: number): DispatchBody[] {
  const names = Array.from({ length: packages }, (_, i) => `pkg-${String(i).padStart(4, '0')}`);
  const per = Math.floor(MAX_BUILDS_LIMIT / ARCHS.length);
  const out: DispatchBody[] = [];
  for (let i = 0; i < names.length; i += per) {
    out.push({
      packages: names.slice(i, i + per),
      archs: ARCHS,
      image: 'debian:bookworm',
      command: 'true',
      package_target: '',
      cpu: '100m',
      memory: '64Mi',
      ref: 'refs/heads/main',
      sha: 'f'.repeat(40),
      queue_name: 'kbuild-bench',
    });
  }
  return out;
}

const runId = () => String(100_000 + Math.floor(Math.random() * 1e9));

/** Phase: the figures of one way of creating the Jobs. */
interface Phase {
  name: string;
  jobs: number;
  /** createdMs: from the first request to the last Job created. */
  createdMs: number;
  /** answeredMs: to the last answer (the dispatcher lists and reconciles after creating). */
  answeredMs?: number;
  retriedJobs: number;
  retries: number;
  failed: number;
  api: lab.RequestCounts;
  peakRssMiB?: number;
  /** rssAtStartMiB: the dispatcher's VmHWM when it first answered, before any dispatch. */
  rssAtStartMiB?: number;
  coldStartMs?: number;
  /** cpu: CPU seconds of each process (lab components, dispatcher, this one) over `cpuWallMs`. */
  cpu: Map<string, number>;
  cpuWallMs: number;
}

/** dispatcherPhase starts a dispatcher, POSTs every request and reads its fan-out log lines. */
async function dispatcherPhase(
  form: Form,
  env: Record<string, string>,
  concurrency: number,
): Promise<Phase> {
  const server = await lab.startServer(form, { ...env, KBUILD_CONCURRENCY: String(concurrency) });
  try {
    const token = await lab.mintToken(server.url, { run_id: runId() });
    const requests = bodies(packages);
    // Warm up as the baseline's client is: the issuer's keys fetched, the cluster connected (a
    // GET of a dispatch that does not exist does both and answers 404).
    const warm = await fetch(`${server.url}/v1/dispatches/${'0'.repeat(32)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await warm.arrayBuffer();
    if (warm.status !== 404) throw new Error(`warm-up GET answered ${warm.status}`);
    const before = lab.requestCounts();
    const meter = new lab.CpuMeter(
      new Map([...lab.labPids(), ['dispatcher', server.pid], ['bench', process.pid]]),
    );
    const t0 = performance.now();
    for (const body of requests) {
      const res = await fetch(`${server.url}/v1/dispatches`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = (await res.json()) as { created?: number; reason?: string };
      if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${answer.reason}`);
    }
    const answeredMs = performance.now() - t0;
    const cpu = meter.used();
    for (let i = 0; server.log.fanouts.length < requests.length && i < 200; i++)
      await new Promise((r) => setTimeout(r, 10));
    const lines = server.log.fanouts;
    if (lines.length !== requests.length)
      throw new Error(
        `${lines.length} fan-out log lines ("created N of M Jobs in ...") for ${requests.length} requests (an older build/dispatcher? run \`npm run build\`); its last lines:\n${server.log.tail.join('\n')}`,
      );
    const api = lab.minus(lab.requestCounts(), before);
    return {
      name: `dispatcher (${form}), concurrency ${concurrency}`,
      jobs: lines.reduce((s, l) => s + l.created, 0),
      createdMs: Math.max(...lines.map((l) => l.at)) - t0,
      answeredMs,
      retriedJobs: server.log.retriedJobs.size,
      retries: lines.reduce((s, l) => s + l.retries, 0),
      failed: lines.reduce((s, l) => s + l.failed, 0),
      api,
      peakRssMiB: server.rss.stop() / MiB,
      rssAtStartMiB: server.rssAtStartMiB,
      coldStartMs: server.coldStartMs,
      cpu,
      cpuWallMs: answeredMs,
    };
  } finally {
    await server.stop();
  }
}

/** sequentialPhase creates the same Jobs one at a time, awaiting each answer; no retries. */
async function sequentialPhase(env: Record<string, string>, jobs: V1Job[]): Promise<Phase> {
  const api = await connectJobs(configFromEnv({ ...env, KBUILD_AUDIENCE: 'http://127.0.0.1' }));
  const before = lab.requestCounts();
  const meter = new lab.CpuMeter(new Map([...lab.labPids(), ['bench', process.pid]]));
  const t0 = performance.now();
  let failed = 0;
  let firstError = '';
  for (const job of jobs) {
    try {
      await api.createJob(NS, job);
    } catch (err) {
      failed++;
      firstError ||= (err as Error).message;
    }
  }
  const createdMs = performance.now() - t0;
  const cpu = meter.used();
  if (firstError) console.log(`sequential loop: ${failed} creates failed, first: ${firstError}`);
  return {
    name: 'sequential loop (one create at a time)',
    jobs: jobs.length - failed,
    createdMs,
    retriedJobs: 0,
    retries: 0,
    failed,
    api: lab.minus(lab.requestCounts(), before),
    cpu,
    cpuWallMs: createdMs,
  };
}

/** sameJobs renders the Jobs the dispatcher creates for these requests, for another run. */
async function sameJobs(): Promise<V1Job[]> {
  const issuer = labEnv()['KBUILD_LAB_OIDC_ISSUER'] ?? '';
  const audience = 'http://127.0.0.1/bench-fanout';
  const claims = await new TokenVerifier({ issuer, audience }).verify(
    await lab.mintToken(audience, { run_id: runId() }),
  );
  return bodies(packages).flatMap((b) =>
    planDispatch(parseDispatchRequest(b), claims, {
      namespace: NS,
      serverUrl: 'https://github.com',
    }).builds.map((p) => p.job),
  );
}

const { values } = parseArgs({
  options: {
    packages: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '16' },
    server: { type: 'string', default: 'lab' },
    identity: { type: 'string', default: 'gke' },
    'cold-starts': { type: 'string', default: '5' },
    'rtt-ms': { type: 'string', default: '0' },
  },
});
const packages = Number(values.packages);
const concurrencies = values.concurrency.split(',').map(Number);
const form = values.server as Form;
const identity = values.identity as lab.Identity;
const rttMs = Number(values['rtt-ms']);
if (!['lab', 'bundle'].includes(form) || !['gke', 'admin'].includes(identity))
  throw new Error('use --server lab|bundle and --identity gke|admin');
if (!(rttMs >= 0) || (rttMs > 0 && identity !== 'admin'))
  throw new Error('--rtt-ms N (milliseconds >= 0) goes with --identity admin');
if (!existsSync(resolve(ROOT, 'build/dispatcher/index.js')))
  throw new Error('dist/dispatcher is missing: run `npm run build`');

async function main(): Promise<void> {
  console.log(machineNote());
  const total = packages * ARCHS.length;
  // --rtt-ms: the API server behind a proxy that delays each direction by half the round trip,
  // as a remote control plane is (the lab's is on this machine, 0 ms away).
  const api = new URL(labEnv()['KBUILD_LAB_API_SERVER'] ?? '');
  const proxy =
    rttMs > 0
      ? await startDelayProxy({ host: api.hostname, port: Number(api.port) }, rttMs / 2)
      : undefined;
  if (proxy) console.log(`network model: ${rttMs} ms round trip to the API server (delay proxy)`);
  const creds = lab.credentialsFor(identity, proxy && `https://127.0.0.1:${proxy.port}`);
  // The baseline's client reads Application Default Credentials from this process's environment.
  Object.assign(process.env, creds.env);
  const lab0 = labEnv();
  const env: Record<string, string> = {
    ...lab0,
    ...creds.env,
    KBUILD_BENCH_GKE: identity === 'gke' ? '1' : '0',
    KBUILD_NAMESPACE: NS,
    KBUILD_OIDC_ISSUER: lab0['KBUILD_LAB_OIDC_ISSUER'] ?? '',
    KBUILD_POLICY: JSON.stringify({ ...LAB_POLICY, max_builds: MAX_BUILDS_LIMIT }),
  };
  const cold: Record<Form, number[]> = { lab: [], bundle: [] };
  const phases: Phase[] = [];
  try {
    for (let i = 0; i < Number(values['cold-starts']); i++) {
      for (const f of ['lab', 'bundle'] as const) {
        const s = await lab.startServer(f, env);
        cold[f].push(s.coldStartMs);
        await s.stop();
      }
    }
    await lab.emptyNamespace(NS);
    // The baseline first, into the fresh namespace: the clean-up of an earlier phase (1,000 Jobs
    // deleted) keeps the API server and the controller manager busy for a while, and that
    // handicap goes to the dispatcher's runs, not to the loop it is compared with.
    const loop = await sequentialPhase(env, await sameJobs());
    check(loop, total);
    await lab.deleteJobs(NS);
    for (const c of concurrencies) {
      phases.push(await dispatcherPhase(form, env, c));
      check(phases.at(-1)!, total);
      await lab.deleteJobs(NS);
    }
    // Reported last: the dispatcher's runs first, then the loop they are compared with.
    phases.push(loop);
  } finally {
    await lab.deleteNamespace(NS);
    creds.remove();
    await proxy?.close();
  }
  report(phases, cold, total);
}

/** check compares the Jobs in the namespace with what the phase says it created. */
function check(p: Phase, total: number): void {
  const n = lab.jobCount(NS);
  if (n !== p.jobs) throw new Error(`${p.name}: ${n} Jobs in ${NS}, ${p.jobs} reported created`);
  if (p.jobs + p.failed !== total)
    throw new Error(`${p.name}: ${p.jobs} created + ${p.failed} failed != ${total}`);
}

function report(phases: Phase[], cold: Record<Form, number[]>, total: number): void {
  const seq = phases.at(-1)!;
  console.log(
    `\nfan-out: ${total} Jobs (${packages} packages x ${ARCHS.length} arches, requests of at most ${MAX_BUILDS_LIMIT} builds), created suspended (queue_name, no pods), identity ${identity}:`,
  );
  console.log(
    table(
      [
        'who',
        'Jobs',
        'until all created s',
        'Jobs/s',
        'last answer s',
        'speed-up',
        'create calls',
        'retried Jobs (retries)',
        'failed',
        '429s',
        'peak RSS MiB (at start)',
        'cold start ms',
      ],
      phases.map((p) => [
        p.name,
        String(p.jobs),
        fixed(p.createdMs / 1000, 2),
        fixed(p.jobs / (p.createdMs / 1000), 0),
        p.answeredMs === undefined ? '' : fixed(p.answeredMs / 1000, 2),
        fixed(seq.createdMs / p.createdMs, 2),
        String(p.api.jobCreates),
        `${p.retriedJobs} (${p.retries})`,
        String(p.failed),
        String(p.api.tooMany),
        p.peakRssMiB === undefined
          ? ''
          : `${fixed(p.peakRssMiB, 0)} (${fixed(p.rssAtStartMiB ?? NaN, 0)})`,
        p.coldStartMs === undefined ? '' : fixed(p.coldStartMs, 0),
      ]),
    ),
  );
  const names = [...new Set(phases.flatMap((p) => [...p.cpu.keys()]))];
  console.log('\nCPU seconds used by each process, from the first request to the last answer:');
  console.log(
    table(
      ['who', 'wall s', ...names, 'all', 'cores busy'],
      phases.map((p) => {
        const all = [...p.cpu.values()].reduce((a, b) => a + b, 0);
        return [
          p.name,
          fixed(p.cpuWallMs / 1000, 1),
          ...names.map((n) => fixed(p.cpu.get(n) ?? NaN, 1)),
          fixed(all, 1),
          fixed(all / (p.cpuWallMs / 1000), 2),
        ];
      }),
    ),
  );
  const row = (name: string, v: number[]) => [
    name,
    String(v.length),
    fixed(quantile(v, 0.5), 0),
    fixed(quantile(v, 0.9), 0),
    fixed(Math.min(...v), 0),
    fixed(Math.max(...v), 0),
  ];
  console.log('\ncold start: spawn -> first 200 of GET /healthz (ms):');
  console.log(
    table(
      ['form', 'runs', 'median', 'p90', 'min', 'max'],
      [
        row('lab (lab/dispatcher.ts, source)', cold.lab),
        row('bundle (dist/dispatcher, Functions Framework)', cold.bundle),
      ],
    ),
  );
  const first = phases[0]!;
  const speedUp = seq.createdMs / first.createdMs;
  const coldBundle = quantile(cold.bundle, 0.5);
  // Whatever the concurrency, the sequential loop's CPU work cannot take less than its CPU
  // seconds spread over every core of the machine (which the lab and the client share).
  const seqCpu = [...seq.cpu.values()].reduce((a, b) => a + b, 0);
  const cores = availableParallelism();
  console.log(
    `\nCPU bound: the sequential loop's ${fixed(seqCpu, 1)} CPU s over ${cores} cores take at least ${fixed(seqCpu / cores, 1)} s: the same work done in parallel is at most ${fixed(seq.createdMs / 1000 / (seqCpu / cores), 2)}x faster on this machine`,
  );
  const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
  console.log(`\ntargets (dispatcher at concurrency ${concurrencies[0]}):`);
  console.log(`- at least 5x faster than sequential: ${fixed(speedUp, 2)}x, ${met(speedUp >= 5)}`);
  console.log(`- no failed creation: ${first.failed} failed, ${met(first.failed === 0)}`);
  console.log(
    `- cold start under 1 s (bundle, median): ${fixed(coldBundle, 0)} ms, ${met(coldBundle < 1000)}`,
  );
}

await main();
