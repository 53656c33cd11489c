/**
 * crc32c.ts: CRC32C (Castagnoli, RFC 3720) of streamed data, in the form GCS
 * uses: base64 of the big-endian 32-bit value (GCS docs "Hashes and ETags").
 *
 * hash-wasm's WebAssembly CRC-32 with the Castagnoli polynomial (0x82F63B78,
 * reflected) hashes about 1.4 GiB/s on the lab machine; @google-cloud/storage's
 * `CRC32C` class walks the bytes one at a time in JavaScript at about
 * 56 MiB/s, which made the checksum the bottleneck of artifact uploads
 * (docs/benchmarks.md, bench/upload.ts). The results are identical
 * (test/unit/crc32c.test.ts checks them against that class).
 *
 * Only hash-wasm's CRC-32 build is imported (its per-algorithm UMD file, 7 KB;
 * the package's index holds every algorithm, about 230 KB bundled): the pod
 * program (src/pod) carries this module into each build pod.
 */
import crc32Build from 'hash-wasm/dist/crc32.umd.min.js';
import type { createCRC32 as CreateCrc32 } from 'hash-wasm';

const { createCRC32 } = crc32Build as { createCRC32: typeof CreateCrc32 };

/** CASTAGNOLI is the reflected CRC32C polynomial. */
const CASTAGNOLI = 0x82f63b78;

/**
 * Crc32c accumulates the CRC32C of data given in any number of pieces.
 * `toString` ends it: an `update` afterwards throws.
 */
export interface Crc32c {
  update(data: Uint8Array): void;
  /** toString answers the CRC32C, base64 of the 4 big-endian bytes (`AAAAAA==` for no data). */
  toString(): string;
}

/** createCrc32c answers a fresh CRC32C accumulator (each has its own WebAssembly instance). */
export async function createCrc32c(): Promise<Crc32c> {
  const hasher = await createCRC32(CASTAGNOLI);
  hasher.init();
  let digest: string | undefined;
  return {
    update(data) {
      if (digest !== undefined) throw new Error('CRC32C: update after toString');
      hasher.update(data);
    },
    toString() {
      digest ??= Buffer.from(hasher.digest('binary')).toString('base64');
      return digest;
    },
  };
}
