// cli-context.test.ts: the workflow run the CLI makes up outside GitHub Actions (src/cli/context.ts):
// owner and repository come from the `origin` remote when it names a GitHub repository, and never
// from the `.` of a local path (`git clone .` records `/path/to/repo/.`), which would make the
// destination's `{repo}` segment a `.`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliContext } from '../../src/cli/context.ts';

function repoWithOrigin(origin: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kbuild-cli-ctx-'));
  const git = (...args: string[]) => spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8' });
  git('init', '-q');
  git('remote', 'add', 'origin', origin);
  return dir;
}

test('cliContext: a GitHub remote names owner and repository; a local path does not', (t) => {
  const cwd = process.cwd();
  t.after(() => process.chdir(cwd));
  const cases: [string, string][] = [
    ['git@github.com:acme/packages.git', 'acme/packages'],
    ['https://github.com/acme/packages', 'acme/packages'],
    ['/work/main/.', 'local/'],
    ['../..', 'local/'],
  ];
  for (const [origin, want] of cases) {
    const dir = repoWithOrigin(origin);
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    process.chdir(dir);
    const ctx = cliContext({}, 1_700_000_000_000);
    assert.ok(ctx.repository.startsWith(want), `${origin}: ${ctx.repository}`);
    assert.doesNotMatch(ctx.repo, /^\.+$/, origin);
  }
});
