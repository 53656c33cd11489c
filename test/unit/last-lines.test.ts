// last-lines.test.ts: LastLines (build/output.ts) keeps the last N lines of a log given as pieces
// of whole lines, whatever the pieces' sizes, for the failure message and the summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LastLines } from '../../src/core/build/output.ts';

/** feed gives `lines` to a LastLines(max) in pieces of `per` lines and answers what it keeps. */
function feed(max: number, lines: string[], per: number): string[] {
  const keep = new LastLines(max);
  for (let i = 0; i < lines.length; i += per)
    keep.add(
      Buffer.from(
        lines
          .slice(i, i + per)
          .map((l) => `${l}\n`)
          .join(''),
      ),
    );
  return keep.lines();
}

const lines = Array.from({ length: 57 }, (_, i) => `line ${i} ✓`);
const cases = [
  { name: 'one line a piece', input: { max: 20, per: 1 }, want: lines.slice(-20) },
  { name: 'pieces of 7 lines', input: { max: 20, per: 7 }, want: lines.slice(-20) },
  { name: 'one piece with more than max', input: { max: 20, per: 57 }, want: lines.slice(-20) },
  { name: 'exactly max a piece', input: { max: 19, per: 19 }, want: lines.slice(-19) },
  { name: 'fewer lines than max', input: { max: 100, per: 5 }, want: lines },
  { name: 'max 1', input: { max: 1, per: 3 }, want: lines.slice(-1) },
  { name: 'max 0 keeps nothing', input: { max: 0, per: 3 }, want: [] },
];
for (const c of cases) {
  test(`LastLines: ${c.name}`, () => {
    assert.deepEqual(feed(c.input.max, lines, c.input.per), c.want);
  });
}

test('LastLines keeps empty lines, and only as many pieces as hold the lines', () => {
  const keep = new LastLines(3);
  keep.add(Buffer.from('a\n\n'));
  keep.add(Buffer.from('b\n'));
  assert.deepEqual(keep.lines(), ['a', '', 'b']);
  keep.add(Buffer.from('c\n'));
  assert.deepEqual(keep.lines(), ['', 'b', 'c']);
});
