// hashes.ts: CRC32C and MD5 of object data as GCS reports them, and the
// `x-goog-hash` header. Source: https://cloud.google.com/storage/docs/hashes-etags
// (crc32c: base64 of the big-endian 32-bit value; md5Hash: base64 of the
// 16-byte digest) and https://cloud.google.com/storage/docs/xml-api/reference-headers#xgooghash
// (`x-goog-hash: crc32c=...,md5=...`, the header may repeat).
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { CRC32C } from '@google-cloud/storage';

/** ObjectHashes are an object's hashes, each base64 as GCS prints them. */
export interface ObjectHashes {
  crc32c: string;
  md5Hash: string;
}

/**
 * ObjectHasher accumulates CRC32C (the @google-cloud/storage implementation),
 * MD5 and the byte count of data written in any number of pieces, across
 * the requests of a resumable upload. digest() may be called once.
 */
export class ObjectHasher {
  readonly #crc = new CRC32C();
  readonly #md5: Hash = createHash('md5');
  size = 0;

  update(chunk: Buffer): void {
    this.#crc.update(chunk);
    this.#md5.update(chunk);
    this.size += chunk.length;
  }

  digest(): ObjectHashes {
    return { crc32c: this.#crc.toString(), md5Hash: this.#md5.digest('base64') };
  }
}

/** ExpectedHashes are the hashes a client declared (either may be absent). */
export interface ExpectedHashes {
  crc32c?: string;
  md5?: string;
}

/**
 * parseGoogHash reads one or more `x-goog-hash` header values
 * (`crc32c=AAAAAA==,md5=...`); unknown algorithms are ignored. Throws on a
 * malformed entry.
 */
export function parseGoogHash(values: string | string[] | undefined): ExpectedHashes {
  const out: ExpectedHashes = {};
  const list = values === undefined ? [] : Array.isArray(values) ? values : [values];
  for (const entry of list.flatMap((v) => v.split(','))) {
    const item = entry.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`malformed x-goog-hash entry "${item}": want ALG=BASE64`);
    const alg = item.slice(0, eq).toLowerCase();
    const value = item.slice(eq + 1);
    if (alg === 'crc32c') out.crc32c = value;
    else if (alg === 'md5') out.md5 = value;
  }
  return out;
}

/** formatGoogHash renders the `x-goog-hash` response header. */
export function formatGoogHash(h: ObjectHashes): string {
  return `crc32c=${h.crc32c},md5=${h.md5Hash}`;
}

/**
 * hashMismatch compares declared with computed hashes and returns GCS's
 * message for the first mismatch (`Provided CRC32C "x" doesn't match
 * calculated CRC32C "y".`), or undefined when all declared ones match.
 */
export function hashMismatch(
  declared: ExpectedHashes[],
  computed: ObjectHashes,
): string | undefined {
  for (const d of declared) {
    if (d.crc32c !== undefined && d.crc32c !== computed.crc32c) {
      return `Provided CRC32C "${d.crc32c}" doesn't match calculated CRC32C "${computed.crc32c}".`;
    }
    if (d.md5 !== undefined && d.md5 !== computed.md5Hash) {
      return `Provided MD5 hash "${d.md5}" doesn't match calculated MD5 hash "${computed.md5Hash}".`;
    }
  }
  return undefined;
}
