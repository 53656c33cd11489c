import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { CRC32C } from '@google-cloud/storage';
import { chunks } from '../../src/core/gcs/resumable.ts';
import { GcsObjectStore } from '../../src/core/gcs/storage.ts';
import type { TokenSource } from '../../src/core/google/auth.ts';

const KiB = 1024;
const CHUNK = 256 * KiB;
const FAST = { policy: { attempts: 4, baseMs: 1, capMs: 2 } };

function crc32cOf(data: Buffer): string {
  const crc = new CRC32C();
  crc.update(data);
  return crc.toString();
}

/** pattern returns `size` deterministic bytes. */
function pattern(size: number, seed = 7): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** readableOf streams `data` in 64 KiB pieces. */
function readableOf(data: Buffer): Readable {
  const pieces: Buffer[] = [];
  for (let i = 0; i < data.length; i += 64 * KiB) pieces.push(data.subarray(i, i + 64 * KiB));
  return Readable.from(pieces);
}

interface Session {
  name: string;
  data: Buffer[];
  bytes: number;
}

/**
 * FakeGcs speaks the JSON API resumable protocol. Faults: `failPut` answers
 * the n-th data PUT (1-based) with 503 after keeping half of its bytes;
 * `corrupt` flips one received byte for that many sessions; `checkHash`
 * false stores without looking at X-Goog-Hash.
 */
class FakeGcs {
  objects = new Map<string, Buffer>();
  log: string[] = [];
  auth = new Set<string | null>();
  sessions = new Map<string, Session>();
  failPut = 0;
  corrupt = 0;
  checkHash = true;
  /** canDelete false answers DELETE with 403, as for roles/storage.objectCreator. */
  canDelete = true;
  puts = 0;

  fetch = async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const headers = new Headers(init?.headers);
    this.auth.add(headers.get('authorization'));
    const method = init?.method ?? 'GET';
    if (method === 'POST') {
      const name = url.searchParams.get('name') ?? '';
      const id = `s${this.sessions.size + 1}`;
      this.sessions.set(id, { name, data: [], bytes: 0 });
      this.log.push(`POST ${name}`);
      return new Response(null, {
        status: 200,
        headers: { location: `${url.origin}/upload/session/${id}` },
      });
    }
    if (method === 'DELETE') {
      this.log.push(`DELETE ${decodeURIComponent(url.pathname.split('/o/')[1] ?? '')}`);
      if (!this.canDelete) {
        return Response.json({ error: { code: 403, message: 'no delete' } }, { status: 403 });
      }
      this.objects.delete(decodeURIComponent(url.pathname.split('/o/')[1] ?? ''));
      return new Response(null, { status: 204 });
    }
    const session = this.sessions.get(url.pathname.split('/').pop() ?? '');
    assert.ok(session, `unknown session ${url.pathname}`);
    const range = headers.get('content-range') ?? '';
    const hash = headers.get('x-goog-hash');
    this.log.push(`PUT ${range}${hash ? ' hash' : ''}`);
    let body = Buffer.from(await new Response(init?.body ?? null).arrayBuffer());
    const m = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(range);
    assert.ok(m, `bad Content-Range ${range}`);
    if (m[1] !== undefined) {
      this.puts++;
      assert.equal(Number(m[1]), session.bytes, 'chunk starts at the persisted offset');
      if (this.puts === this.failPut) {
        body = body.subarray(0, body.length / 2);
        session.data.push(body);
        session.bytes += body.length;
        return Response.json({ error: { code: 503, message: 'Backend Error' } }, { status: 503 });
      }
      if (m[3] !== '*' && this.corrupt > 0) {
        this.corrupt--;
        body = Buffer.from(body);
        body[0] = (body[0] ?? 0) ^ 0xff;
      }
      session.data.push(body);
      session.bytes += body.length;
    }
    if (m[3] === '*') {
      const rangeHeader: Record<string, string> = session.bytes
        ? { range: `bytes=0-${session.bytes - 1}` }
        : {};
      return new Response(null, { status: 308, headers: rangeHeader });
    }
    const data = Buffer.concat(session.data);
    const crc = crc32cOf(data);
    if (this.checkHash && hash && hash !== `crc32c=${crc}`) {
      const message = `Provided CRC32C "${hash.slice(7)}" doesn't match calculated CRC32C "${crc}".`;
      return Response.json({ error: { code: 400, message } }, { status: 400 });
    }
    this.objects.set(session.name, data);
    return Response.json({
      name: session.name,
      size: String(data.length),
      crc32c: crc,
      md5Hash: createHash('md5').update(data).digest('base64'),
      generation: '1',
    });
  };

  store(extra: { tokenSource?: TokenSource } = {}): GcsObjectStore {
    return new GcsObjectStore({
      bucket: 'kbuild-lab-artifacts',
      apiEndpoint: 'http://gcs.test',
      chunkSize: CHUNK,
      fetch: this.fetch,
      retry: FAST,
      ...extra,
    });
  }
}

test('chunks cuts a stream into full pieces and a non-empty last one', async () => {
  const cases = [
    { name: 'empty', input: 0, want: ['0 last'] },
    { name: 'smaller than a piece', input: 100, want: ['100 last'] },
    { name: 'exactly one piece', input: 256, want: ['256 last'] },
    { name: 'one byte more', input: 257, want: ['256', '1 last'] },
    { name: 'several', input: 700, want: ['256', '256', '188 last'] },
  ];
  for (const c of cases) {
    const data = pattern(c.input);
    const seen: Buffer[] = [];
    const got: string[] = [];
    const sent: Buffer[] = [];
    const body = Readable.from(
      [data.subarray(0, 30), data.subarray(30)].filter((b) => b.length > 0),
    );
    for await (const { data: piece, last } of chunks(body, 256, (b) => seen.push(b))) {
      got.push(`${piece.length}${last ? ' last' : ''}`);
      // A piece's buffer is used again two pieces later (chunks): keep a copy.
      sent.push(Buffer.from(piece));
    }
    assert.deepEqual(got, c.want, c.name);
    assert.ok(Buffer.concat(seen).equals(data), c.name);
    assert.ok(Buffer.concat(sent).equals(data), c.name);
    // With the body's size known: the same pieces, from buffers sized to the body.
    const sized: Buffer[] = [];
    const again = Readable.from(
      [data.subarray(0, 30), data.subarray(30)].filter((b) => b.length > 0),
    );
    for await (const { data: piece } of chunks(again, 256, () => undefined, c.input))
      sized.push(Buffer.from(piece));
    assert.ok(Buffer.concat(sized).equals(data), `${c.name}, size known`);
    // A body longer than expected: the buffer grows.
    const longer: Buffer[] = [];
    const more = Readable.from(
      [data.subarray(0, 30), data.subarray(30)].filter((b) => b.length > 0),
    );
    for await (const { data: piece } of chunks(more, 256, () => undefined, 10))
      longer.push(Buffer.from(piece));
    assert.ok(Buffer.concat(longer).equals(data), `${c.name}, longer than expected`);
  }
});

test('upload sends 256 KiB chunks and the CRC32C only with the final request', async () => {
  const gcs = new FakeGcs();
  const data = pattern(3 * CHUNK + 1000);
  const got = await gcs
    .store({
      tokenSource: {
        getAccessToken: () => Promise.resolve({ token: 'tok', expiresAt: Number.MAX_SAFE_INTEGER }),
      },
    })
    .upload('a/b.tar', readableOf(data), {
      size: data.length,
    });
  assert.deepEqual(got, {
    name: 'a/b.tar',
    size: data.length,
    crc32c: crc32cOf(data),
    md5: createHash('md5').update(data).digest('base64'),
    sha256: createHash('sha256').update(data).digest('hex'),
    uri: 'gs://kbuild-lab-artifacts/a/b.tar',
  });
  assert.ok(gcs.objects.get('a/b.tar')?.equals(data));
  assert.deepEqual(gcs.log, [
    'POST a/b.tar',
    'PUT bytes 0-262143/*',
    'PUT bytes 262144-524287/*',
    'PUT bytes 524288-786431/*',
    `PUT bytes 786432-787431/${data.length} hash`,
  ]);
  assert.deepEqual([...gcs.auth], ['Bearer tok']);
});

test('upload resumes from the persisted offset after a 503', async () => {
  const gcs = new FakeGcs();
  gcs.failPut = 2;
  const data = pattern(2 * CHUNK + 10);
  const got = await gcs.store().upload('log', readableOf(data));
  assert.equal(got.sha256, createHash('sha256').update(data).digest('hex'));
  assert.ok(gcs.objects.get('log')?.equals(data));
  assert.deepEqual(gcs.log, [
    'POST log',
    'PUT bytes 0-262143/*',
    'PUT bytes 262144-524287/*',
    'PUT bytes */*',
    'PUT bytes 393216-524287/*',
    `PUT bytes 524288-524297/${data.length} hash`,
  ]);
});

test('a corrupted upload is refused and retried from a fresh stream', async () => {
  const gcs = new FakeGcs();
  gcs.corrupt = 1;
  const data = pattern(CHUNK + 5);
  let opened = 0;
  const got = await gcs.store().upload('pkg.apk', () => {
    opened++;
    return readableOf(data);
  });
  assert.equal(opened, 2);
  assert.equal(got.crc32c, crc32cOf(data));
  assert.ok(gcs.objects.get('pkg.apk')?.equals(data));
  assert.equal(gcs.log.filter((l) => l.startsWith('POST')).length, 2);
});

test('a corrupted upload is never accepted', async () => {
  const cases = [
    {
      name: 'a single stream cannot be replayed',
      input: { corrupt: 1, checkHash: true, factory: false },
      error:
        /ChecksumMismatchError: GCS upload of gs:\/\/kbuild-lab-artifacts\/x rejected by GCS: HTTP 400: Provided CRC32C .*cannot be sent again/,
    },
    {
      name: 'every attempt corrupted',
      input: { corrupt: 5, checkHash: true, factory: true },
      error: /ChecksumMismatchError: .*doesn't match calculated CRC32C/,
    },
    {
      name: 'a server that ignores X-Goog-Hash',
      input: { corrupt: 5, checkHash: false, factory: true },
      error:
        /ChecksumMismatchError: upload of gs:\/\/kbuild-lab-artifacts\/x failed: GCS stored crc32c .* the stored object was deleted$/,
    },
    {
      name: 'a server that ignores X-Goog-Hash, and no delete permission',
      input: { corrupt: 5, checkHash: false, factory: true, canDelete: false },
      error:
        /ChecksumMismatchError: upload of gs:\/\/kbuild-lab-artifacts\/x failed: GCS stored crc32c .* the stored object is left in place \(deleting it failed: HTTP 403; .*\): remove it with gcloud storage rm gs:\/\/kbuild-lab-artifacts\/x/,
    },
  ];
  for (const c of cases) {
    const gcs = new FakeGcs();
    gcs.corrupt = c.input.corrupt;
    gcs.checkHash = c.input.checkHash;
    gcs.canDelete = c.input.canDelete ?? true;
    const data = pattern(1000);
    const body = c.input.factory ? () => readableOf(data) : readableOf(data);
    await assert.rejects(gcs.store().upload('x', body), c.error, c.name);
    assert.equal(gcs.objects.has('x'), !gcs.canDelete && !c.input.checkHash, c.name);
  }
});

test('upload handles an empty object, checks the size and needs credentials for Google', async () => {
  const gcs = new FakeGcs();
  const got = await gcs.store().upload('empty', Readable.from([]));
  assert.equal(got.size, 0);
  assert.equal(got.crc32c, 'AAAAAA==');
  assert.deepEqual(gcs.log, ['POST empty', 'PUT bytes */0 hash']);
  await assert.rejects(
    gcs.store().upload('short', readableOf(pattern(10)), { size: 11 }),
    /the stream gave 10 bytes, 11 were expected/,
  );
  assert.throws(
    () => new GcsObjectStore({ bucket: 'b-1' }),
    /storage\.googleapis\.com needs credentials/,
  );
  assert.throws(
    () => new GcsObjectStore({ bucket: 'gs://b' }),
    /invalid bucket name "gs:\/\/b" for input "bucket"/,
  );
});
