// store.ts: the GCS stand-in's disk store. Objects survive restarts:
//   <dir>/buckets/<bucket>.json               bucket record
//   <dir>/objects/<bucket>/<sha256(name)>.data  object bytes
//   <dir>/objects/<bucket>/<sha256(name)>.json  object record (name, hashes, ...)
//   <dir>/uploads/<random>                      uploads in progress (cleared at start)
// Metadata is also indexed in memory; object data is only ever streamed.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** BucketRecord is what the store keeps of a bucket. */
export interface BucketRecord {
  name: string;
  projectNumber: string;
  location: string;
  storageClass: string;
  timeCreated: string;
}

/**
 * ObjectRecord is what the store keeps of an object: identity, generation
 * (microseconds since the epoch, as a decimal string like GCS), size in
 * bytes, base64 hashes, times (RFC 3339) and the settable metadata.
 */
export interface ObjectRecord {
  bucket: string;
  name: string;
  generation: string;
  metageneration: string;
  size: number;
  crc32c: string;
  md5Hash: string;
  timeCreated: string;
  updated: string;
  contentType: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  metadata?: Record<string, string>;
}

/** NewObject is an ObjectRecord before the store assigns generation and times. */
export type NewObject = Omit<
  ObjectRecord,
  'generation' | 'metageneration' | 'timeCreated' | 'updated'
>;

/**
 * GcsStore keeps buckets and objects under one directory. Every mutation
 * of the index is synchronous (check, rename, write), so two uploads of the
 * same name cannot interleave between a precondition check and the commit.
 */
export class GcsStore {
  readonly dir: string;
  readonly #buckets = new Map<string, BucketRecord>();
  readonly #objects = new Map<string, Map<string, ObjectRecord>>();
  #lastGeneration = 0;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** open loads (or creates) the store at `dir` and drops unfinished uploads. */
  static open(dir: string): GcsStore {
    const store = new GcsStore(dir);
    rmSync(join(dir, 'uploads'), { recursive: true, force: true });
    for (const sub of ['buckets', 'objects', 'uploads'])
      mkdirSync(join(dir, sub), { recursive: true });
    for (const file of readdirSync(join(dir, 'buckets'))) {
      if (!file.endsWith('.json')) continue;
      const b = JSON.parse(readFileSync(join(dir, 'buckets', file), 'utf8')) as BucketRecord;
      store.#buckets.set(b.name, b);
      const index = new Map<string, ObjectRecord>();
      store.#objects.set(b.name, index);
      const odir = join(dir, 'objects', b.name);
      mkdirSync(odir, { recursive: true });
      for (const f of readdirSync(odir)) {
        if (!f.endsWith('.json')) continue;
        const o = JSON.parse(readFileSync(join(odir, f), 'utf8')) as ObjectRecord;
        index.set(o.name, o);
      }
    }
    return store;
  }

  bucket(name: string): BucketRecord | undefined {
    return this.#buckets.get(name);
  }

  buckets(): BucketRecord[] {
    return [...this.#buckets.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** createBucket stores a new bucket; the caller checks that it does not exist. */
  createBucket(b: BucketRecord): BucketRecord {
    mkdirSync(join(this.dir, 'objects', b.name), { recursive: true });
    writeJson(join(this.dir, 'buckets', `${b.name}.json`), b);
    this.#buckets.set(b.name, b);
    this.#objects.set(b.name, new Map());
    return b;
  }

  /** deleteBucket removes an (empty) bucket. */
  deleteBucket(name: string): void {
    rmSync(join(this.dir, 'buckets', `${name}.json`), { force: true });
    rmSync(join(this.dir, 'objects', name), { recursive: true, force: true });
    this.#buckets.delete(name);
    this.#objects.delete(name);
  }

  object(bucket: string, name: string): ObjectRecord | undefined {
    return this.#objects.get(bucket)?.get(name);
  }

  /** objectNames lists the names in a bucket, unordered. */
  objectNames(bucket: string): IterableIterator<string> {
    return (this.#objects.get(bucket) ?? new Map<string, ObjectRecord>()).keys();
  }

  /** dataPath is the file that holds an object's bytes. */
  dataPath(bucket: string, name: string): string {
    return join(this.dir, 'objects', bucket, `${keyOf(name)}.data`);
  }

  /** tempPath names a fresh file for an upload in progress. */
  tempPath(): string {
    return join(this.dir, 'uploads', randomBytes(16).toString('hex'));
  }

  /**
   * commit moves a fully written and verified upload into place as the new
   * generation of its object (replacing any older one) and returns its record.
   */
  commit(tempPath: string, o: NewObject): ObjectRecord {
    const index = this.#objects.get(o.bucket);
    if (index === undefined) throw new Error(`no bucket ${o.bucket}`);
    const now = new Date();
    const record: ObjectRecord = {
      ...o,
      generation: this.#nextGeneration(now),
      metageneration: '1',
      timeCreated: now.toISOString(),
      updated: now.toISOString(),
    };
    renameSync(tempPath, this.dataPath(o.bucket, o.name));
    writeJson(join(this.dir, 'objects', o.bucket, `${keyOf(o.name)}.json`), record);
    index.set(o.name, record);
    return record;
  }

  /** deleteObject removes an object's record and bytes. */
  deleteObject(bucket: string, name: string): void {
    rmSync(join(this.dir, 'objects', bucket, `${keyOf(name)}.json`), { force: true });
    rmSync(this.dataPath(bucket, name), { force: true });
    this.#objects.get(bucket)?.delete(name);
  }

  #nextGeneration(now: Date): string {
    this.#lastGeneration = Math.max(this.#lastGeneration + 1, now.getTime() * 1000);
    return String(this.#lastGeneration);
  }
}

/** keyOf maps an object name (up to 1024 bytes, any characters) to a file name. */
function keyOf(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

function writeJson(path: string, value: unknown): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(value));
  renameSync(tmp, path);
}
