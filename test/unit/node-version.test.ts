// node-version.test.ts: on a Node older than 24 the action's main and post steps stop with one
// `::error::` line naming the Node found, before any of the bundle is loaded (issue 11, item 3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { NODE_MAJOR, nodeVersionError } from '../../src/action/node-version.ts';

test('nodeVersionError: older majors are refused with the version and path found', () => {
  const cases = [
    {
      name: 'Node 20',
      version: '20.19.2',
      want: /needs Node 24 or newer; this runner's node is v20\.19\.2 \(\/usr\/bin\/node\)/,
    },
    { name: 'Node 23', version: '23.11.0', want: /this runner's node is v23\.11\.0/ },
    { name: 'Node 16', version: '16.20.2', want: /this runner's node is v16\.20\.2/ },
    { name: 'Node 24', version: '24.0.0', want: undefined },
    { name: 'Node 25', version: '25.1.0', want: undefined },
  ];
  for (const c of cases) {
    const got = nodeVersionError(c.version, '/usr/bin/node');
    if (c.want) assert.match(got ?? '', c.want, c.name);
    else assert.equal(got, undefined, c.name);
  }
  assert.equal(NODE_MAJOR, 24);
});

/** OLD_NODE: the system's Node (Debian's nodejs), when it is older than 24. */
const OLD_NODE = '/usr/bin/node';
function oldNodeVersion(): string | undefined {
  if (!existsSync(OLD_NODE)) return undefined;
  const v = spawnSync(OLD_NODE, ['-p', 'process.versions.node'], {
    encoding: 'utf8',
  }).stdout.trim();
  return Number(v.split('.')[0]) < NODE_MAJOR ? v : undefined;
}
const oldVersion = oldNodeVersion();

test(
  'the entries, bundled, fail with one ::error:: line on an older Node',
  { skip: oldVersion ? false : `no Node older than ${NODE_MAJOR} at ${OLD_NODE}` },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kbuild-node-version-'));
    try {
      // The step's own code stands in as a module that would crash, as the real bundle does on
      // Node 20: the entry must never load it.
      await build({
        entryPoints: {
          main: resolve(import.meta.dirname, '../../src/action/entry-main.ts'),
          post: resolve(import.meta.dirname, '../../src/action/entry-post.ts'),
        },
        bundle: true,
        splitting: true,
        format: 'esm',
        platform: 'node',
        outdir: dir,
        logLevel: 'error',
        plugins: [
          {
            name: 'crashing-step',
            setup(b) {
              b.onResolve({ filter: /^\.\/(main|post)\.ts$/ }, (a) => ({
                path: a.path,
                namespace: 'step',
              }));
              b.onLoad({ filter: /.*/, namespace: 'step' }, () => ({
                contents: 'undefined.bind(); export const main = 0, post = 0;',
                loader: 'js',
              }));
            },
          },
        ],
      });
      writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
      for (const entry of ['main.js', 'post.js']) {
        const r = spawnSync(OLD_NODE, [join(dir, entry)], { encoding: 'utf8' });
        assert.equal(r.status, 1, `${entry}: exit code`);
        assert.equal(
          r.stdout,
          `::error::${nodeVersionError(oldVersion!, OLD_NODE)}\n`,
          `${entry}: one error line`,
        );
        assert.equal(r.stderr, '', `${entry}: nothing else (no stack trace)`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
