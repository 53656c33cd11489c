/**
 * report.ts: what the lifecycle engine needs from its surroundings besides
 * the APIs: where progress and build output go (Reporter) and what time it is
 * (Clock). The action implements Reporter over @actions/core, the CLI over the
 * terminal, tests with an array.
 */

/** Reporter receives progress messages and the build's output lines. */
export interface Reporter {
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  /** A collapsible group (`::group::` on GitHub); groups do not nest. */
  startGroup(title: string): void;
  endGroup(): void;
  /** One line of the build's output; awaited, so a slow sink slows the stream instead of piling up lines. */
  buildLine(text: string): void | Promise<void>;
  /**
   * Whole lines of the build's output at once: their bytes as the build wrote them, each line
   * ended by `\n` (the log relay's path, build/logs.ts). Awaited like buildLine. Optional: a
   * reporter without it gets buildLine once per line.
   */
  buildOutput?(text: Buffer): void | Promise<void>;
  /** Registers a secret so it is masked in everything printed afterwards. */
  mask(secret: string): void;
  /**
   * Diagnostics shown only when asked for (the action: `core.debug`, shown with
   * ACTIONS_STEP_DEBUG; the CLI: `--debug`), e.g. one line per API request
   * (base/http-trace.ts). Optional: a reporter without it drops them.
   */
  debug?(message: string): void;
}

/** Clock: wall time in epoch milliseconds, and a sleep that ends early on abort. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** systemClock is the Clock of the real world. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
};
