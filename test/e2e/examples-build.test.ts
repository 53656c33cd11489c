// examples-build.test.ts: every workflow the project shows (README.md's
// minimal workflow and examples/workflows/*.yml) names an image that holds
// every tool its command uses: for each image they name, the bundled action
// builds, in that image on the lab, every package those workflows build there,
// with the workflows' command (the default, `make package/<name>`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { exampleWorkspace, labInputs, runStep } from './action.ts';
import { labEnv, ROOT } from './lab.ts';

/** SOURCES maps each example package to its Debian source package. */
const SOURCES: Record<string, string> = {
  hello: 'hello',
  zlib: 'zlib',
  brotli: 'brotli',
  libpng: 'libpng1.6',
};
const ALL = readdirSync(join(ROOT, 'examples', 'packages'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''));

interface Step {
  uses?: string;
  with?: Record<string, string>;
}
interface Job {
  strategy?: { matrix?: Record<string, unknown> };
  steps?: Step[];
}

/**
 * buildsOf answers, for a workflow document, the image of each kbuild-action
 * step that builds, with the packages it builds there: literal packages, the
 * matrix's `package` list, or (computed at run time: a plan's matrix, a step's output) every
 * example package.
 */
function buildsOf(doc: { jobs?: Record<string, Job> }, where: string): [string, string[]][] {
  const out: [string, string[]][] = [];
  for (const job of Object.values(doc.jobs ?? {})) {
    for (const step of job.steps ?? []) {
      const w = step.with ?? {};
      if (!step.uses?.includes('kbuild-action') || !w['image']) continue;
      assert.ok(!w['command'], `${where}: the test runs the default command only`);
      const spec = String(w['packages'] ?? '');
      let packages: string[];
      const matrix = job.strategy?.matrix;
      if (/\$\{\{\s*matrix\.package\s*\}\}/.test(spec) && Array.isArray(matrix?.['package'])) {
        packages = matrix['package'] as string[];
      } else if (spec.includes('${{')) {
        // Computed at run time (a plan's matrix, a list of changed packages): any of them.
        packages = ALL;
      } else {
        packages = spec.split(/[\s,]+/).filter(Boolean);
      }
      assert.ok(packages.length > 0, `${where}: no packages`);
      out.push([w['image'], packages]);
    }
  }
  return out;
}

const byImage = new Map<string, Set<string>>();
const add = (builds: [string, string[]][]) => {
  for (const [image, pkgs] of builds) {
    const set = byImage.get(image) ?? new Set<string>();
    for (const p of pkgs) set.add(p);
    byImage.set(image, set);
  }
};
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const minimal = /## Minimal workflow[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme);
assert.ok(minimal, 'README.md has a "Minimal workflow" yaml block');
add(buildsOf(parse(minimal[1]!) as { jobs?: Record<string, Job> }, 'README.md'));
const workflows = join(ROOT, 'examples', 'workflows');
for (const f of readdirSync(workflows).filter((n) => n.endsWith('.yml'))) {
  add(
    buildsOf(parse(readFileSync(join(workflows, f), 'utf8')) as { jobs?: Record<string, Job> }, f),
  );
}

test('the README and example workflows name at least one build image', () => {
  assert.ok(byImage.size > 0);
});

for (const [image, set] of byImage) {
  const packages = ALL.filter((p) => set.has(p)); // dependencies first, as the Makefile lists them
  test(`${image} builds ${packages.join(', ')} with the workflows' command (make package/NAME)`, async (t) => {
    const ws = exampleWorkspace(packages.map((p) => SOURCES[p] ?? p));
    t.after(() => rmSync(ws, { recursive: true, force: true }));
    const run = await runStep({
      workspace: ws,
      inputs: {
        ...labInputs(),
        image,
        packages: packages.join(' '),
        name: 'examples',
        arch: 'amd64',
        cpu: '2',
        memory: '2Gi',
        artifacts_path: 'packages/x86_64',
        bucket: labEnv()['KBUILD_LAB_BUCKET']!,
      },
    });
    assert.equal(
      run.code,
      0,
      `step failed:\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`,
    );
    assert.equal(run.outputs['status'], 'succeeded');
    const names = (JSON.parse(run.outputs['artifacts'] ?? '[]') as { name: string }[]).map(
      (a) => a.name,
    );
    for (const p of packages) {
      assert.ok(
        names.some((n) => n.startsWith(`${p}-`) && n.endsWith('.tar.gz')),
        `${p}'s tarball among ${names.join(', ')}`,
      );
    }
  });
}
