// Unit tests of the GCS stand-in's pure parts: hashes, ranges, listing,
// multipart/related reading and preconditions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatGoogHash,
  hashMismatch,
  ObjectHasher,
  parseGoogHash,
} from '../../lab/google/gcs/hashes.ts';
import { listPage, listParams } from '../../lab/google/gcs/listing.ts';
import { boundaryOf, MultipartError, openRelated } from '../../lab/google/gcs/multipart.ts';
import { parseDownloadRange, parseUploadRange } from '../../lab/google/gcs/ranges.ts';
import { preconditionFailure } from '../../lab/google/gcs/resources.ts';
import type { ObjectRecord } from '../../lab/google/gcs/store.ts';

test('ObjectHasher: CRC32C and MD5 as GCS prints them, across pieces', () => {
  const h = new ObjectHasher();
  h.update(Buffer.from('1234'));
  h.update(Buffer.from('56789'));
  // CRC32C("123456789") = 0xE3069283 (RFC 3720 check value), base64 of its big-endian bytes.
  assert.deepEqual(
    [h.size, h.digest()],
    [9, { crc32c: '4waSgw==', md5Hash: 'JfnnlDI7RTiF9RgfG2JNCw==' }],
  );
  assert.equal(new ObjectHasher().digest().md5Hash, '1B2M2Y8AsgTpgAmY7PhCfg==');
});

const googHashes: {
  name: string;
  input: string | string[] | undefined;
  want?: object;
  error?: RegExp;
}[] = [
  { name: 'absent', input: undefined, want: {} },
  {
    name: 'both in one header',
    input: 'crc32c=4waSgw==,md5=JfnnlDI7RTiF9RgfG2JNCw==',
    want: { crc32c: '4waSgw==', md5: 'JfnnlDI7RTiF9RgfG2JNCw==' },
  },
  {
    name: 'repeated header',
    input: ['crc32c=AAAAAA==', 'MD5=x'],
    want: { crc32c: 'AAAAAA==', md5: 'x' },
  },
  { name: 'unknown algorithm ignored', input: 'sha256=abc', want: {} },
  {
    name: 'malformed',
    input: 'crc32c',
    error: /malformed x-goog-hash entry "crc32c": want ALG=BASE64/,
  },
];

for (const c of googHashes) {
  test(`parseGoogHash: ${c.name}`, () => {
    if (c.error !== undefined) assert.throws(() => parseGoogHash(c.input), c.error);
    else assert.deepEqual(parseGoogHash(c.input), c.want);
  });
}

test('hashMismatch names the first declared hash that differs', () => {
  const computed = { crc32c: '4waSgw==', md5Hash: 'm' };
  assert.equal(hashMismatch([{ crc32c: '4waSgw==' }, { md5: 'm' }], computed), undefined);
  assert.equal(
    hashMismatch([{}, { md5: 'x' }], computed),
    'Provided MD5 hash "x" doesn\'t match calculated MD5 hash "m".',
  );
  assert.equal(formatGoogHash(computed), 'crc32c=4waSgw==,md5=m');
});

const uploadRanges: { name: string; input: string; want?: object; error?: RegExp }[] = [
  {
    name: 'chunk of unknown total',
    input: 'bytes 0-262143/*',
    want: { first: 0, last: 262143, total: undefined },
  },
  {
    name: 'final chunk',
    input: 'bytes 262144-300000/300001',
    want: { first: 262144, last: 300000, total: 300001 },
  },
  {
    name: 'status check',
    input: 'bytes */300001',
    want: { first: undefined, last: undefined, total: 300001 },
  },
  {
    name: 'status check, total unknown',
    input: 'bytes */*',
    want: { first: undefined, last: undefined, total: undefined },
  },
  {
    name: 'streamed to the end',
    input: 'bytes 0-*/*',
    want: { first: 0, last: undefined, total: undefined },
  },
  { name: 'last before first', input: 'bytes 5-4/10', error: /last byte before first/ },
  { name: 'past the total', input: 'bytes 0-10/10', error: /last byte past the total/ },
  { name: 'other unit', input: 'items 0-1/2', error: /invalid Content-Range "items 0-1\/2"/ },
];

for (const c of uploadRanges) {
  test(`parseUploadRange: ${c.name}`, () => {
    if (c.error !== undefined) assert.throws(() => parseUploadRange(c.input), c.error);
    else assert.deepEqual(parseUploadRange(c.input), c.want);
  });
}

const downloadRanges: { name: string; input: [string | undefined, number]; want: unknown }[] = [
  { name: 'none', input: [undefined, 10], want: undefined },
  { name: 'closed', input: ['bytes=2-5', 10], want: { start: 2, end: 5 } },
  { name: 'open', input: ['bytes=0-', 10], want: { start: 0, end: 9 } },
  { name: 'end clamped', input: ['bytes=8-100', 10], want: { start: 8, end: 9 } },
  { name: 'suffix', input: ['bytes=-3', 10], want: { start: 7, end: 9 } },
  { name: 'suffix longer than the object', input: ['bytes=-30', 10], want: { start: 0, end: 9 } },
  { name: 'past the end', input: ['bytes=10-', 10], want: 'unsatisfiable' },
  { name: 'several ranges served whole', input: ['bytes=0-1,3-4', 10], want: undefined },
  { name: 'empty object served whole', input: ['bytes=0-', 0], want: undefined },
];

for (const c of downloadRanges) {
  test(`parseDownloadRange: ${c.name}`, () => {
    assert.deepEqual(parseDownloadRange(...c.input), c.want);
  });
}

const NAMES = ['a/b/1', 'a/b/2', 'a/c', 'a/d/', 'a/d/x', 'b', 'a.txt', 'a/'];

const listings: { name: string; input: Record<string, string>; want: string[][] }[] = [
  {
    name: 'flat',
    input: {},
    want: [['a.txt', 'a/', 'a/b/1', 'a/b/2', 'a/c', 'a/d/', 'a/d/x', 'b'], []],
  },
  { name: 'prefix', input: { prefix: 'a/b/' }, want: [['a/b/1', 'a/b/2'], []] },
  { name: 'delimiter at the top', input: { delimiter: '/' }, want: [['a.txt', 'b'], ['a/']] },
  {
    name: 'prefix and delimiter',
    input: { prefix: 'a/', delimiter: '/' },
    want: [
      ['a/', 'a/c'],
      ['a/b/', 'a/d/'],
    ],
  },
  {
    name: 'offsets',
    input: { startOffset: 'a/c', endOffset: 'a/d/x' },
    want: [['a/c', 'a/d/'], []],
  },
];

for (const c of listings) {
  test(`listPage: ${c.name}`, () => {
    const page = listPage(NAMES, listParams(new URLSearchParams(c.input)));
    assert.deepEqual([page.names, page.prefixes, page.nextPageToken], [...c.want, undefined]);
  });
}

test('listPage pages through names and prefixes without repeats or gaps', () => {
  const seen: string[] = [];
  let token = '';
  for (let i = 0; i < 10; i++) {
    const q = new URLSearchParams({
      prefix: 'a/',
      delimiter: '/',
      maxResults: '1',
      ...(token ? { pageToken: token } : {}),
    });
    const page = listPage(NAMES, listParams(q));
    seen.push(...page.prefixes, ...page.names);
    if (page.nextPageToken === undefined) break;
    token = page.nextPageToken;
  }
  assert.deepEqual(seen, ['a/', 'a/b/', 'a/c', 'a/d/']);
});

test('listParams refuses a bad maxResults', () => {
  assert.throws(
    () => listParams(new URLSearchParams({ maxResults: '0' })),
    /invalid maxResults "0": want a positive integer/,
  );
});

const boundaries: { name: string; input: string; want?: string; error?: RegExp }[] = [
  { name: 'token', input: 'multipart/related; boundary=abc', want: 'abc' },
  { name: 'double quotes', input: 'multipart/related; boundary="a b"', want: 'a b' },
  { name: 'apitools single quotes', input: "multipart/related; boundary='===1=='", want: '===1==' },
  {
    name: 'none',
    input: 'multipart/related',
    error: /no boundary in Content-Type "multipart\/related"/,
  },
];

for (const c of boundaries) {
  test(`boundaryOf: ${c.name}`, () => {
    if (c.error !== undefined) assert.throws(() => boundaryOf(c.input), c.error);
    else assert.equal(boundaryOf(c.input), c.want);
  });
}

/** chunked yields `body` in pieces of `size` bytes, to cut every delimiter somewhere. */
async function* chunked(body: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
}

async function readAll(body: Buffer, contentType: string, size: number) {
  const r = await openRelated(chunked(body, size), contentType);
  const media: Buffer[] = [];
  for await (const c of r.media) media.push(c);
  return {
    metadata: r.metadata.toString(),
    mediaType: r.mediaType,
    media: Buffer.concat(media).toString(),
  };
}

const data = 'line 1\r\n--not-the-boundary\n\r\nend';
const bodies: { name: string; input: [string, string] }[] = [
  {
    name: 'CRLF (gaxios)',
    input: [
      'multipart/related; boundary=B0',
      `--B0\r\nContent-Type: application/json\r\n\r\n{"name":"o"}\r\n--B0\r\nContent-Type: text/plain\r\n\r\n${data}\r\n--B0--\r\n`,
    ],
  },
  {
    name: 'bare LF (apitools)',
    input: [
      "multipart/related; boundary='==B0=='",
      `--==B0==\nContent-Type: application/json\nMIME-Version: 1.0\n\n{"name":"o"}\n--==B0==\nContent-Type: text/plain\nContent-Transfer-Encoding: binary\n\n${data}\n--==B0==--`,
    ],
  },
];

for (const c of bodies) {
  test(`openRelated reads ${c.name} bodies in any chunking`, async () => {
    const [contentType, body] = c.input;
    for (const size of [1, 2, 3, 7, 64, 4096]) {
      assert.deepEqual(await readAll(Buffer.from(body), contentType, size), {
        metadata: '{"name":"o"}',
        mediaType: 'text/plain',
        media: data,
      });
    }
  });
}

test('openRelated refuses a body without its closing boundary', async () => {
  const body = Buffer.from('--B\r\n\r\n{}\r\n--B\r\ncontent-type: x/y\r\n\r\ndata without end');
  await assert.rejects(readAll(body, 'multipart/related; boundary=B', 5), (err: Error) => {
    assert.ok(err instanceof MultipartError);
    assert.match(err.message, /ends without its closing boundary/);
    return true;
  });
});

const live: ObjectRecord = {
  bucket: 'b',
  name: 'o',
  generation: '17',
  metageneration: '1',
  size: 0,
  crc32c: '',
  md5Hash: '',
  timeCreated: '',
  updated: '',
  contentType: 'x/y',
};

const preconditions: {
  name: string;
  input: [ObjectRecord | undefined, Record<string, string>];
  want: boolean;
}[] = [
  {
    name: 'ifGenerationMatch=0 and no object',
    input: [undefined, { ifGenerationMatch: '0' }],
    want: true,
  },
  {
    name: 'ifGenerationMatch=0 and an object',
    input: [live, { ifGenerationMatch: '0' }],
    want: false,
  },
  { name: 'ifGenerationMatch current', input: [live, { ifGenerationMatch: '17' }], want: true },
  { name: 'ifGenerationMatch stale', input: [live, { ifGenerationMatch: '16' }], want: false },
  {
    name: 'ifGenerationNotMatch current',
    input: [live, { ifGenerationNotMatch: '17' }],
    want: false,
  },
  { name: 'ifMetagenerationMatch', input: [live, { ifMetagenerationMatch: '1' }], want: true },
  { name: 'none', input: [live, {}], want: true },
];

for (const c of preconditions) {
  test(`preconditionFailure: ${c.name}`, () => {
    const err = preconditionFailure(c.input[0], new URLSearchParams(c.input[1]));
    assert.equal(err === undefined, c.want);
    if (err !== undefined) {
      assert.equal(err.status, 412);
      assert.match(JSON.stringify(err.body), /"reason":"conditionNotMet"/);
    }
  });
}
