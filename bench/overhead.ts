// overhead.ts: how long the action takes from process start to a created Job.
//
//   npm run bench:overhead              10 runs
//   npm run bench:overhead -- --runs 20
//
// Each run spawns the bundled action (dist/main, through the lab's runner
// stand-in) with the lab's inputs (Workload Identity Federation: OIDC token,
// STS, IAM Credentials, then the GKE lookup), `watch: false` and `context: ''`
// (with `watch: false` nothing would stream a context in), and times
// spawn -> the step's `Created Job` line, which the action prints right
// after the API server answered the create. That covers Node's start, loading
// the bundle, input validation, the token exchange, the cluster lookup and
// the create calls (Secret, Job). The Jobs are deleted afterwards.
import { parseArgs } from 'node:util';
import { labInputs, runStep } from '../lab/runner.ts';
import { kubectl } from '../lab/env.ts';
import { fixed, machineNote, quantile, table } from './lib.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
  const runs = Number(values.runs);
  console.log(machineNote());
  const created: number[] = [];
  const exited: number[] = [];
  const jobs: string[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      let createdAt: number | undefined;
      const run = await runStep({
        inputs: {
          ...labInputs(),
          image: 'debian:bookworm',
          name: 'bench-overhead',
          command: 'true',
          package_target: '',
          context: '',
          watch: 'false',
        },
        onStdout: (c) => {
          if (createdAt === undefined && /^Created Job /m.test(c))
            createdAt = performance.now() - t;
        },
      });
      if (run.outputs['job_name']) jobs.push(run.outputs['job_name']);
      if (run.code !== 0 || createdAt === undefined) {
        throw new Error(
          `run ${i + 1} failed (exit ${run.code}): ${run.stdout.slice(-1500)}${run.stderr.slice(-1500)}`,
        );
      }
      created.push(createdAt);
      exited.push(performance.now() - t);
    }
  } finally {
    if (jobs.length) kubectl(['delete', 'job', ...jobs, '--wait=false', '--ignore-not-found']);
  }
  const row = (name: string, v: number[]) => [
    name,
    fixed(quantile(v, 0.5), 0),
    fixed(quantile(v, 0.9), 0),
    fixed(Math.min(...v), 0),
    fixed(Math.max(...v), 0),
  ];
  console.log(`overhead, ${runs} runs of the action with watch: false (ms from spawn):`);
  console.log(
    table(
      ['until', 'median', 'p90', 'min', 'max'],
      [row('`Created Job` printed', created), row('process exit', exited)],
    ),
  );
  console.log(
    `process start -> Job created: median ${fixed(quantile(created, 0.5), 0)} ms, p90 ${fixed(quantile(created, 0.9), 0)} ms (target < 1500 ms)`,
  );
}

await main();
