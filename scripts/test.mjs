#!/usr/bin/env node
// test.mjs: runs the test suites with node:test.
//   node scripts/test.mjs          unit, then end-to-end (starts the lab once)
//   node scripts/test.mjs unit     unit tests only (no lab, no network)
//   node scripts/test.mjs e2e      end-to-end tests on the lab
// Extra arguments after the suite name are passed to `node --test`
// (e.g. --test-name-pattern); test files among them replace the suite's glob
// (`node scripts/test.mjs e2e test/e2e/lab.test.ts` runs that file only). Globs are passed quoted, so node expands them
// itself and no file is dropped by the shell.
import { spawnSync } from 'node:child_process';

const [suite = 'all', ...rest] = process.argv.slice(2);
const suites = {
  unit: ['test/unit/**/*.test.ts'],
  e2e: [
    '--test-global-setup=test/e2e/global-setup.ts',
    '--test-concurrency=1',
    '--test-timeout=1200000',
    'test/e2e/**/*.test.ts',
  ],
};
const order = suite === 'all' ? ['unit', 'e2e'] : [suite];
for (const name of order) {
  let args = suites[name];
  if (!args) {
    console.error(`unknown suite "${suite}": use unit, e2e or all`);
    process.exit(2);
  }
  // Files given after the suite name replace the suite's own glob (one file, not the whole suite).
  if (rest.some((a) => a.endsWith('.test.ts'))) args = args.filter((a) => !a.endsWith('*.test.ts'));
  console.log(`\n=== ${name} tests ===`);
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...args, ...rest], {
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
