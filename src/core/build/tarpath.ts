// tarpath.ts: checks on the entries of the artifacts tar that comes out of a build pod
// (DESIGN section 2, step 8). The tar is untrusted: the build could write anything.
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

/**
 * TarTreeGuard checks a whole stream of entries in order: each with checkTarEntry, and no entry
 * may lie below a symlink seen earlier (a `d -> ..` then `d/x` pair writes outside the tree), a
 * hard link must name an earlier regular file, and no path may come twice.
 */
export class TarTreeGuard {
  readonly root: string;
  private readonly links = new Set<string>();
  private readonly files = new Set<string>();
  private readonly seen = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  /** check returns the checked entry or throws UnsafePathError. */
  check(entry: TarEntryHeader): CheckedTarEntry {
    const checked = checkTarEntry(entry, this.root);
    const fail = (why: string): UnsafePathError =>
      new UnsafePathError(
        entry.name,
        `unsafe entry ${quote(entry.name)} in the artifacts of ${this.root}: ${why}`,
      );
    const segments = checked.path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join('/');
      if (this.links.has(parent)) throw fail(`it lies below the symlink ${quote(parent)}`);
    }
    if (checked.path !== '' && this.seen.has(checked.path)) throw fail('the path appears twice');
    if (checked.kind === 'hardlink' && !this.files.has(checked.target)) {
      throw fail(`the hard link target ${quote(checked.target)} is not an earlier file`);
    }
    this.seen.add(checked.path);
    if (checked.kind === 'symlink') this.links.add(checked.path);
    if (checked.kind === 'file') this.files.add(checked.path);
    return checked;
  }
}
