// global-setup.ts: node:test's global setup for the end-to-end suite
// (`--test-global-setup`). Starts the lab once per test run unless it is
// already up, and stops it afterwards only if this run started it
// (KBUILD_LAB_KEEP=1 keeps it running for the next run).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';

const MARKER = '.lab/started-by-tests';

function lab(cmd: string, quiet = false): number {
  const r = spawnSync('bash', ['lab/scripts/lab.sh', cmd], { stdio: quiet ? 'ignore' : 'inherit' });
  return r.status ?? 1;
}

export async function globalSetup(): Promise<void> {
  if (lab('status', true) === 0) return;
  if (lab('up') !== 0) throw new Error('the lab did not start: see .lab/logs/');
  writeFileSync(MARKER, `${process.pid}\n`);
}

export async function globalTeardown(): Promise<void> {
  if (!existsSync(MARKER) || process.env['KBUILD_LAB_KEEP']) return;
  lab('down');
  rmSync(MARKER, { force: true });
}
