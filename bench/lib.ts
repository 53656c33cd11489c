// lib.ts: what the benchmarks share: running the bundled action through the
// lab's runner stand-in without keeping its output, peak RSS of a process,
// counting output as it streams, servers in child processes (a free port, the
// first answer, stopping), and the figures' arithmetic and formatting.
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { ROOT } from '../lab/env.ts';
import { runStep, type ActionRun, type StepOptions } from '../lab/runner.ts';

/** MiB is 2^20 bytes; every "MB" the benchmarks print is a MiB. */
export const MiB = 1 << 20;

/**
 * StreamCounter counts what a process prints (bytes and lines) and notes, in
 * ms since `start`, when a chunk first held `marker` (the output's last line).
 */
export class StreamCounter {
  bytes = 0;
  lines = 0;
  /** ms from start to the chunk that held the marker; undefined until then. */
  markerAt: number | undefined;
  /** ms from start to the first chunk that held `firstMarker`, when given. */
  firstAt: number | undefined;
  private tail = '';
  private readonly start: number;
  private readonly marker: string;
  private readonly firstMarker: string | undefined;

  constructor(marker: string, start = performance.now(), firstMarker?: string) {
    this.marker = marker;
    this.start = start;
    this.firstMarker = firstMarker;
  }

  /** add takes one chunk (a string: the runner decodes stdout as UTF-8). */
  add(chunk: string): void {
    this.bytes += Buffer.byteLength(chunk);
    for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) this.lines++;
    // The marker may straddle two chunks: look at the end of the previous one too.
    const text = this.tail + chunk;
    if (this.firstMarker && this.firstAt === undefined && text.includes(this.firstMarker)) {
      this.firstAt = performance.now() - this.start;
    }
    if (this.markerAt === undefined && text.includes(this.marker)) {
      this.markerAt = performance.now() - this.start;
    }
    this.tail = chunk.slice(-64);
  }
}

/**
 * PeakRss samples a process's peak resident set (VmHWM of /proc/PID/status,
 * Linux proc(5)) every `everyMs`; `stop()` answers the last value read, in
 * bytes. VmHWM only grows, so the last sample before exit is the peak up to
 * `everyMs` before the end.
 */
export class PeakRss {
  peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(pid: number, everyMs = 50) {
    const read = () => {
      try {
        const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) this.peak = Math.max(this.peak, Number(m[1]) * 1024);
      } catch {
        // the process has exited
      }
    };
    read();
    this.timer = setInterval(read, everyMs);
  }

  stop(): number {
    clearInterval(this.timer);
    return this.peak;
  }
}

/** StreamedStep: a step run whose stdout went to `onStdout` only, with the action's peak RSS. */
export interface StreamedStep {
  run: ActionRun;
  peakRss: number;
  /** ms from spawn to exit. */
  elapsedMs: number;
}

/**
 * runStreamed runs the bundled action like runStep, but hands stdout to
 * `onStdout` without keeping it (a 1 GB log would not fit in one string), and
 * samples the action process's peak RSS.
 */
export async function runStreamed(
  o: StepOptions & { onStdout: (chunk: string) => void },
): Promise<StreamedStep> {
  let rss: PeakRss | undefined;
  const started = performance.now();
  const run = await runStep({
    ...o,
    onStdout: undefined,
    onStart: (child: ChildProcess) => {
      // runStep keeps every chunk for ActionRun.stdout; replace its listener by ours.
      child.stdout?.removeAllListeners('data');
      child.stdout?.on('data', o.onStdout);
      if (child.pid) rss = new PeakRss(child.pid);
      o.onStart?.(child);
    },
  });
  const elapsedMs = performance.now() - started;
  return { run, peakRss: rss?.stop() ?? 0, elapsedMs };
}

/** cpuProfileEnv answers the env that makes the action write a V8 CPU profile into dir (none without dir). */
export function cpuProfileEnv(dir: string | undefined): { env?: Record<string, string> } {
  return dir ? { env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` } } : {};
}

/**
 * machineNote describes the machine as a benchmark starts: cores and the
 * 1-minute load average (the lab shares the machine; other work skews figures).
 */
export function machineNote(): string {
  return `machine: ${availableParallelism()} cores, load average ${fixed(loadavg()[0] ?? NaN, 1)} (1 min) at start`;
}

/** quantile answers the q-quantile (0..1) of values by nearest rank; NaN for none. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** mbps answers MiB per second for `bytes` in `ms`. */
export function mbps(bytes: number, ms: number): number {
  return bytes / MiB / (ms / 1000);
}

/** fixed formats a number with `digits` decimals. */
export function fixed(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

/** table prints rows as an aligned Markdown table (pasteable into docs/benchmarks.md). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** NODE is the project's Node 24 (the system node may be older). */
export const NODE = resolve(ROOT, 'node_modules/.bin/node');

/** freePort answers a TCP port of 127.0.0.1 that was free a moment ago (bound to 0, then closed). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => done(port));
    });
  });
}

/**
 * firstAnswer polls `GET url` every `everyMs` until it answers 200, and answers the ms from
 * `since` (a performance.now() value, e.g. just before the server process was spawned) to that
 * answer: a server's cold start. Throws when `exited()` names a reason (the process ended) or
 * after `limitMs`.
 */
export async function firstAnswer(
  url: string,
  since: number,
  o: { exited: () => string | undefined; everyMs?: number; limitMs?: number },
): Promise<number> {
  const limit = since + (o.limitMs ?? 30_000);
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - since;
    } catch {
      // not listening yet
    }
    const why = o.exited();
    if (why !== undefined) throw new Error(`${url} never answered: ${why}`);
    if (performance.now() > limit) throw new Error(`${url} did not answer 200 in time`);
    await sleep(o.everyMs ?? 5);
  }
}

/**
 * stopChild ends a process this benchmark started, by its PID: SIGTERM, then SIGKILL after
 * `graceMs`; resolves once it has exited.
 */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** CLOCK_TICKS_PER_SECOND: the unit of /proc/PID/stat's times (sysconf(_SC_CLK_TCK), 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * cpuSeconds answers the CPU time (user + system, seconds) a process has used so far: fields 14
 * and 15 of /proc/PID/stat (Linux proc(5)), counted after the `)` that ends the command name;
 * NaN when the process is gone.
 */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}
