// lab-tree.ts: a directory tree with every kind of entry a build context holds
// (random data, an executable, nested directories, a symlink, odd names and
// modes), and a snapshot of a tree to compare two copies of it.
import { createHash } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  readFile,
  readdir,
  readlink,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';

/**
 * makeTree fills dir (created) with: data/random.bin (the given bytes),
 * bin/run.sh (0755, prints `run.sh ran`), a 0600 key, a 0640 file four
 * directories down, a 0750 directory, an empty file, a name with spaces, all
 * 256 byte values, and a relative symlink. Modes avoid the bits a 022 umask
 * clears, so an unprivileged `tar -x` keeps them.
 */
export async function makeTree(dir: string, random: Buffer): Promise<void> {
  await mkdir(join(dir, 'nested/a/b/c'), { recursive: true });
  await mkdir(join(dir, 'data'), { recursive: true });
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'private'), { recursive: true });
  const files: [string, string | Buffer, number][] = [
    ['data/random.bin', random, 0o644],
    ['bin/run.sh', '#!/bin/sh\necho run.sh ran\n', 0o755],
    ['private/key', 'not a real key\n', 0o600],
    ['nested/a/b/c/deep.txt', 'four levels down\n', 0o640],
    ['empty', '', 0o644],
    ['name with spaces.txt', 'spaces\n', 0o644],
    ['data/bytes.bin', Buffer.from(Array.from({ length: 256 }, (_, i) => i)), 0o644],
  ];
  for (const [path, content, mode] of files) {
    await writeFile(join(dir, path), content);
    await chmod(join(dir, path), mode);
    await utimes(join(dir, path), 1_700_000_000, 1_700_000_000);
  }
  await chmod(join(dir, 'private'), 0o750);
  await symlink('nested/a/b/c/deep.txt', join(dir, 'link-to-deep'));
}

/** TreeEntry describes one entry of a tree: its kind, mode bits and content. */
export interface TreeEntry {
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  mode: string;
  /** Files: size, SHA-256 and mtime (seconds). Symlinks: the target. */
  size?: number;
  sha256?: string;
  mtime?: number;
  target?: string;
}

/**
 * snapshotTree lists every entry below dir (not dir itself), sorted by path,
 * with its mode bits (octal), and for files their size, SHA-256 and mtime, for
 * symlinks their target. Throws on other kinds of entries.
 */
export async function snapshotTree(dir: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(dir, path);
      const st = await lstat(full);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) {
        out.push({ path, kind: 'symlink', mode: '', target: await readlink(full) });
      } else if (st.isDirectory()) {
        out.push({ path, kind: 'dir', mode });
        await walk(path);
      } else if (st.isFile()) {
        const bytes = await readFile(full);
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        out.push({
          path,
          kind: 'file',
          mode,
          size: st.size,
          sha256,
          mtime: Math.floor(st.mtimeMs / 1000),
        });
      } else {
        throw new Error(`${full}: not a file, directory or symlink`);
      }
    }
  };
  await walk('');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
