import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnsafePathError } from '../../src/core/base/errors.ts';
import {
  checkTarEntry,
  type CheckedTarEntry,
  type TarEntryHeader,
} from '../../src/core/build/tarpath.ts';

const ROOT = '/workspace/packages';

const cases: ReadonlyArray<{
  name: string;
  input: TarEntryHeader;
  want?: CheckedTarEntry;
  error?: RegExp;
}> = [
  {
    name: 'root dir',
    input: { name: './', type: 'directory' },
    want: { kind: 'directory', path: '' },
  },
  { name: 'dot', input: { name: '.', type: 'directory' }, want: { kind: 'directory', path: '' } },
  {
    name: 'file',
    input: { name: './x86_64/hello.apk', type: 'file' },
    want: { kind: 'file', path: 'x86_64/hello.apk' },
  },
  {
    name: 'no ./ and doubled slash',
    input: { name: 'a//b', type: 'file' },
    want: { kind: 'file', path: 'a/b' },
  },
  { name: 'type missing is a file', input: { name: 'a' }, want: { kind: 'file', path: 'a' } },
  {
    name: 'contiguous file',
    input: { name: 'a', type: 'contiguous-file' },
    want: { kind: 'file', path: 'a' },
  },
  {
    name: 'dir trailing slash',
    input: { name: './lib/', type: 'directory' },
    want: { kind: 'directory', path: 'lib' },
  },
  {
    name: 'symlink sideways',
    input: { name: './lib/libz.so', type: 'symlink', linkname: 'libz.so.1' },
    want: { kind: 'symlink', path: 'lib/libz.so', target: 'libz.so.1', resolved: 'lib/libz.so.1' },
  },
  {
    name: 'symlink up, inside',
    input: { name: 'usr/bin/tool', type: 'symlink', linkname: '../lib/tool/bin' },
    want: {
      kind: 'symlink',
      path: 'usr/bin/tool',
      target: '../lib/tool/bin',
      resolved: 'usr/lib/tool/bin',
    },
  },
  {
    name: 'symlink to the root',
    input: { name: 'a/self', type: 'symlink', linkname: '..' },
    want: { kind: 'symlink', path: 'a/self', target: '..', resolved: '' },
  },
  {
    name: 'hard link',
    input: { name: './b', type: 'link', linkname: './a' },
    want: { kind: 'hardlink', path: 'b', target: 'a' },
  },
  {
    name: 'absolute',
    input: { name: '/etc/passwd', type: 'file' },
    error: /unsafe entry "\/etc\/passwd" in the artifacts of \/workspace\/packages: absolute/,
  },
  { name: 'dot-dot', input: { name: '../x', type: 'file' }, error: /"\.\." is not allowed/ },
  {
    name: 'dot-dot inside',
    input: { name: 'a/../b', type: 'file' },
    error: /"\.\." is not allowed/,
  },
  { name: 'newline', input: { name: 'a\nb', type: 'file' }, error: /control characters/ },
  { name: 'file as root', input: { name: './', type: 'file' }, error: /a file cannot be the root/ },
  {
    name: 'symlink absolute',
    input: { name: 'x', type: 'symlink', linkname: '/etc/shadow' },
    error: /points to the absolute path "\/etc\/shadow"/,
  },
  {
    name: 'symlink escapes',
    input: { name: 'x', type: 'symlink', linkname: '../../etc' },
    error: /points outside the tree/,
  },
  {
    name: 'symlink escapes from depth',
    input: { name: 'a/b/x', type: 'symlink', linkname: '../../../x' },
    error: /outside the tree/,
  },
  {
    name: 'symlink climbs through a name',
    input: { name: 'y', type: 'symlink', linkname: 'x/..' },
    error: /climbs out of a directory it named/,
  },
  {
    name: 'symlink empty target',
    input: { name: 'y', type: 'symlink', linkname: '' },
    error: /no valid target/,
  },
  {
    name: 'root symlink',
    input: { name: '.', type: 'symlink', linkname: 'a' },
    error: /root cannot be a link/,
  },
  {
    name: 'hard link out',
    input: { name: 'b', type: 'link', linkname: '../../etc/passwd' },
    error: /unsafe hard link target/,
  },
  {
    name: 'hard link absolute',
    input: { name: 'b', type: 'link', linkname: '/etc/passwd' },
    error: /absolute/,
  },
  {
    name: 'char device',
    input: { name: 'null', type: 'character-device' },
    error: /character-device entries are not artifacts/,
  },
  {
    name: 'block device',
    input: { name: 'sda', type: 'block-device' },
    error: /block-device entries/,
  },
  { name: 'fifo', input: { name: 'pipe', type: 'fifo' }, error: /fifo entries/ },
  {
    name: 'unknown type',
    input: { name: 'x', type: 'pax-global-header' },
    error: /unsupported entry type/,
  },
];

for (const c of cases) {
  test(`checkTarEntry: ${c.name}`, () => {
    if (c.error) {
      assert.throws(
        () => checkTarEntry(c.input, ROOT),
        (err: unknown) => err instanceof UnsafePathError && c.error!.test(err.message),
      );
    } else {
      assert.deepEqual(checkTarEntry(c.input, ROOT), c.want);
    }
  });
}
