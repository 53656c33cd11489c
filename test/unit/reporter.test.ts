// reporter.test.ts: ActionsReporter batches build lines but keeps stdout in call order, wraps
// build output in ::stop-commands:: so a build cannot issue workflow commands, and turns them
// back on before any message of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { ActionsReporter, FLUSH_BYTES } from '../../src/action/reporter.ts';

/** capture answers a reporter over a stream and the text written to it so far. */
function capture(): { reporter: ActionsReporter; text: () => string; writes: () => number } {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (b: Buffer) => chunks.push(b.toString('utf8')));
  return {
    reporter: new ActionsReporter(out),
    text: () => chunks.join(''),
    writes: () => chunks.length,
  };
}

test('build lines are batched, then written at the end of the turn, inside stop-commands', async () => {
  const c = capture();
  for (let i = 0; i < 100; i++) await c.reporter.buildLine(`line ${i}`);
  assert.equal(c.text(), '', 'nothing written within the same turn');
  await tick();
  await tick();
  const lines = c.text().split('\n');
  assert.match(lines[0] ?? '', /^::stop-commands::[0-9a-f]{32}$/);
  assert.deepEqual(
    lines.slice(1, 101),
    Array.from({ length: 100 }, (_, i) => `line ${i}`),
  );
  assert.equal(c.writes(), 1, 'one write for the whole batch');
});

test('a full batch is written at once', async () => {
  const c = capture();
  const line = 'x'.repeat(1023);
  for (let i = 0; i < FLUSH_BYTES / 1024; i++) await c.reporter.buildLine(line);
  await new Promise((r) => process.nextTick(r));
  assert.ok(
    c.text().length >= FLUSH_BYTES,
    `wrote ${c.text().length} bytes without waiting a turn`,
  );
});

test('our messages come after the batched lines, with workflow commands back on', async () => {
  const c = capture();
  const stdout = process.stdout.write;
  // core.info writes to process.stdout: send it to the same capture, in order.
  const seen: string[] = [];
  process.stdout.write = ((s: string) => {
    seen.push(`[core]${s}`);
    return true;
  }) as typeof process.stdout.write;
  try {
    await c.reporter.buildLine('::add-mask::not-a-command');
    await c.reporter.buildLine('last build line');
    const before = c.text();
    c.reporter.info('Build finished');
    const after = c.text();
    assert.equal(before, '', 'still batched before the message');
    const token = /^::stop-commands::([0-9a-f]{32})$/m.exec(after)?.[1];
    assert.ok(token, after);
    assert.ok(
      after.endsWith(`::add-mask::not-a-command\nlast build line\n::${token}::\n`),
      JSON.stringify(after),
    );
    assert.deepEqual(seen, ['[core]Build finished\n']);
    c.reporter.close();
    assert.equal(c.text(), after, 'close after a message writes nothing more');
  } finally {
    process.stdout.write = stdout;
  }
});

test('buildOutput writes the bytes as they are, inside stop-commands, after what was batched', async () => {
  const c = capture();
  await c.reporter.buildLine('batched first');
  await c.reporter.buildOutput(Buffer.from('::error::not a command\nbytes \xff\n', 'latin1'));
  c.reporter.close();
  await tick();
  const lines = c.text().split('\n');
  const token = /^::stop-commands::([0-9a-f]{32})$/.exec(lines[0] ?? '')?.[1];
  assert.ok(token, lines[0]);
  assert.deepEqual(lines.slice(1), [
    'batched first',
    '::error::not a command',
    'bytes \ufffd',
    `::${token}::`,
    '',
  ]);
});

test('buildOutput as the first output switches workflow commands off first', async () => {
  const c = capture();
  await c.reporter.buildOutput(Buffer.from('::add-mask::x\n'));
  const lines = c.text().split('\n');
  assert.match(lines[0] ?? '', /^::stop-commands::[0-9a-f]{32}$/);
  assert.equal(lines[1], '::add-mask::x');
});
