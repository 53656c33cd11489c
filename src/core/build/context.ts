/**
 * context.ts: the source a build starts from (docs/design.md, "One build", step 5). The
 * files of the `context` directory — only the tracked ones when it is inside a
 * git checkout — are packed into a tar stream that is extracted into the pod's
 * /workspace by exec into the waiting `stage` init container. The stream ends
 * with the marker file that releases that container (podspec.ts), so the build
 * never starts on half a source tree.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { lstat, opendir, readlink, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { invalid } from '../base/errors.ts';
import { runRetrying, type KubeApi } from '../kube/api.ts';
import { CONTAINER, STAGED_MARKER, WORKSPACE_DIR } from '../manifest/podspec.ts';
import type { Reporter } from '../base/report.ts';

/** ContextListing: the files to stage, relative to the context directory (POSIX separators). */
export interface ContextListing {
  files: string[];
  /** True when the list came from `git ls-files` (tracked files only). */
  git: boolean;
}

function git(dir: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['-C', dir, ...args], { maxBuffer: 256 << 20, encoding: 'utf8' }, (err, out) =>
      resolve(err ? undefined : out),
    );
  });
}

/**
 * checkInside throws an InputError for input "context" when dir, symbolic links resolved, is not
 * the workspace or below it (`../../../` would stage the runner's whole filesystem).
 */
export async function checkInside(dir: string, workspace: string): Promise<void> {
  const [real, root] = await Promise.all([realpath(dir), realpath(workspace)]);
  const rel = relative(root, real);
  if (rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`))) return;
  throw invalid(
    'context',
    `path (it resolves to ${real}, outside the workspace ${root})`,
    dir,
    'give a directory inside the workspace (relative to it, e.g. . or src/pkg), or an empty value to stage nothing',
  );
}

/**
 * listContext lists the files of dir: in a git checkout, the tracked files
 * below dir (`git ls-files -z`, so untracked build outputs and secrets that are
 * git-ignored stay on the runner); elsewhere every file and symlink below dir.
 * Throws an InputError for input "context" when dir is missing or not a directory, or, with
 * `workspace`, when it resolves outside it (checkInside).
 */
export async function listContext(dir: string, workspace?: string): Promise<ContextListing> {
  const st = await stat(dir).catch(() => undefined);
  const fix = 'give an existing directory, or an empty value to stage nothing';
  if (!st) throw invalid('context', 'path (it does not exist)', dir, fix);
  if (!st.isDirectory()) throw invalid('context', 'path (not a directory)', dir, fix);
  if (workspace !== undefined) await checkInside(dir, workspace);
  const inside = await git(dir, ['rev-parse', '--is-inside-work-tree']);
  if (inside?.trim() === 'true') {
    const out = (await git(dir, ['ls-files', '-z', '--cached', '--full-name', '--', '.'])) ?? '';
    const prefix = ((await git(dir, ['rev-parse', '--show-prefix'])) ?? '').trim();
    const files = out
      .split('\0')
      .filter(Boolean)
      .map((f) => (prefix && f.startsWith(prefix) ? f.slice(prefix.length) : f));
    return { files, git: true };
  }
  const files: string[] = [];
  const walk = async (d: string) => {
    for await (const e of await opendir(d)) {
      const abs = join(d, e.name);
      if (e.isDirectory()) await walk(abs);
      else if (e.isFile() || e.isSymbolicLink())
        files.push(relative(dir, abs).split(sep).join('/'));
    }
  };
  await walk(dir);
  files.sort();
  return { files, git: false };
}

/** PackStats: what a packed context held. */
export interface PackStats {
  files: number;
  bytes: number;
  skipped: string[];
}

/**
 * packContext streams a tar of `files` (relative to dir) followed by the
 * STAGED_MARKER entry. Regular files keep their mode bits and mtime; symlinks
 * stay symlinks; anything else (a submodule directory, a file deleted since it
 * was listed) is skipped and reported in stats.skipped. Reads one file at a
 * time with backpressure.
 */
export function packContext(
  dir: string,
  files: readonly string[],
): { stream: Readable; stats: Promise<PackStats> } {
  const pack = tar.pack();
  const stats: PackStats = { files: 0, bytes: 0, skipped: [] };
  const marker = posix.relative(WORKSPACE_DIR, STAGED_MARKER);
  const done = (async () => {
    for (const name of files) {
      const abs = join(dir, ...name.split('/'));
      const st = await lstat(abs).catch(() => undefined);
      if (st?.isSymbolicLink()) {
        const target = await readlink(abs);
        await new Promise<void>((res, rej) =>
          pack.entry(
            { name, type: 'symlink', linkname: target, mode: 0o777, mtime: st.mtime },
            (e) => (e ? rej(e) : res()),
          ),
        );
      } else if (st?.isFile()) {
        const entry = pack.entry({
          name,
          type: 'file',
          size: st.size,
          mode: st.mode & 0o7777,
          mtime: st.mtime,
        });
        await pipeline(createReadStream(abs), entry);
        stats.bytes += st.size;
      } else {
        stats.skipped.push(name);
        continue;
      }
      stats.files++;
    }
    pack.entry({ name: marker, type: 'file', mode: 0o644 }, '');
    pack.finalize();
    return stats;
  })();
  done.catch((err: Error) => pack.destroy(err));
  return { stream: Readable.from(pack), stats: done };
}

/** STAGE_COMMAND is the argv exec'd in the `stage` container: extract stdin into /workspace. */
export const STAGE_COMMAND = ['tar', '-x', '-f', '-', '-C', WORKSPACE_DIR];

/** StageRequest: the pod whose `stage` init container is running, and what to put in it. */
export interface StageRequest {
  kube: KubeApi;
  namespace: string;
  pod: string;
  /** dir: the context directory on this machine; files: its listing (listContext). */
  dir: string;
  files: readonly string[];
  reporter: Pick<Reporter, 'info' | 'warning'>;
  signal: AbortSignal;
  /** label: who the progress line is about (mode dispatch names the build); default none. */
  label?: string;
}

/**
 * stageContext streams the context into the `stage` init container of a pod (exec of
 * STAGE_COMMAND, stdin = packContext), which the STAGED_MARKER at the end of the stream releases.
 * Throws when the exec fails or tar exits non-zero.
 */
export async function stageContext(r: StageRequest): Promise<void> {
  // A cut session starts again from the beginning with a fresh tar stream (kube.retrying).
  const { res, st } = await runRetrying(r.kube, `stage ${r.dir} into pod ${r.pod}`, async () => {
    const { stream, stats } = packContext(r.dir, r.files);
    stats.catch(() => undefined);
    try {
      const res = await r.kube.exec({
        namespace: r.namespace,
        pod: r.pod,
        container: CONTAINER.stage,
        command: STAGE_COMMAND,
        stdin: stream,
        signal: r.signal,
      });
      return { res, st: await stats };
    } finally {
      stream.destroy();
    }
  });
  if (res.exitCode !== 0) throw new Error(`tar exited with code ${res.exitCode}: ${res.message}`);
  const who = r.label ? `${r.label}: ` : '';
  r.reporter.info(
    `${who}${who ? 'staged' : 'Staged'} ${st.files} files (${(st.bytes / 1048576).toFixed(1)} MiB) from ${r.dir} into /workspace`,
  );
  for (const s of st.skipped)
    r.reporter.warning(`${who}not staged: ${s} (not a regular file or symlink)`);
}
