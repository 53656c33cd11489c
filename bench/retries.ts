// retries.ts: what retrying costs a build when the API server refuses 10 % of plain calls.
//
//   npm run bench:retries              5 pairs
//   npm run bench:retries -- --pairs 8
//
// Each pair runs the same small build twice through the action (from its sources, as the e2e
// tests do) in front of the lab's API server behind the fault front (lab/faults/front.ts): once
// with no faults, once with 10 % of plain requests answered 429 (Retry-After: 1) or 503, in
// alternating order so that a slower lab does not favour one side. It prints the step's wall time
// (process start to exit) of each side, the retries the step logged and the refusals the front
// counted. The Jobs are deleted afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runStep } from '../lab/runner.ts';
import { kubectl } from '../lab/env.ts';
import { kubeconfigVia, startLabFront } from '../lab/faults/lab.ts';
import { fixed, machineNote, quantile, table } from './lib.ts';

const BUILD =
  'sh -c \'mkdir -p packages; for i in $(seq 1 300); do echo "build line $i"; done; ' +
  "head -c 300000 /dev/urandom > packages/a.bin'";

interface Sample {
  seconds: number;
  retries: number;
  refused: number;
}

/** once runs the build once behind a front refusing `share` of plain calls. */
async function once(share: number, seed: number, dir: string): Promise<Sample> {
  const front = await startLabFront(
    seed,
    share ? { refuseShare: share, retryAfterSeconds: 1 } : {},
  );
  const kubeconfig = kubeconfigVia(front.url, mkdtempSync(join(dir, 'kc-')));
  const t = performance.now();
  try {
    const run = await runStep({
      fromSources: true,
      inputs: {
        kubeconfig,
        namespace: 'default',
        image: 'debian:bookworm',
        name: `bench-retries-${seed}`,
        command: BUILD,
        package_target: '',
      },
    });
    const seconds = (performance.now() - t) / 1000;
    if (run.code !== 0) throw new Error(`build failed:\n${run.stdout.slice(-3000)}`);
    const retries = run.stdout
      .split('\n')
      .filter((l) => /; retrying in [\d.]+ s \(attempt/.test(l)).length;
    const refused = Object.values(front.stats().refused).reduce((a, b) => a + b, 0);
    const job = run.outputs['job_name'];
    if (job) kubectl(['delete', 'job', '-n', 'default', job, '--wait=false', '--ignore-not-found']);
    return { seconds, retries, refused };
  } finally {
    await front.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { pairs: { type: 'string', default: '5' } } });
  const pairs = Number(values.pairs);
  console.log(machineNote());
  const dir = mkdtempSync(join(tmpdir(), 'kbuild-bench-retries-'));
  const none: Sample[] = [];
  const some: Sample[] = [];
  try {
    for (let i = 0; i < pairs; i++) {
      const order = i % 2 === 0 ? [0, 0.1] : [0.1, 0];
      for (const share of order) {
        const s = await once(share, 5000 + i, dir);
        (share ? some : none).push(s);
        console.log(
          `pair ${i + 1}: ${share ? '10 %' : ' 0 %'} refused: ${fixed(s.seconds)} s, ${s.refused} refusals, ${s.retries} retries`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const row = (name: string, xs: Sample[]) => [
    name,
    fixed(
      quantile(
        xs.map((x) => x.seconds),
        0.5,
      ),
    ),
    fixed(xs.reduce((a, x) => a + x.seconds, 0) / xs.length),
    fixed(Math.max(...xs.map((x) => x.seconds))),
    fixed(xs.reduce((a, x) => a + x.refused, 0) / xs.length),
    fixed(xs.reduce((a, x) => a + x.retries, 0) / xs.length),
  ];
  console.log(
    table(
      ['plain calls refused', 'median s', 'mean s', 'max s', 'refusals/build', 'retries/build'],
      [row('none', none), row('10 % (429 Retry-After 1 / 503)', some)],
    ),
  );
  const m0 = quantile(
    none.map((x) => x.seconds),
    0.5,
  );
  const m1 = quantile(
    some.map((x) => x.seconds),
    0.5,
  );
  console.log(
    `overhead of retries (median): ${fixed(m1 - m0)} s (${fixed(((m1 - m0) / m0) * 100)} %)`,
  );
}

await main();
