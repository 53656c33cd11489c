import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { artifactElves, elfArch } from '../../lab/elf.ts';

/** header is the first 20 bytes of a 64-bit little-endian ELF file for machine. */
function header(machine: number): Buffer {
  const b = Buffer.alloc(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(machine, 18);
  return b;
}

test('elfArch names the machine of an ELF header the way file(1) does', () => {
  assert.equal(elfArch(header(0x3e)), 'x86-64');
  assert.equal(elfArch(header(0xb7)), 'aarch64');
  assert.equal(elfArch(header(0x99)), 'machine 0x99');
  assert.equal(elfArch(Buffer.from('#!/bin/sh\necho not elf at all\n')), undefined);
  assert.equal(elfArch(header(0x3e).subarray(0, 10)), undefined);
});

test('artifactElves finds ELF files in an artifact and inside a .tar.gz', async () => {
  assert.deepEqual(await artifactElves('hello', header(0xb7)), [
    { path: 'hello', arch: 'aarch64' },
  ]);
  const p = pack();
  p.entry({ name: './usr/bin/hello' }, header(0x3e));
  p.entry({ name: './usr/share/doc/README' }, 'text');
  p.entry({ name: './usr/lib', type: 'directory' });
  p.entry({ name: './usr/lib/libz.so.1.2.13' }, header(0x3e));
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  const tgz = gzipSync(Buffer.concat(chunks));
  assert.deepEqual(await artifactElves('hello-2.10-r0.tar.gz', tgz), [
    { path: 'hello-2.10-r0.tar.gz!usr/bin/hello', arch: 'x86-64' },
    { path: 'hello-2.10-r0.tar.gz!usr/lib/libz.so.1.2.13', arch: 'x86-64' },
  ]);
  assert.deepEqual(await artifactElves('notes.txt', Buffer.from('plain')), []);
});
