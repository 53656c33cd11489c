// crc32c.test.ts: the WebAssembly CRC32C gives what @google-cloud/storage's
// CRC32C class gives (the reference), for any split of the data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CRC32C } from '@google-cloud/storage';
import { createCrc32c } from '../../src/core/gcs/crc32c.ts';

function reference(data: Buffer): string {
  const crc = new CRC32C();
  crc.update(data);
  return crc.toString();
}

// Any bytes do: the reference computes the same data.
const MIB = randomBytes(1 << 20);

const cases: { name: string; input: { data: Buffer; pieces: number[] }; want: string }[] = [
  { name: 'no data', input: { data: Buffer.alloc(0), pieces: [] }, want: 'AAAAAA==' },
  // RFC 3720 B.4: 32 bytes of zeros give 0x8A9136AA.
  {
    name: '32 zero bytes (RFC 3720)',
    input: { data: Buffer.alloc(32), pieces: [32] },
    want: 'ipE2qg==',
  },
  {
    name: '"123456789" (check value 0xE3069283)',
    input: { data: Buffer.from('123456789'), pieces: [9] },
    want: '4waSgw==',
  },
  {
    name: '1 MiB in one piece',
    input: { data: MIB, pieces: [1 << 20] },
    want: reference(MIB),
  },
  {
    name: '1 MiB in odd pieces',
    input: { data: MIB, pieces: [1, 7, 65536, 3, 1048576] },
    want: reference(MIB),
  },
];

for (const c of cases) {
  test(`createCrc32c: ${c.name}`, async () => {
    const crc = await createCrc32c();
    let at = 0;
    for (const n of c.input.pieces) {
      crc.update(c.input.data.subarray(at, at + n));
      at += n;
    }
    assert.equal(crc.toString(), c.want);
    assert.equal(crc.toString(), c.want, 'toString twice answers the same');
  });
}

test('createCrc32c: an update after toString throws', async () => {
  const crc = await createCrc32c();
  crc.toString();
  assert.throws(() => crc.update(Buffer.from('x')), /update after toString/);
});

test('createCrc32c: accumulators are independent', async () => {
  const [a, b] = await Promise.all([createCrc32c(), createCrc32c()]);
  a.update(Buffer.from('1234'));
  b.update(Buffer.from('abc'));
  a.update(Buffer.from('56789'));
  assert.equal(a.toString(), '4waSgw==');
  assert.equal(b.toString(), reference(Buffer.from('abc')));
});
