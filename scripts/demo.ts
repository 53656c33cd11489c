// demo.ts: `npm run demo`. Builds real Debian packages (GNU hello, then zlib)
// for amd64 and arm64 through the bundled action (dist/main) on the lab,
// exactly as a GitHub runner would run the step, and prints where the
// artifacts went. The lab must be up (`npm run demo` starts it first).
import { exampleWorkspace, labInputs, runStep } from '../lab/runner.ts';
import { labEnv } from '../lab/env.ts';

const ARCH_DIR = { amd64: 'x86_64', arm64: 'aarch64' } as const;
const builds = [
  { pkg: 'hello', arch: 'amd64' },
  { pkg: 'hello', arch: 'arm64' },
  { pkg: 'zlib', arch: 'amd64' },
  { pkg: 'zlib', arch: 'arm64' },
] as const;

const bucket = labEnv()['KBUILD_LAB_BUCKET']!;
const results: string[] = [];
let failed = 0;
for (const b of builds) {
  console.log(`\n##### kbuild-action: build ${b.pkg} for ${b.arch} #####`);
  const ws = exampleWorkspace([b.pkg]);
  const run = await runStep({
    workspace: ws,
    inputs: {
      ...labInputs(),
      image: 'debian:bookworm',
      packages: b.pkg,
      arch: b.arch,
      cpu: '2',
      memory: '2Gi',
      artifacts_path: `packages/${ARCH_DIR[b.arch]}`,
      bucket,
    },
    // The step's log as the runner would show it (workflow commands hidden).
    onStdout: (chunk) => process.stdout.write(chunk.replace(/^::(?!group|endgroup)[^\n]*\n/gm, '')),
  });
  const o = run.outputs;
  if (run.code !== 0) failed++;
  const artifacts = JSON.parse(o['artifacts'] || '[]') as {
    name: string;
    size: number;
    uri: string;
  }[];
  results.push(
    `${b.pkg} ${b.arch}: ${o['status'] ?? 'error'} on ${o['node_name'] || '?'}\n` +
      (artifacts.length
        ? artifacts.map((a) => `    ${a.uri}  (${a.size} bytes)`).join('\n') + '\n'
        : '') +
      (o['log_uri'] ? `    log: ${o['log_uri']}\n` : '') +
      (run.code !== 0 ? `    ${run.stderr.trim().split('\n').slice(-3).join('\n    ')}\n` : ''),
  );
}
console.log('\n##### Where the artifacts went #####');
console.log(results.join(''));
console.log(
  `Read them back with: source .lab/env && gcloud storage ls gs://${bucket}/kbuild-lab/demo/ (CLOUDSDK_AUTH_DISABLE_CREDENTIALS=true)`,
);
process.exitCode = failed ? 1 : 0;
