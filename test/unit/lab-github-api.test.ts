// lab-github-api.test.ts: the lab's GitHub API stand-in (lab/github-api.ts) answers "List pull
// requests files" from a real git history, and @actions/github's Octokit (the client plan mode
// uses) pages through it, as against GitHub Enterprise Server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as github from '@actions/github';
import { pullRequestFiles, startGitHubApi, type GitHubApi } from '../../lab/github-api.ts';

let repo: string;
let api: GitHubApi;

/** git runs git in the test repository; throws on failure. */
function git(...args: string[]): void {
  const r = spawnSync(
    'git',
    ['-C', repo, '-c', 'user.email=t@kbuild.invalid', '-c', 'user.name=t', ...args],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

before(async () => {
  repo = mkdtempSync(join(tmpdir(), 'kbuild-gh-api-'));
  git('init', '-q', '-b', 'main');
  mkdirSync(join(repo, 'packages'));
  for (const f of ['a', 'b', 'c'])
    writeFileSync(join(repo, 'packages', `${f}.yaml`), `package:\n  name: ${f}\n`);
  git('add', '-A');
  git('commit', '-qm', 'base');
  git('checkout', '-qb', 'pr');
  git('mv', 'packages/a.yaml', 'packages/z.yaml');
  writeFileSync(join(repo, 'packages/b.yaml'), 'package:\n  name: b\n  version: "2"\n');
  git('rm', '-q', 'packages/c.yaml');
  for (let i = 0; i < 120; i++) writeFileSync(join(repo, `n${i}.txt`), `${i}\n`);
  git('add', '-A');
  git('commit', '-qm', 'head');
  api = await startGitHubApi({
    repository: 'Owner/Repo',
    gitDir: repo,
    pulls: [{ number: 5, base: 'main', head: 'pr' }],
    token: 'ghs_test',
  });
});
after(async () => {
  await api?.close();
  rmSync(repo, { recursive: true, force: true });
});

test('pullRequestFiles lists base...head with GitHub status names and renames', () => {
  const files = pullRequestFiles(repo, 'main', 'pr').filter((f) => f.filename.startsWith('pack'));
  assert.deepEqual(
    files.map(({ filename, status, previous_filename }) => ({
      filename,
      status,
      ...(previous_filename ? { previous_filename } : {}),
    })),
    [
      { filename: 'packages/b.yaml', status: 'modified' },
      { filename: 'packages/c.yaml', status: 'removed' },
      { filename: 'packages/z.yaml', status: 'renamed', previous_filename: 'packages/a.yaml' },
    ],
  );
  for (const f of files) assert.match(f.sha, /^[0-9a-f]{40}$/);
  assert.throws(() => pullRequestFiles(repo, 'main', 'nosuch'), /git diff main\.\.\.nosuch/);
});

test('Octokit pages through the stand-in at GITHUB_API_URL', async () => {
  const octokit = github.getOctokit('ghs_test', { baseUrl: api.apiUrl });
  const files = await octokit.paginate(octokit.rest.pulls.listFiles, {
    owner: 'owner',
    repo: 'repo',
    pull_number: 5,
    per_page: 100,
  });
  assert.equal(files.length, 123);
  assert.equal(new Set(files.map((f) => f.filename)).size, 123);
});

test('the stand-in refuses as GitHub does', async (t) => {
  const cases: { name: string; token: string; pull: number; repo: string; want: RegExp }[] = [
    { name: 'wrong token', token: 'ghs_other', pull: 5, repo: 'repo', want: /Bad credentials/ },
    { name: 'unknown pull request', token: 'ghs_test', pull: 6, repo: 'repo', want: /Not Found/ },
    { name: 'other repository', token: 'ghs_test', pull: 5, repo: 'other', want: /Not Found/ },
  ];
  for (const c of cases)
    await t.test(c.name, async () => {
      const octokit = github.getOctokit(c.token, { baseUrl: api.apiUrl });
      await assert.rejects(
        octokit.rest.pulls.listFiles({ owner: 'owner', repo: c.repo, pull_number: c.pull }),
        c.want,
      );
    });
});
