import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import {
  followLogs,
  LineCursor,
  LogStreamError,
  MAX_LINE,
  splitTimestamp,
  timeKey,
  type LogLine,
} from '../../src/core/build/logs.ts';
import { KubeApiError } from '../../src/core/kube/api.ts';

/** A fake API server log: lines with timestamps, several per second and some identical. */
function makeLog(n: number): string[] {
  const out: string[] = [];
  const base = Date.UTC(2026, 10, 21, 10, 0, 0);
  for (let i = 0; i < n; i++) {
    const ms = base + Math.floor(i / 7) * 150; // ~7 lines share a timestamp, ~6.6 stamps a second
    const ns = String((ms % 1000) * 1_000_000).padStart(9, '0');
    const iso = new Date(ms - (ms % 1000)).toISOString().replace('.000Z', '');
    const frac = ns.replace(/0+$/, '');
    out.push(`${iso}${frac ? '.' + frac : ''}Z line ${i}`);
  }
  return out;
}

/** serve answers the log from sinceTime (truncated to seconds, as the API server does), cut after `cut` bytes. */
function serve(log: string[], sinceTime: string | undefined, cut: number | undefined): Readable {
  const since = sinceTime ? (timeKey(sinceTime)! / 1_000_000_000n) * 1_000_000_000n : -1n;
  const body = log
    .filter((l) => timeKey(l.slice(0, l.indexOf(' ')))! >= since)
    .map((l) => l + '\n')
    .join('');
  const bytes = Buffer.from(body);
  if (cut === undefined) return Readable.from([bytes.subarray(0, 5000), bytes.subarray(5000)]);
  return new Readable({
    read() {
      this.push(bytes.subarray(0, cut));
      this.destroy(new Error('terminated'));
    },
  });
}

const cases = [
  { name: 'no drops', lines: 500, cuts: [] as number[] },
  { name: 'three drops mid-line', lines: 2000, cuts: [1234, 20017, 333] },
  { name: 'drop right after a newline', lines: 300, cuts: [0, 1, 2, 3, 4] },
  { name: 'many drops', lines: 3000, cuts: Array.from({ length: 25 }, (_, i) => 997 * (i + 1)) },
];

for (const c of cases) {
  test(`followLogs delivers every line once: ${c.name}`, async () => {
    const log = makeLog(c.lines);
    const cuts = [...c.cuts];
    const got: LogLine[] = [];
    const result = await followLogs({
      open: async (since) => serve(log, since, cuts.shift()),
      onLine: (l) => void got.push(l),
      terminated: Promise.resolve(),
      signal: new AbortController().signal,
      sleep: async () => {},
      maxFailures: 100,
    });
    assert.deepEqual(
      got.map((l) => l.text),
      log.map((l) => l.slice(l.indexOf(' ') + 1)),
    );
    assert.equal(result.lines, c.lines);
    assert.equal(result.reconnects, c.cuts.length);
  });
}

test('followLogs gives up after maxFailures failed reconnects in a row', async () => {
  await assert.rejects(
    followLogs({
      open: async () => {
        throw new Error('connection refused');
      },
      onLine: () => {},
      terminated: new Promise(() => {}),
      signal: new AbortController().signal,
      sleep: async () => {},
      maxFailures: 3,
    }),
    { name: 'LogStreamError', message: /failed 4 times in a row; last error: connection refused/ },
  );
  assert.ok(new LogStreamError('x') instanceof Error);
});

test('followLogs reconnects when a stream ends while the container still runs', async () => {
  const log = makeLog(50);
  let calls = 0;
  let markDone: () => void = () => {};
  const terminated = new Promise<void>((r) => (markDone = r));
  const got: string[] = [];
  await followLogs({
    open: async (since) => {
      calls++;
      if (calls === 1) return serve(log.slice(0, 20), since, undefined); // API timeout after 20 lines
      markDone();
      return serve(log, since, undefined);
    },
    onLine: (l) => void got.push(l.text),
    terminated,
    signal: new AbortController().signal,
    sleep: async () => {},
  });
  assert.equal(got.length, 50);
  assert.equal(new Set(got).size, 50);
});

test('followLogs waits out transient failures (an outage) past maxFailures, then delivers everything once', async () => {
  const log = makeLog(400);
  let calls = 0;
  const got: string[] = [];
  const refused = Object.assign(new KubeApiError(0, 'NetworkError', 'connect ECONNREFUSED'), {
    code: 'ECONNREFUSED',
  });
  const result = await followLogs({
    open: async (since) => {
      calls++;
      if (calls === 1) return serve(log, since, 3000);
      if (calls < 40) throw refused; // 38 refusals in a row: an outage
      return serve(log, since, undefined);
    },
    onLine: (l) => void got.push(l.text),
    terminated: Promise.resolve(),
    signal: new AbortController().signal,
    sleep: async () => {},
    maxFailures: 3,
  });
  assert.deepEqual(
    got,
    log.map((l) => l.slice(l.indexOf(' ') + 1)),
  );
  assert.equal(result.reconnects, 39);
});

test('followLogs never gives up while each cut stream delivered new lines; it counts what it re-read', async () => {
  const log = makeLog(3000);
  const got: string[] = [];
  let opens = 0;
  let markDone: () => void = () => {};
  const terminated = new Promise<void>((r) => (markDone = r));
  const result = await followLogs({
    // Every stream is cut after 4 KiB (more than one second of this log), 20+ cuts in a row,
    // until the container has ended and a stream finds nothing new.
    open: async (since) => {
      if (++opens > 40) markDone();
      return serve(log, since, opens > 40 ? undefined : 4096);
    },
    onLine: (l) => void got.push(l.text),
    terminated,
    signal: new AbortController().signal,
    sleep: async () => {},
    maxFailures: 3,
  });
  assert.deepEqual(
    got,
    log.map((l) => l.slice(l.indexOf(' ') + 1)),
  );
  assert.ok(result.reconnects > 20, `${result.reconnects} reconnects`);
  assert.ok(result.skippedLines > 0 && result.skippedBytes > 0);
});

test('followLogs says so and stops when streams are cut within one second of log', async () => {
  const log = makeLog(1000);
  const got: string[] = [];
  const told: string[] = [];
  const result = await followLogs({
    // After the first stream, each is cut after 200 bytes: less than one second of log.
    open: async (since) => serve(log, since, since ? 200 : 5000),
    onLine: (l) => void got.push(l.text),
    onStuck: (line) => told.push(line),
    terminated: Promise.resolve(),
    signal: new AbortController().signal,
    sleep: async () => {},
  });
  assert.equal(told.length, 1);
  assert.match(told[0]!, /cut faster than one second of log can be read/);
  assert.match(result.incomplete ?? '', /cut 5 times in a row before it got past second/);
  // What came is a prefix of the log, in order, each line once.
  assert.ok(got.length > 0 && got.length < 1000);
  assert.deepEqual(
    got,
    log.slice(0, got.length).map((l) => l.slice(l.indexOf(' ') + 1)),
  );
  assert.ok(result.skippedBytes > 0);
});

test('timeKey orders RFC 3339 timestamps with trimmed nanoseconds', () => {
  const rows = [
    { a: '2026-11-21T10:00:00.1Z', b: '2026-11-21T10:00:00.09Z', want: 1 },
    { a: '2026-11-21T10:00:00Z', b: '2026-11-21T10:00:00.000000001Z', want: -1 },
    { a: '2026-11-21T10:00:01+01:00', b: '2026-11-21T09:00:01Z', want: 0 },
  ];
  for (const r of rows) {
    const d = timeKey(r.a)! - timeKey(r.b)!;
    assert.equal(d === 0n ? 0 : d > 0n ? 1 : -1, r.want, `${r.a} vs ${r.b}`);
  }
  assert.equal(timeKey('yesterday'), undefined);
});

test('timeKey answers the same whatever it parsed before (its memo of the last value and second)', () => {
  const times = [
    '2026-11-21T10:00:00.5Z',
    '2026-11-21T10:00:00.5Z',
    '2026-11-21T10:00:00.25Z',
    '2026-11-21T11:00:00.25+01:00',
    '2026-11-21T10:00:00.25Z',
    '2026-02-30T10:00:00Z',
    '2026-11-21T10:00:00.25Z',
    'yesterday',
    '2026-11-21T10:00:01Z',
    // The same second as the last parse (read without the regular expression), and near misses.
    '2026-11-21T10:00:01.123456789Z',
    '2026-11-21T10:00:01Z',
    '2026-11-21T10:00:01.1234567890Z',
    '2026-11-21T10:00:01.Z',
    '2026-11-21T10:00:01.1x2Z',
    '2026-11-21T10:00:01.5+00:00',
  ];
  const want = [
    1_795_255_200_500_000_000n,
    1_795_255_200_500_000_000n,
    1_795_255_200_250_000_000n,
    1_795_255_200_250_000_000n,
    1_795_255_200_250_000_000n,
    // Date.parse rolls February 30 over to March 2, like before the memo.
    BigInt(Date.parse('2026-02-30T10:00:00Z')) * 1_000_000n,
    1_795_255_200_250_000_000n,
    undefined,
    1_795_255_201_000_000_000n,
    1_795_255_201_123_456_789n,
    1_795_255_201_000_000_000n,
    undefined,
    undefined,
    undefined,
    1_795_255_201_500_000_000n,
  ];
  assert.deepEqual(times.map(timeKey), want);
});

test('LineCursor skips what was already delivered at the last timestamp', () => {
  const c = new LineCursor();
  const t1 = '2026-11-21T10:00:00.5Z';
  const t2 = '2026-11-21T10:00:00.6Z';
  assert.deepEqual([c.accept(t1), c.accept(t2), c.accept(t2)], [true, true, true]);
  c.rewind();
  assert.deepEqual(
    [c.accept(t1), c.accept(t2), c.accept(t2), c.accept(t2)],
    [false, false, false, true],
  );
  assert.deepEqual(splitTimestamp(`${t1} hello world`), { time: t1, text: 'hello world' });
  assert.deepEqual(splitTimestamp('no stamp here'), { time: '', text: 'no stamp here' });
});

/**
 * slowStream answers a stream that the test feeds by hand, destroyed when the
 * follower aborts its attempt (as openLogStream's request is).
 */
function slowStream(signal: AbortSignal): Readable {
  const stream = new Readable({ read() {} });
  signal.addEventListener('abort', () => stream.destroy(new Error('aborted')), { once: true });
  return stream;
}

/** settle lets the follower consume what was pushed (streams run on ticks and immediates, not timers). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

const drainCases = [
  {
    name: 'a backlog still arriving after the container ended is read to its end, never cut',
    input: { gapMs: 30, silentMs: 0 },
    want: { reconnects: 0 },
  },
  {
    name: 'a stream silent for the drain timeout after the container ended is opened again',
    input: { gapMs: 30, silentMs: 60 },
    want: { reconnects: 1 },
  },
];

for (const c of drainCases) {
  test(`followLogs: ${c.name}`, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const log = makeLog(400);
    let first: Readable | undefined;
    const got: string[] = [];
    const done = followLogs({
      open: async (since, signal) => {
        if (first) return serve(log, since, undefined); // a reopened stream: everything at once
        first = slowStream(signal);
        return first;
      },
      onLine: (l) => void got.push(l.text),
      terminated: Promise.resolve(),
      signal: new AbortController().signal,
      sleep: async () => {},
      drainTimeoutMs: 50,
    });
    await settle();
    // 40 pieces, 30 ms apart: 1.2 s of backlog after the container ended, 24 drain timeouts long.
    const body = Buffer.from(log.map((l) => `${l}\n`).join(''));
    const piece = Math.ceil(body.length / 40);
    for (let at = 0; at < body.length && !first!.destroyed; at += piece) {
      first!.push(body.subarray(at, at + piece));
      await settle();
      t.mock.timers.tick(
        at + piece >= body.length / 2 ? c.input.silentMs || c.input.gapMs : c.input.gapMs,
      );
      await settle();
    }
    if (!first!.destroyed) first!.push(null);
    const result = await done;
    assert.equal(result.reconnects, c.want.reconnects);
    assert.deepEqual(
      got,
      log.map((l) => l.slice(l.indexOf(' ') + 1)),
    );
  });
}

/** followText follows the streams `open` answers through onText: the bytes, lines and result. */
async function followText(
  open: (since: string | undefined) => Promise<Readable>,
): Promise<{ bytes: Buffer; lines: number; result: { lines: number } }> {
  const pieces: Buffer[] = [];
  let lines = 0;
  const result = await followLogs({
    open,
    onText: (text, n) => {
      pieces.push(text);
      lines += n;
    },
    terminated: Promise.resolve(),
    signal: new AbortController().signal,
    sleep: async () => {},
    maxFailures: 100,
  });
  return { bytes: Buffer.concat(pieces), lines, result };
}

for (const c of cases) {
  test(`followLogs onText delivers the same text as onLine, once, in order: ${c.name}`, async () => {
    const log = makeLog(c.lines);
    const cuts = [...c.cuts];
    const got = await followText(async (since) => serve(log, since, cuts.shift()));
    const want = log.map((l) => `${l.slice(l.indexOf(' ') + 1)}\n`).join('');
    assert.equal(got.bytes.toString('utf8'), want);
    assert.equal(got.lines, c.lines);
    assert.equal(got.result.lines, c.lines);
  });
}

test('followLogs onText: bytes as written (a character split between reads, invalid UTF-8), lines without a timestamp, a line longer than MAX_LINE', async () => {
  const t = '2026-11-21T10:00:00.000000001Z';
  const long = 'y'.repeat(MAX_LINE + 100_000);
  const body = Buffer.concat([
    Buffer.from(`${t} grüße ✓\n`),
    Buffer.from([0xff, 0xfe, 0x0a]), // not UTF-8, no timestamp
    Buffer.from(`no stamp here\n${t} ${long}\n${t} last`),
  ]);
  // Reads of 7 bytes: every multi-byte character and the timestamp are cut somewhere.
  const reads: Buffer[] = [];
  for (let at = 0; at < 203; at += 7) reads.push(body.subarray(at, at + 7));
  // The rest in 64 KiB reads: the long line passes MAX_LINE before its newline comes.
  for (let at = 203; at < body.length; at += 65536) reads.push(body.subarray(at, at + 65536));
  const { bytes: got, lines } = await followText(async () => Readable.from(reads));
  const want = Buffer.concat([
    Buffer.from('grüße ✓\n'),
    Buffer.from([0xff, 0xfe, 0x0a]),
    // The long line: its first MAX_LINE+ bytes as one piece (timestamp read off), then the rest.
    Buffer.from(`no stamp here\n`),
  ]);
  assert.deepEqual(got.subarray(0, want.length), want);
  const rest = got.subarray(want.length).toString('utf8');
  const joined = rest.replace(/\n/g, '');
  // (Compared by length and ends: a failing assert.equal would print two MiB.)
  assert.equal(joined.length, long.length + 4, JSON.stringify(joined.slice(0, 40)));
  assert.ok(/^y+last$/.test(joined), JSON.stringify(joined.slice(0, 40)));
  assert.ok(
    rest.endsWith('\nlast\n'),
    'the last line without newline comes once the container ended',
  );
  // Six lines: three short ones, the long one in two pieces, and the last.
  assert.equal(lines, 6);
  assert.equal(rest.split('\n').length - 1, 3);
});
