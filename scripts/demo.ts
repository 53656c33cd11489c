// demo.ts: `npm run demo`. Builds real Debian packages (GNU hello, then zlib)
// for amd64 and arm64 through the bundled action (dist/main) on the lab,
// exactly as a GitHub runner would run the step, in the image
// buildpack-deps:bookworm (arm64 pods run arm64 code through qemu-user), and
// prints where the artifacts went and the architecture of each binary in
// them, read from its ELF header. The lab must be up (`npm run demo` starts
// it first).
import { exampleWorkspace, gcloud, labInputs, runStep } from '../lab/runner.ts';
import { labEnv } from '../lab/env.ts';
import { artifactElves } from '../lab/elf.ts';

const ARCH_DIR = { amd64: 'x86_64', arm64: 'aarch64' } as const;
/** ELF_ARCH is what an ELF header says for each node architecture. */
const ELF_ARCH = { amd64: 'x86-64', arm64: 'aarch64' } as const;
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
      image: 'buildpack-deps:bookworm',
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
  // The architecture of every binary uploaded, from its ELF header.
  const lines: string[] = [];
  let binaries = 0;
  for (const a of artifacts) {
    lines.push(`    ${a.uri}  (${a.size} bytes)`);
    for (const elf of await artifactElves(a.name, gcloud(['storage', 'cat', a.uri]))) {
      binaries++;
      const ok = elf.arch === ELF_ARCH[b.arch];
      if (!ok) failed++;
      lines.push(`      ${elf.path}: ELF ${elf.arch}${ok ? '' : `  <- NOT ${ELF_ARCH[b.arch]}`}`);
    }
  }
  if (run.code === 0 && binaries === 0) {
    failed++;
    lines.push(`    no ELF binary among the artifacts: the architecture cannot be shown`);
  }
  results.push(
    `${b.pkg} ${b.arch}: ${o['status'] ?? 'error'} on ${o['node_name'] || '?'}\n` +
      (lines.length ? lines.join('\n') + '\n' : '') +
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
