// gcs-readahead.test.ts: resumableUpload reads the next chunk of the body
// while a chunk's PUT is in flight, and holds no more than that one chunk ahead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { CRC32C } from '@google-cloud/storage';
import { resumableUpload } from '../../src/core/gcs/resumable.ts';

const CHUNK = 256 * 1024;
const PIECE = 16 * 1024;

/** turns lets pending reads run: up to `max` event-loop turns, until `done()`. */
async function turns(done: () => boolean, max = 200): Promise<void> {
  for (let i = 0; i < max && !done(); i++) await new Promise((r) => setImmediate(r));
}

const cases = [
  { name: '4 chunks', input: { chunks: 4 } },
  { name: '2.5 chunks', input: { chunks: 2.5 } },
  { name: 'one chunk', input: { chunks: 1 } },
];

for (const c of cases) {
  test(`resumableUpload reads ahead while sending: ${c.name}`, async () => {
    const data = randomBytes(Math.round(c.input.chunks * CHUNK));
    let read = 0;
    const body = Readable.from(
      (function* () {
        for (let at = 0; at < data.length; at += PIECE) {
          const piece = data.subarray(at, at + PIECE);
          read += piece.length;
          yield piece;
        }
      })(),
      { highWaterMark: 1 },
    );
    const puts: { offset: number; readDuringPut: number }[] = [];
    let offset = 0;
    const fetch = async (_url: string | URL, init?: RequestInit): Promise<Response> => {
      if (init?.method === 'POST') {
        return new Response('', {
          status: 200,
          headers: { location: 'http://gcs.test/session/1' },
        });
      }
      const size = Number(new Headers(init?.headers).get('content-length'));
      const final = !/\/\*$/.test(new Headers(init?.headers).get('content-range') ?? '');
      // While this PUT is "in flight", the uploader may read on: at most one more chunk.
      const want = Math.min(data.length, offset + size + CHUNK);
      await turns(() => read >= want);
      puts.push({ offset, readDuringPut: read });
      offset += size;
      if (!final) {
        return new Response('', { status: 308, headers: { range: `bytes=0-${offset - 1}` } });
      }
      const crc = new CRC32C();
      crc.update(data);
      return Response.json({
        name: 'o',
        size: String(offset),
        crc32c: crc.toString(),
        generation: '1',
      });
    };
    const res = await resumableUpload({
      apiEndpoint: 'http://gcs.test',
      bucket: 'b-test',
      name: 'o',
      body,
      chunkSize: CHUNK,
      authorization: async () => undefined,
      fetch,
      retry: { policy: { attempts: 1 } },
    });
    assert.equal(res.size, data.length);
    const chunks = Math.ceil(data.length / CHUNK);
    assert.equal(puts.length, chunks);
    for (const [i, p] of puts.entries()) {
      const sent = p.offset + Math.min(CHUNK, data.length - p.offset);
      const ahead = p.readDuringPut - sent;
      if (i < chunks - 1) {
        const next = Math.min(CHUNK, data.length - sent);
        assert.ok(
          ahead >= next,
          `PUT ${i + 1}: ${ahead} of the next ${next} bytes were read while it was sent`,
        );
      }
      // One chunk ahead, plus what the stream itself buffers.
      assert.ok(ahead <= CHUNK + 2 * PIECE, `PUT ${i + 1}: ${ahead} bytes read ahead`);
    }
  });
}
