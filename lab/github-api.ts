// github-api.ts: a stand-in for the one GitHub REST call the action makes, "List pull requests
// files" (GET /repos/{owner}/{repo}/pulls/{pull_number}/files, plan mode), served under
// GitHub Enterprise Server's prefix `/api/v3`, so that a runner points the action at it the way
// a GHES runner does: GITHUB_API_URL=http://127.0.0.1:PORT/api/v3. The files are not made up:
// each pull request is a base and a head commit of a real git repository on this host, and the
// answer is `git diff base...head` (what GitHub lists: the changes since the merge base), with
// GitHub's status names and pagination. Binds 127.0.0.1 on a free port; the server never keeps
// its process alive (unref), so it stops with the test that started it.
import { spawnSync } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { HttpError, listen, sendJson, type Listening, type Logger } from './google/http.ts';

/** PullRequest is one pull request of the stand-in: its number and its commits in `gitDir`. */
export interface PullRequest {
  number: number;
  /** base and head are commits (or refs) of the repository in GitHubApiOptions.gitDir. */
  base: string;
  head: string;
}

/** GitHubApiOptions: the one repository the stand-in serves, and who may read it. */
export interface GitHubApiOptions {
  /** repository is `OWNER/REPO`, as GITHUB_REPOSITORY names it. */
  repository: string;
  /** gitDir holds the repository's history. */
  gitDir: string;
  pulls: PullRequest[];
  /** token is the only token accepted (`Authorization: token T` or `Bearer T`), the job's GITHUB_TOKEN. */
  token: string;
  /** log receives one line per request (never the token). */
  log?: Logger;
}

/** GitHubApi is a started stand-in: apiUrl is what GITHUB_API_URL should say. */
export interface GitHubApi extends Listening {
  apiUrl: string;
}

/** PullRequestFile is one entry of GitHub's answer (the fields the stand-in fills). */
export interface PullRequestFile {
  sha: string;
  filename: string;
  status: 'added' | 'removed' | 'modified' | 'renamed' | 'copied' | 'changed';
  previous_filename?: string;
}

/** GIT_STATUS maps `git diff --raw` status letters to GitHub's file status names. */
const GIT_STATUS: Record<string, PullRequestFile['status']> = {
  A: 'added',
  D: 'removed',
  M: 'modified',
  R: 'renamed',
  C: 'copied',
  T: 'changed',
};

/** MAX_FILES: GitHub lists at most 3000 files of a pull request. */
const MAX_FILES = 3000;

/**
 * pullRequestFiles answers the files of `base...head` in gitDir as GitHub lists them: renames
 * detected (`previous_filename`), `sha` the blob after the change (before, for a removal).
 * Throws when git fails (an unknown commit).
 */
export function pullRequestFiles(gitDir: string, base: string, head: string): PullRequestFile[] {
  const r = spawnSync(
    'git',
    ['-C', gitDir, 'diff', '--raw', '-z', '-M', '--no-abbrev', `${base}...${head}`],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`git diff ${base}...${head}: ${r.stderr.trim()}`);
  const fields = r.stdout.split('\0');
  const files: PullRequestFile[] = [];
  for (let i = 0; i + 1 < fields.length;) {
    // `:old-mode new-mode old-sha new-sha STATUS`, then one path (two for R and C).
    const [, , oldSha, newSha, code] = (fields[i++] ?? '').split(' ');
    const status = GIT_STATUS[(code ?? '').charAt(0)] ?? 'changed';
    const first = fields[i++] ?? '';
    const sha = status === 'removed' ? (oldSha ?? '') : (newSha ?? '');
    if (status === 'renamed' || status === 'copied') {
      files.push({ sha, filename: fields[i++] ?? '', status, previous_filename: first });
    } else files.push({ sha, filename: first, status });
  }
  return files.slice(0, MAX_FILES);
}

/** requestToken reads `Authorization: token T` or `Bearer T` (GitHub accepts both). */
function requestToken(req: IncomingMessage): string | undefined {
  return /^(?:token|bearer)\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
}

/** pageParam reads a positive integer query parameter, GitHub's default when absent or invalid. */
function pageParam(url: URL, name: string, fallback: number, max: number): number {
  const n = Number(url.searchParams.get(name) ?? fallback);
  return Number.isSafeInteger(n) && n > 0 ? Math.min(n, max) : fallback;
}

/**
 * startGitHubApi serves the stand-in on 127.0.0.1 (a free port). Answers GitHub's 401
 * `Bad credentials` for a missing or wrong token, 404 `Not Found` for another repository, an
 * unknown pull request or any other route; pages with `per_page` (default 30, at most 100) and
 * `page`, and a `Link` header with rel="next" and rel="last" as GitHub's.
 */
export async function startGitHubApi(o: GitHubApiOptions): Promise<GitHubApi> {
  const route = /^\/api\/v3\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)\/files$/;
  const served = await listen(
    'github',
    0,
    async (req, res, url) => {
      if (requestToken(req) !== o.token) throw new HttpError(401, { message: 'Bad credentials' });
      const m = req.method === 'GET' ? route.exec(url.pathname) : null;
      const pull = o.pulls.find((p) => m && p.number === Number(m[3]));
      if (!m || `${m[1]}/${m[2]}`.toLowerCase() !== o.repository.toLowerCase() || !pull)
        throw new HttpError(404, { message: 'Not Found' });
      const files = pullRequestFiles(o.gitDir, pull.base, pull.head);
      const perPage = pageParam(url, 'per_page', 30, 100);
      const last = Math.max(1, Math.ceil(files.length / perPage));
      const page = pageParam(url, 'page', 1, Number.MAX_SAFE_INTEGER);
      const link = (p: number, rel: string): string => {
        const to = new URL(url.pathname, served.url);
        to.searchParams.set('per_page', String(perPage));
        to.searchParams.set('page', String(p));
        return `<${to.href}>; rel="${rel}"`;
      };
      const links = page < last ? [link(page + 1, 'next'), link(last, 'last')] : [];
      sendJson(
        res,
        200,
        files.slice((page - 1) * perPage, page * perPage),
        links.length > 0 ? { link: links.join(', ') } : {},
      );
      await Promise.resolve();
    },
    o.log ?? (() => undefined),
  );
  served.server.unref();
  return { ...served, apiUrl: `${served.url}/api/v3` };
}
