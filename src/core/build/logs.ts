/**
 * logs.ts: follows a container's log without losing or repeating a line.
 *
 * The log is requested with `timestamps=true`, so every line starts with the
 * RFC 3339 (nanosecond) time the runtime stamped it with. When a stream drops
 * (network, API server timeout, proxy) or ends while the container still runs,
 * the follower reconnects with `sinceTime` = the last timestamp seen. The API
 * server truncates sinceTime to whole seconds (metav1.Time), so the new stream
 * repeats some lines: those before the last timestamp are dropped, and of the
 * lines carrying exactly the last timestamp, as many as were already delivered.
 * An incomplete last line of a dropped stream is discarded; it comes again.
 * Lines are handed over one at a time and awaited, so memory stays flat
 * whatever the log size.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** LogLine: one line of a container's output, without its newline. */
export interface LogLine {
  /** The runtime's timestamp, RFC 3339 with up to nanoseconds. */
  time: string;
  text: string;
}

/** FollowOptions: how to (re)open the stream, where lines go, when to stop. */
export interface FollowOptions {
  /** Opens the log with follow=true and timestamps=true, from sinceTime when given. */
  open: (sinceTime: string | undefined, signal: AbortSignal) => Promise<Readable>;
  onLine: (line: LogLine) => void | Promise<void>;
  /** Resolves when the container has terminated (from the pod watch). */
  terminated: Promise<void>;
  signal: AbortSignal;
  /**
   * After `terminated`, how long the stream may stay silent (no bytes read, no
   * line delivered) before it is taken for a half-open connection and opened
   * again (ms, default 10 s). A stream still delivering a long backlog is
   * never cut.
   */
  drainTimeoutMs?: number;
  /** Failed reconnects allowed in a row before giving up (default 20). */
  maxFailures?: number;
  onReconnect?: (attempt: number, reason: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

/** FollowResult: what was delivered. */
export interface FollowResult {
  lines: number;
  reconnects: number;
}

/** LogStreamError: the log could not be followed (too many failed reconnects). */
export class LogStreamError extends Error {
  override name = 'LogStreamError';
}

/** Longest line kept whole (bytes of text); a longer one is delivered in pieces. */
export const MAX_LINE = 1 << 20;

/** The last timestamp timeKey parsed and its answer, and the last whole second (ms) it parsed. */
const memo = { time: '', key: undefined as bigint | undefined, second: '', secondKey: 0n };

/**
 * timeKey turns an RFC 3339 timestamp into nanoseconds since the epoch (BigInt), for ordering.
 * Each line's timestamp is looked at twice in a row (splitTimestamp, then LineCursor.accept) and
 * consecutive lines mostly share their second: both are remembered, so a busy log is not
 * parsed twice per line (docs/benchmarks.md, "Where the action's time goes").
 */
export function timeKey(time: string): bigint | undefined {
  if (time === memo.time) return memo.key;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  let key: bigint | undefined;
  if (m) {
    const second = `${m[1]}${m[3]}`;
    if (second !== memo.second) {
      const ms = Date.parse(second);
      if (!Number.isNaN(ms)) Object.assign(memo, { second, secondKey: BigInt(ms) * 1_000_000n });
    }
    if (second === memo.second) key = memo.secondKey + BigInt((m[2] ?? '').padEnd(9, '0'));
  }
  memo.time = time;
  memo.key = key;
  return key;
}

/** LineCursor remembers the last delivered timestamp and how many lines carried it. */
export class LineCursor {
  last: bigint | undefined;
  lastTime: string | undefined;
  atLast = 0;
  private skipAtLast = 0;

  /** rewind is called at each reconnect: lines at the last timestamp are skipped up to atLast. */
  rewind(): void {
    this.skipAtLast = this.atLast;
  }

  /** accept tells whether a line with this timestamp is new, and records it when it is. */
  accept(time: string): boolean {
    const key = timeKey(time);
    if (key === undefined) return true;
    if (this.last !== undefined && key < this.last) return false;
    if (this.last !== undefined && key === this.last) {
      if (this.skipAtLast > 0) {
        this.skipAtLast--;
        return false;
      }
      this.atLast++;
      return true;
    }
    this.last = key;
    this.lastTime = time;
    this.atLast = 1;
    this.skipAtLast = 0;
    return true;
  }
}

/** splitTimestamp separates `2026-01-01T00:00:00.123456789Z text` into time and text. */
export function splitTimestamp(raw: string): LogLine {
  const sp = raw.indexOf(' ');
  if (sp > 0 && timeKey(raw.slice(0, sp)) !== undefined) {
    return { time: raw.slice(0, sp), text: raw.slice(sp + 1) };
  }
  return { time: '', text: raw };
}

/**
 * followLogs delivers every line of the container's log once, in order, until
 * the container has terminated and its stream has ended. Throws LogStreamError
 * after `maxFailures` failed reconnects in a row.
 */
export async function followLogs(opts: FollowOptions): Promise<FollowResult> {
  const cursor = new LineCursor();
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const drainMs = opts.drainTimeoutMs ?? 10_000;
  const maxFailures = opts.maxFailures ?? 20;
  let terminated = false;
  void opts.terminated.then(() => (terminated = true));
  let lines = 0;
  let reconnects = 0;
  let failures = 0;
  let finalRead = false;

  while (!opts.signal.aborted) {
    const attempt = new AbortController();
    const stop = () => attempt.abort();
    opts.signal.addEventListener('abort', stop, { once: true });
    // Once the container has ended, its stream must end by itself; if it goes
    // silent instead (a half-open connection), abort it and read the rest once
    // more. Only silence counts: after a large, fast log the backlog may take
    // minutes to read, and cutting it would re-read the last second over and
    // over without getting further.
    let drainTimer: NodeJS.Timeout | undefined;
    let active = true;
    let lastProgress = Date.now();
    const whenSilent = (ms: number) => {
      drainTimer = setTimeout(() => {
        if (!active) return;
        const silent = Date.now() - lastProgress;
        if (silent < drainMs) return whenSilent(drainMs - silent);
        finalRead = true;
        attempt.abort();
      }, ms);
    };
    void opts.terminated.then(() => {
      if (active) whenSilent(drainMs);
    });
    let endedCleanly = false;
    let reason = '';
    try {
      const stream = await opts.open(cursor.lastTime, attempt.signal);
      const decoder = new StringDecoder('utf8');
      let pending = '';
      const deliver = async (raw: string) => {
        const line = splitTimestamp(raw);
        if (!cursor.accept(line.time)) return;
        lines++;
        await opts.onLine(line);
        lastProgress = Date.now();
      };
      for await (const chunk of stream) {
        lastProgress = Date.now();
        pending += decoder.write(chunk as Buffer);
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const raw = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          await deliver(raw);
        }
        if (pending.length > MAX_LINE) {
          await deliver(pending);
          pending = '';
        }
      }
      pending += decoder.end();
      endedCleanly = true;
      // A clean end while the container is done: a last line without newline is real.
      if (pending && terminated) await deliver(pending);
      failures = 0;
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
      if (!attempt.signal.aborted || !finalRead) failures++;
    } finally {
      active = false;
      clearTimeout(drainTimer);
      opts.signal.removeEventListener('abort', stop);
    }
    if (opts.signal.aborted) break;
    if (endedCleanly && terminated) break;
    if (failures > maxFailures) {
      throw new LogStreamError(
        `log stream failed ${failures} times in a row; last error: ${reason}`,
      );
    }
    reconnects++;
    cursor.rewind();
    opts.onReconnect?.(reconnects, reason || 'stream ended while the container runs');
    if (failures > 0) await sleep(Math.min(5_000, 200 * 2 ** Math.min(failures, 5)));
    // Ended before the pod watch saw the container end: give the watch a moment.
    else if (endedCleanly) await Promise.race([opts.terminated, sleep(1_000)]);
  }
  return { lines, reconnects };
}
