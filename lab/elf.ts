// elf.ts: tells which architecture a build's artifacts were compiled for, by
// reading ELF headers (the System V ABI's ELF header: e_ident then e_machine
// at byte 18), directly or inside a .tar.gz artifact. Used by the demo and
// the e2e tests to show that arm64 builds really produce arm64 code.
import { gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { extract } from 'tar-stream';

/** MACHINES names ELF e_machine values the way `file` does. */
const MACHINES: Record<number, string> = {
  0x03: 'i386',
  0x28: 'ARM',
  0x3e: 'x86-64',
  0xb7: 'aarch64',
  0xf3: 'RISC-V',
};

/**
 * elfArch returns the architecture of an ELF file ("x86-64", "aarch64", …,
 * or "machine 0x…" for others), or undefined when bytes is not ELF.
 */
export function elfArch(bytes: Uint8Array): string | undefined {
  if (
    bytes.length < 20 ||
    bytes[0] !== 0x7f ||
    bytes[1] !== 0x45 ||
    bytes[2] !== 0x4c ||
    bytes[3] !== 0x46
  )
    return undefined;
  // e_ident[EI_DATA] (byte 5): 1 little-endian, 2 big-endian.
  const machine = bytes[5] === 2 ? (bytes[18]! << 8) | bytes[19]! : bytes[18]! | (bytes[19]! << 8);
  return MACHINES[machine] ?? `machine 0x${machine.toString(16)}`;
}

/** ElfFile is one ELF file found in an artifact: its path (artifact, or artifact!member) and architecture. */
export interface ElfFile {
  path: string;
  arch: string;
}

/**
 * artifactElves returns the ELF files of one artifact: the artifact itself,
 * or the regular files of a gzip-compressed tarball (name ending .tar.gz or
 * .tgz). Anything else has none.
 */
export async function artifactElves(name: string, bytes: Buffer): Promise<ElfFile[]> {
  const own = elfArch(bytes);
  if (own) return [{ path: name, arch: own }];
  if (!/\.(tar\.gz|tgz)$/.test(name)) return [];
  const found: ElfFile[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        if (header.type === 'file' && chunks.length === 0) chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        const arch = chunks.length ? elfArch(chunks[0]!) : undefined;
        if (arch) found.push({ path: `${name}!${header.name.replace(/^\.\//, '')}`, arch });
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  Readable.from([gunzipSync(bytes)]).pipe(ex);
  await done;
  return found;
}
