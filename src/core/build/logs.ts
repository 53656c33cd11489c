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
 * What reconnects re-read and drop is counted (FollowResult.skippedBytes): at
 * most one second of log per reconnect.
 *
 * The relay works on the stream's bytes: lines are found by their newline
 * byte (which no multi-byte UTF-8 sequence contains), timestamps are read in
 * place, and the text of the new lines of one read is copied into one Buffer
 * for `onText`. No string or object is made per line, so a busy log does not
 * grow the JavaScript heap (docs/benchmarks.md, "Log relay memory"). The sink's
 * promise (a full stdout or file) is awaited before the stream is read
 * further, so memory stays flat whatever the log size.
 */
import type { Readable } from 'node:stream';
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
  /**
   * Receives the new lines of one read of the stream: their text without the timestamps, each
   * ended by `\n`, as the bytes the build wrote (not decoded), and how many lines that is. The
   * Buffer is the callee's to keep. A promise answered (a full sink) is awaited before the
   * stream is read further. This is the relay's path: no string or object is made per line.
   */
  onText?: (text: Buffer, lines: number) => void | Promise<void>;
  /**
   * Receives each new line as strings (decoded as UTF-8), awaited when it answers a promise: for
   * consumers that want lines one by one. With both, onLine is used.
   */
  onLine?: (line: LogLine) => void | Promise<void>;
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

/** Longest timestamp looked for before a line's first space (bytes): `...T..:..:...123456789+01:00`. */
const MAX_STAMP = 40;

/**
 * What parseStamp read last: whole seconds since the epoch and nanoseconds. A scratch record,
 * so a line's timestamp is read without allocating (it runs for every line of a log).
 */
const stamp = { sec: 0, ns: 0 };

/**
 * The second parseStamp turned into epoch seconds last: its fields packed into one number
 * (YYYYMMDDhhmmss), its zone offset (minutes) and the answer. Consecutive lines mostly share
 * their second, so Date.UTC runs about once a second of log, not once a line.
 */
const memo = { packed: -1, zone: 0, sec: 0 };

/** digits reads `n` ASCII digits of b at `at` as a number; -1 when one is not a digit. */
function digits(b: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = (b[i] ?? 0) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * parseStamp reads the RFC 3339 timestamp b[from, end) (`YYYY-MM-DDTHH:MM:SS`, an optional
 * `.` and 1-9 digits, then `Z` or `+HH:MM`/`-HH:MM`: what the kubelet writes with
 * `timestamps=true`) into `stamp`; answers false when that is not what is there. Out-of-range
 * days roll over as Date.parse rolls them (February 30 is March 2).
 */
function parseStamp(b: Uint8Array, from: number, end: number): boolean {
  if (end - from < 20) return false;
  const year = digits(b, from, 4);
  const month = digits(b, from + 5, 2);
  const day = digits(b, from + 8, 2);
  const hour = digits(b, from + 11, 2);
  const minute = digits(b, from + 14, 2);
  const second = digits(b, from + 17, 2);
  if (
    b[from + 4] !== 45 || // -
    b[from + 7] !== 45 ||
    b[from + 10] !== 84 || // T
    b[from + 13] !== 58 || // :
    b[from + 16] !== 58 ||
    (year | month | day | hour | minute | second) < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > 31 ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  )
    return false;
  // The zone: `Z`, or `+HH:MM` / `-HH:MM`.
  let zone = 0;
  let zoneAt = end - 1;
  if (b[zoneAt] !== 90) {
    zoneAt = end - 6;
    const sign = b[zoneAt];
    const zh = digits(b, zoneAt + 1, 2);
    const zm = digits(b, zoneAt + 4, 2);
    if ((sign !== 43 && sign !== 45) || b[zoneAt + 3] !== 58 || zh < 0 || zm < 0) return false;
    zone = (sign === 45 ? -1 : 1) * (zh * 60 + zm);
  }
  // The fraction: nothing, or `.` and 1-9 digits.
  let ns = 0;
  const fracAt = from + 19;
  if (zoneAt !== fracAt) {
    const n = zoneAt - fracAt - 1;
    if (b[fracAt] !== 46 || n < 1 || n > 9) return false;
    const f = digits(b, fracAt + 1, n);
    if (f < 0) return false;
    ns = f * 10 ** (9 - n);
  }
  const packed = ((((year * 100 + month) * 100 + day) * 100 + hour) * 100 + minute) * 100 + second;
  if (packed !== memo.packed || zone !== memo.zone) {
    memo.packed = packed;
    memo.zone = zone;
    memo.sec = Date.UTC(year, month - 1, day, hour, minute, second) / 1000 - zone * 60;
  }
  stamp.sec = memo.sec;
  stamp.ns = ns;
  return true;
}

/**
 * timeKey turns an RFC 3339 timestamp into nanoseconds since the epoch (BigInt), for ordering;
 * undefined when it is not one. The follower itself reads timestamps from the stream's bytes
 * (parseStamp) without making a string or a BigInt per line.
 */
export function timeKey(time: string): bigint | undefined {
  const b = Buffer.from(time, 'utf8');
  if (!parseStamp(b, 0, b.length)) return undefined;
  return BigInt(stamp.sec) * 1_000_000_000n + BigInt(stamp.ns);
}

/**
 * stampEnd answers where the timestamp of the line b[from, end) ends (its first space), or -1
 * when the line does not start with one; on success `stamp` holds it.
 */
function stampEnd(b: Uint8Array, from: number, end: number): number {
  const limit = Math.min(end, from + MAX_STAMP);
  for (let i = from + 20; i < limit; i++) {
    if (b[i] === 32) return parseStamp(b, from, i) ? i : -1;
  }
  return -1;
}

/** LineCursor remembers the last delivered timestamp and how many lines carried it. */
export class LineCursor {
  #sec = 0;
  #ns = 0;
  #has = false;
  /** The bytes of the last delivered timestamp (its text is asked for only at a reconnect). */
  #time = Buffer.alloc(MAX_STAMP);
  #timeLength = 0;
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

  /** lastTime: the last delivered timestamp as the API server wrote it (the next sinceTime). */
  get lastTime(): string | undefined {
    return this.#has ? this.#time.toString('latin1', 0, this.#timeLength) : undefined;
  }

  /** accept tells whether a line with this timestamp is new, and records it when it is. */
  accept(time: string): boolean {
    const b = Buffer.from(time, 'utf8');
    if (b.length > MAX_STAMP || !parseStamp(b, 0, b.length)) return true;
    return this.acceptStamp(b, 0, b.length);
  }

  /**
   * acceptStamp is accept for the timestamp b[from, end) that parseStamp has just read into
   * `stamp` (no allocation: it runs for every line).
   */
  acceptStamp(b: Buffer, from: number, end: number): boolean {
    const { sec, ns } = stamp;
    if (this.#has && (sec < this.#sec || (sec === this.#sec && ns < this.#ns))) return false;
    if (this.#has && sec === this.#sec && ns === this.#ns) {
      if (this.skipAtLast > 0) {
        this.skipAtLast--;
        return false;
      }
      this.atLast++;
      return true;
    }
    this.#sec = sec;
    this.#ns = ns;
    this.#has = true;
    // Buffer#copy: no Buffer object made (subarray would make one per line).
    b.copy(this.#time, 0, from, end);
    this.#timeLength = end - from;
    this.atLast = 1;
    this.skipAtLast = 0;
    return true;
  }
}

/** splitTimestamp separates `2026-01-01T00:00:00.123456789Z text` into time and text. */
export function splitTimestamp(raw: string): LogLine {
  const b = Buffer.from(raw, 'utf8');
  const sp = stampEnd(b, 0, b.length);
  if (sp > 0) return { time: raw.slice(0, sp), text: raw.slice(sp + 1) };
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
      // The bytes of an incomplete last line, carried to the next read.
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      // The text of the new lines of the current read (onText), and how many lines.
      let out = Buffer.alloc(0);
      let outBytes = 0;
      let outLines = 0;
      // deliver takes the line b[from, end) (without its newline): drops it when a reconnect
      // re-read it, else appends its text to `out` or hands it to onLine (whose promise it answers).
      const deliver = (b: Buffer, from: number, end: number): void | Promise<void> => {
        const sp = stampEnd(b, from, end);
        if (sp > 0 && !cursor.acceptStamp(b, from, sp)) {
          reread++;
          result.skippedBytes += end - from + 1;
          return;
        }
        fresh++;
        result.lines++;
        const textAt = sp > 0 ? sp + 1 : from;
        if (opts.onLine) {
          const line = {
            time: sp > 0 ? b.toString('latin1', from, sp) : '',
            text: b.toString('utf8', textAt, end),
          };
          const wait = opts.onLine(line);
          if (wait) return wait.then(progressed);
          progressed();
          return;
        }
        outBytes += b.copy(out, outBytes, textAt, end);
        out[outBytes++] = 10;
        outLines++;
      };
      // flush hands what this read delivered to onText (a promise when the sink is full).
      const flush = (): void | Promise<void> => {
        if (outLines === 0 || !opts.onText) return;
        const text = out.subarray(0, outBytes);
        const lines = outLines;
        outBytes = 0;
        outLines = 0;
        progressed();
        return opts.onText(text, lines);
      };
      // room gives `out` space for n bytes of text (only onText collects text in it).
      const room = (n: number) => {
        if (!opts.onLine) out = Buffer.allocUnsafeSlow(n);
      };
      // deliverPending delivers the carried bytes (plus chunk[0, end)) as one line.
      const deliverPending = (chunk: Buffer | undefined, end: number) => {
        if (chunk) pending.push(chunk.subarray(0, end));
        const line = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
        return deliver(line, 0, line.length);
      };
      for await (const read of stream) {
        const chunk = read as Buffer;
        lastProgress = Date.now();
        // Room for every line of this read: text is never longer than line, and one newline
        // more for a carried piece cut at MAX_LINE.
        room(pendingBytes + chunk.length + 1);
        let from = 0;
        let nl = chunk.indexOf(10);
        if (nl >= 0 && pendingBytes > 0) {
          const wait = deliverPending(chunk, nl);
          if (wait) await wait;
          from = nl + 1;
          nl = chunk.indexOf(10, from);
        }
        while (nl >= 0) {
          const wait = deliver(chunk, from, nl);
          if (wait) await wait;
          from = nl + 1;
          nl = chunk.indexOf(10, from);
        }
        if (from < chunk.length) {
          // Keep a copy of the rest, not the whole read.
          const rest = Buffer.from(chunk.subarray(from));
          pending.push(rest);
          pendingBytes += rest.length;
          if (pendingBytes > MAX_LINE) {
            const wait = deliverPending(undefined, 0);
            if (wait) await wait;
          }
        }
        const wait = flush();
        if (wait) await wait;
      }
      endedCleanly = true;
      // A clean end while the container is done: a last line without newline is real.
      if (pendingBytes > 0 && terminated) {
        room(pendingBytes + 1);
        const wait = deliverPending(undefined, 0);
        if (wait) await wait;
        const flushed = flush();
        if (flushed) await flushed;
      }
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
