// action-build.test.ts: the bundled action builds real Debian packages (GNU
// hello and zlib) on the lab in buildpack-deps:bookworm, from a staged git
// checkout, streams the whole build output into the step log, writes outputs
// and the job summary, and stores every artifact in GCS with a SHA-256 that
// matches kbuild.json, read back with gcloud; the binaries among them are
// for the node's architecture (their ELF header). arm64 runs under emulation
// (qemu-user), so only zlib, the smaller build, is built there: the suite's
// one real Debian package build on arm64 (the demo builds both).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { exampleWorkspace, gcloud, labInputs, listTree, runStep } from './action.ts';
import { kubectl, labEnv } from './lab.ts';
import { artifactElves } from '../../lab/elf.ts';

const ARCH_DIR = { amd64: 'x86_64', arm64: 'aarch64' } as const;
const ELF_ARCH = { amd64: 'x86-64', arm64: 'aarch64' } as const;
const SOURCES = { hello: 'hello', zlib: 'zlib' } as const;
const BUILDS = { hello: ['amd64'], zlib: ['amd64', 'arm64'] } as const;

for (const pkg of ['hello', 'zlib'] as const) {
  for (const arch of BUILDS[pkg]) {
    test(`build ${pkg} for ${arch} on the ${arch} node pool, artifacts in GCS`, async () => {
      const ws = exampleWorkspace([SOURCES[pkg]]);
      const before = listTree(ws);
      const bucket = labEnv()['KBUILD_LAB_BUCKET']!;
      const run = await runStep({
        workspace: ws,
        inputs: {
          ...labInputs(),
          image: 'buildpack-deps:bookworm',
          packages: pkg,
          arch,
          cpu: '2',
          memory: '2Gi',
          artifacts_path: `packages/${ARCH_DIR[arch]}`,
          bucket,
        },
      });
      assert.equal(
        run.code,
        0,
        `step failed:\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`,
      );
      const o = run.outputs;
      assert.equal(o['status'], 'succeeded');
      assert.equal(o['exit_code'], '0');
      assert.match(o['job_name'] ?? '', new RegExp(`^kb-${pkg}-${arch}-[0-9a-f]{8}$`));
      assert.match(
        o['node_name'] ?? '',
        new RegExp(`^gke-lab-${arch}-pool-`),
        'ran on the matching node pool',
      );
      const node = JSON.parse(kubectl(['get', 'node', o['node_name']!, '-o', 'json'])) as {
        metadata: { labels: Record<string, string> };
      };
      assert.equal(node.metadata.labels['kubernetes.io/arch'], arch);

      // The step log holds the build's whole output, in order.
      const log = gcloud(['storage', 'cat', o['log_uri']!]).toString('utf8');
      const lines = log.split('\n').filter(Boolean);
      assert.ok(lines.length > 20, `build.log has ${lines.length} lines`);
      let at = 0;
      for (const line of lines) {
        const i = run.stdout.indexOf(`${line}\n`, at);
        assert.ok(i >= 0, `line missing from the step log: ${JSON.stringify(line)}`);
        at = i + line.length;
      }

      // Every artifact is in GCS, and its SHA-256 (read back with gcloud) matches kbuild.json.
      const artifacts = JSON.parse(o['artifacts']!) as {
        name: string;
        size: number;
        sha256: string;
        uri: string;
      }[];
      assert.ok(artifacts.length >= 2, `artifacts: ${o['artifacts']}`);
      const record = JSON.parse(
        gcloud(['storage', 'cat', `${o['artifacts_uri']}kbuild.json`]).toString('utf8'),
      ) as {
        status: string;
        arch: string;
        node: string;
        artifacts: { name: string; sha256: string; size: number }[];
      };
      assert.equal(record.status, 'succeeded');
      assert.equal(record.arch, arch);
      assert.equal(record.node, o['node_name']);
      assert.equal(record.artifacts.length, artifacts.length);
      const elves: string[] = [];
      for (const a of record.artifacts) {
        const bytes = gcloud(['storage', 'cat', `${o['artifacts_uri']}${a.name}`]);
        assert.equal(bytes.length, a.size, a.name);
        assert.equal(createHash('sha256').update(bytes).digest('hex'), a.sha256, a.name);
        for (const elf of await artifactElves(a.name, bytes))
          elves.push(`${elf.path}: ${elf.arch}`);
      }
      // Compiled for the node's architecture: every binary, in the tarball and beside it.
      assert.ok(elves.length >= 2, `ELF files among the artifacts: ${elves.join(', ')}`);
      for (const e of elves)
        assert.ok(e.endsWith(`: ${ELF_ARCH[arch]}`), `${e}, want ${ELF_ARCH[arch]}`);
      assert.ok(
        record.artifacts.some((a) => a.name.endsWith('.tar.gz')),
        'the package tarball is an artifact',
      );

      // Summary, cleanup, and nothing written into the workspace.
      assert.match(run.summary, /### kbuild: /);
      assert.match(run.summary, /succeeded/);
      assert.match(run.summary, /#### Artifacts/);
      assert.equal(
        kubectl([
          'get',
          'jobs',
          '-A',
          '-l',
          `kbuild.dev/build-id=${o['build_id']}`,
          '-o',
          'name',
        ]).trim(),
        '',
      );
      assert.deepEqual(
        listTree(ws).filter((f) => !f.startsWith('.git/')),
        before.filter((f) => !f.startsWith('.git/')),
      );
    });
  }
}
