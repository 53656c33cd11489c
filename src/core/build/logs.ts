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
 * Lines are handed over one at a time, and a line whose `onLine` answers a
 * promise (a full sink) is awaited before the next, so memory stays flat
 * whatever the log size. What reconnects re-read and drop is counted
 * (FollowResult.skippedBytes): at most one second of log per reconnect.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { kubeTransient } from '../kube/api.ts';
import { networkCode } from '../base/retry.ts';

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
  /** Ends the follow (cancellation, or an outage longer than its budget). */
  signal: AbortSignal;
  /**
   * After `terminated`, how long the stream may stay silent (no bytes read, no
   * line delivered) before it is taken for a half-open connection and opened
   * again (ms, default 10 s). A stream still delivering a long backlog is
   * never cut.
   */
  drainTimeoutMs?: number;
  /**
   * Failed reconnects allowed in a row before giving up (default 20). Only refusals count
   * (e.g. 400 "container is waiting to start", 404): a stream that delivered new lines before it
   * was cut resets the count, and transient failures (`transient`: connection refused, 429,
   * 5xx) are waited out with backoff until `signal` ends the follow.
   */
  maxFailures?: number;
  /** transient tells a failure worth waiting out (default: kube/api.ts kubeTransient). */
  transient?: (err: unknown) => boolean;
  /**
   * Reconnects in a row cut before they even re-read the lines already delivered (the stream is
   * cut within one second of log) before following stops as hopeless (default 5).
   */
  stuckLimit?: number;
  onReconnect?: (attempt: number, reason: string) => void;
  /** Told once when following stops because cuts come faster than one second of log. */
  onStuck?: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

/** FollowResult: what was delivered, and what the reconnects cost. */
export interface FollowResult {
  lines: number;
  reconnects: number;
  /** Lines and bytes read again after reconnects and dropped (sinceTime's one-second resolution). */
  skippedLines: number;
  skippedBytes: number;
  /** Set when following stopped before the end (cuts faster than one second of log): why. */
  incomplete?: string;
}

/** LogStreamError: the log could not be followed (too many failed reconnects). */
export class LogStreamError extends Error {
  override name = 'LogStreamError';
}

/** Longest line kept whole (bytes of text); a longer one is delivered in pieces. */
export const MAX_LINE = 1 << 20;

/**
 * The last timestamp timeKey parsed and its answer, and the last whole second it parsed: its
 * key (ns), its text (`YYYY-MM-DDTHH:MM:SS`) and its zone (`Z` or `+01:00`).
 */
const memo = {
  time: '',
  key: undefined as bigint | undefined,
  second: '',
  secondKey: 0n,
  head: '',
  zone: '',
};

/**
 * fraction answers the nanoseconds of `.d{1,9}` in time[from, end) (0 when empty), or undefined
 * when that is not what is there. No allocation: it runs for every line of a log.
 */
function fraction(time: string, from: number, end: number): number | undefined {
  if (from === end) return 0;
  const digits = end - from - 1;
  if (time.charCodeAt(from) !== 46 || digits < 1 || digits > 9) return undefined;
  let ns = 0;
  for (let i = from + 1; i < end; i++) {
    const d = time.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    ns = ns * 10 + d;
  }
  return ns * 10 ** (9 - digits);
}

/**
 * timeKey turns an RFC 3339 timestamp into nanoseconds since the epoch (BigInt), for ordering.
 * Each line's timestamp is looked at twice in a row (splitTimestamp, then LineCursor.accept) and
 * consecutive lines mostly share their second: both are remembered, and a timestamp in the
 * second parsed last is read without a regular expression, so a busy log is not parsed twice
 * per line (docs/benchmarks.md, "Where the action's time goes").
 */
export function timeKey(time: string): bigint | undefined {
  if (time === memo.time) return memo.key;
  let key: bigint | undefined;
  const ns =
    memo.head && time.startsWith(memo.head) && time.endsWith(memo.zone)
      ? fraction(time, memo.head.length, time.length - memo.zone.length)
      : undefined;
  if (ns !== undefined) {
    key = memo.secondKey + BigInt(ns);
  } else {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(time);
    if (m) {
      const second = `${m[1]}${m[3]}`;
      if (second !== memo.second) {
        const ms = Date.parse(second);
        if (!Number.isNaN(ms))
          Object.assign(memo, {
            second,
            secondKey: BigInt(ms) * 1_000_000n,
            head: m[1] ?? '',
            zone: m[3] ?? '',
          });
      }
      if (second === memo.second) key = memo.secondKey + BigInt((m[2] ?? '').padEnd(9, '0'));
    }
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

  /** caughtUp: since the last rewind, the stream re-read every line already delivered. */
  get caughtUp(): boolean {
    return this.skipAtLast === 0;
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
 * the container has terminated and its stream has ended. A stream cut after it
 * delivered new lines is opened again at once (no failure counted); transient
 * failures are retried with capped exponential backoff and full jitter until
 * `signal` aborts; refusals throw LogStreamError after `maxFailures` in a row.
 * When `stuckLimit` reconnects in a row only re-read the current second, no
 * reader of this API can get further (sinceTime has one-second resolution):
 * onStuck is told, and following stops once the container ends, the result
 * marked `incomplete`.
 */
export async function followLogs(opts: FollowOptions): Promise<FollowResult> {
  const cursor = new LineCursor();
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const drainMs = opts.drainTimeoutMs ?? 10_000;
  const maxFailures = opts.maxFailures ?? 20;
  const stuckLimit = opts.stuckLimit ?? 5;
  const transient =
    opts.transient ??
    ((err: unknown) => kubeTransient(err) !== undefined || networkCode(err) !== undefined);
  let terminated = false;
  void opts.terminated.then(() => (terminated = true));
  const result: FollowResult = { lines: 0, reconnects: 0, skippedLines: 0, skippedBytes: 0 };
  let failures = 0;
  let waits = 0;
  let stuck = 0;
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
    const progressed = () => {
      lastProgress = Date.now();
    };
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
    let fresh = 0;
    let reread = 0;
    let failure: unknown;
    try {
      const stream = await opts.open(cursor.lastTime, attempt.signal);
      const decoder = new StringDecoder('utf8');
      let pending = '';
      // deliver answers a promise only when onLine does (a sink to wait for): most lines pass
      // without one, so a busy log does not make a promise per line.
      const deliver = (raw: string): void | Promise<void> => {
        const line = splitTimestamp(raw);
        if (!cursor.accept(line.time)) {
          reread++;
          result.skippedBytes += Buffer.byteLength(raw) + 1;
          return;
        }
        fresh++;
        result.lines++;
        const wait = opts.onLine(line);
        if (wait) return wait.then(progressed);
        progressed();
      };
      for await (const chunk of stream) {
        lastProgress = Date.now();
        pending += decoder.write(chunk as Buffer);
        let from = 0;
        let nl: number;
        while ((nl = pending.indexOf('\n', from)) >= 0) {
          const wait = deliver(pending.slice(from, nl));
          from = nl + 1;
          if (wait) await wait;
        }
        pending = from > 0 ? pending.slice(from) : pending;
        if (pending.length > MAX_LINE) {
          await deliver(pending);
          pending = '';
        }
      }
      pending += decoder.end();
      endedCleanly = true;
      // A clean end while the container is done: a last line without newline is real.
      if (pending && terminated) await deliver(pending);
    } catch (err) {
      failure = err;
      reason = err instanceof Error ? err.message : String(err);
    } finally {
      active = false;
      clearTimeout(drainTimer);
      opts.signal.removeEventListener('abort', stop);
    }
    result.skippedLines += reread;
    if (opts.signal.aborted) break;
    if (endedCleanly && terminated) break;
    // What this attempt tells: progress (new lines), a stream that only re-read the current
    // second, a transient failure to wait out, or a refusal.
    const cut = failure !== undefined && !(attempt.signal.aborted && finalRead);
    if (fresh > 0 || endedCleanly) {
      failures = 0;
      waits = 0;
      stuck = 0;
    } else if (cut && reread > 0 && !cursor.caughtUp) {
      // Cut again before it even got back to the last line delivered.
      stuck++;
    } else if (cut && transient(failure)) {
      waits++;
    } else if (cut) {
      failures++;
    }
    if (failures > maxFailures) {
      throw new LogStreamError(
        `log stream failed ${failures} times in a row; last error: ${reason}`,
      );
    }
    if (stuck >= stuckLimit) {
      result.incomplete =
        `the log stream was cut ${stuck} times in a row before it got past second ${cursor.lastTime ?? '?'} ` +
        `(sinceTime has one-second resolution, so no reader of this API can get further); last error: ${reason}`;
      opts.onStuck?.(
        `The build's log stops here: its stream is cut faster than one second of log can be read (${result.incomplete}). ` +
          'The build goes on; its status and artifacts are not affected.',
      );
      await Promise.race([
        opts.terminated,
        new Promise((r) => opts.signal.addEventListener('abort', r, { once: true })),
      ]);
      break;
    }
    result.reconnects++;
    cursor.rewind();
    // During an outage only the first failed reconnect of the row is told (the outage has its own lines).
    if (waits <= 1)
      opts.onReconnect?.(result.reconnects, reason || 'stream ended while the container runs');
    const backoff = failures + waits + stuck;
    if (backoff > 0)
      await sleep(
        Math.floor(Math.random() * Math.min(5_000, 200 * 2 ** Math.min(backoff, 5))) + 50,
      );
    // Ended before the pod watch saw the container end: give the watch a moment.
    else if (endedCleanly) await Promise.race([opts.terminated, sleep(1_000)]);
  }
  return result;
}
