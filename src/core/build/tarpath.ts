// tarpath.ts: checks on the entries of the artifacts tar that comes out of a build pod
// (docs/design.md, "One build", step 8). The tar is untrusted: the build could write anything.
import { posix } from 'node:path';
import { hasControlChar } from '../inputs/destination.ts';
import { UnsafePathError, quote } from '../base/errors.ts';

/** TarEntryHeader is the part of a tar header the checks read (names as in `tar-stream`). */
export interface TarEntryHeader {
  name: string;
  /** type: `file`, `directory`, `symlink`, `link` (hard link), `contiguous-file`, devices, `fifo`. */
  type?: string | null;
  linkname?: string | null;
}

/** CheckedTarEntry is a safe entry: its path relative to the tree's root and what it is. */
export type CheckedTarEntry =
  | { kind: 'file'; path: string }
  | { kind: 'directory'; path: string }
  | { kind: 'symlink'; path: string; target: string; resolved: string }
  | { kind: 'hardlink'; path: string; target: string };

/**
 * relativeName normalizes a member name (`./a//b/` -> `a/b`, `.` or `./` -> ``) and refuses
 * absolute names, `..` segments and control characters.
 */
function relativeName(name: string, root: string, what: string): string {
  const fail = (why: string): UnsafePathError =>
    new UnsafePathError(name, `unsafe ${what} ${quote(name)} in the artifacts of ${root}: ${why}`);
  if (name.startsWith('/')) throw fail('absolute paths are not allowed');
  if (hasControlChar(name)) throw fail('control characters are not allowed');
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw fail('".." is not allowed');
  return segments.join('/');
}

/**
 * checkTarEntry checks one entry of a tar made with `tar -cf - -C <root> .` and returns its
 * normalized path relative to root (`` for the root itself). It throws UnsafePathError for an
 * absolute name, a `..` segment, a control character, a symlink whose target is absolute, goes
 * above the tree, or climbs through a named directory (`d/../..`, which can escape when `d` is a
 * link), a hard link to a path outside the tree, and for devices, FIFOs and unknown types. `root`
 * only names the tree in messages.
 */
export function checkTarEntry(entry: TarEntryHeader, root: string): CheckedTarEntry {
  const path = relativeName(entry.name, root, 'entry');
  const type = entry.type ?? 'file';
  const fail = (why: string): UnsafePathError =>
    new UnsafePathError(
      entry.name,
      `unsafe entry ${quote(entry.name)} in the artifacts of ${root}: ${why}`,
    );
  switch (type) {
    case 'file':
    case 'contiguous-file':
      if (path === '') throw fail('a file cannot be the root');
      return { kind: 'file', path };
    case 'directory':
      return { kind: 'directory', path };
    case 'symlink': {
      const target = entry.linkname ?? '';
      if (path === '') throw fail('the root cannot be a link');
      if (target === '' || hasControlChar(target)) throw fail('the link has no valid target');
      if (target.startsWith('/'))
        throw fail(`the link points to the absolute path ${quote(target)}`);
      const parts = target.split('/').filter((s) => s !== '' && s !== '.');
      const firstNamed = parts.findIndex((s) => s !== '..');
      if (firstNamed >= 0 && parts.slice(firstNamed).includes('..')) {
        throw fail(`the link target ${quote(target)} climbs out of a directory it named`);
      }
      const resolved = posix.normalize(posix.join(posix.dirname(path), target));
      if (resolved === '..' || resolved.startsWith('../'))
        throw fail(`the link points outside the tree (${quote(target)})`);
      return { kind: 'symlink', path, target, resolved: resolved === '.' ? '' : resolved };
    }
    case 'link': {
      if (path === '') throw fail('the root cannot be a link');
      const target = relativeName(entry.linkname ?? '', root, 'hard link target');
      if (target === '') throw fail('the hard link has no target');
      return { kind: 'hardlink', path, target };
    }
    case 'character-device':
    case 'block-device':
    case 'fifo':
      throw fail(`${type} entries are not artifacts`);
    default:
      throw fail(`unsupported entry type ${quote(type)}`);
  }
}
