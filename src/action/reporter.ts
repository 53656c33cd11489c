/**
 * reporter.ts: the core's Reporter over @actions/core and the step's stdout.
 *
 * Build output is the build's, not ours: while it streams, workflow commands
 * are switched off (`::stop-commands::TOKEN` ... `::TOKEN::`, GitHub docs
 * "Stopping and starting workflow commands"), so a line like `::add-mask::`
 * or `::set-output` printed by the build cannot act on the workflow.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as core from '@actions/core';
import type { Reporter } from '../core/base/report.ts';

/** FLUSH_BYTES: build lines are written in batches of about this many bytes (or sooner, see buildLine). */
export const FLUSH_BYTES = 64 * 1024;

/**
 * ActionsReporter writes progress with @actions/core and build lines to stdout. Build lines are
 * batched (one write per FLUSH_BYTES, or at the end of the current turn of the event loop, so
 * they still appear as they come) with backpressure; any message of ours, a workflow command,
 * first writes out what is batched, so the order on stdout is the order of the calls. Call
 * close() before writing to stdout without this reporter (core.setFailed etc.).
 */
export class ActionsReporter implements Reporter {
  private stopToken: string | undefined;
  private readonly out: NodeJS.WritableStream;
  private batch: string[] = [];
  private batchBytes = 0;
  private flushScheduled = false;

  constructor(out: NodeJS.WritableStream = process.stdout) {
    this.out = out;
  }

  info(message: string): void {
    this.resumeCommands();
    core.info(message);
  }

  warning(message: string): void {
    this.resumeCommands();
    core.warning(message);
  }

  error(message: string): void {
    this.resumeCommands();
    core.error(message);
  }

  debug(message: string): void {
    this.resumeCommands();
    core.debug(message);
  }

  startGroup(title: string): void {
    this.resumeCommands();
    core.startGroup(title);
  }

  endGroup(): void {
    this.resumeCommands();
    core.endGroup();
  }

  /** buildLine answers a promise only when stdout asks to wait for 'drain' (no promise per line). */
  buildLine(text: string): void | Promise<void> {
    this.stopCommands();
    this.add(text);
    this.add('\n');
    if (this.batchBytes >= FLUSH_BYTES) {
      if (!this.flush()) return once(this.out, 'drain').then(() => undefined);
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /**
   * buildOutput writes whole build lines (bytes, each ended by `\n`) as they are, after what is
   * batched; answers a promise only when stdout asks to wait for 'drain'.
   */
  buildOutput(text: Buffer): void | Promise<void> {
    this.stopCommands();
    this.flush();
    if (!this.out.write(text)) return once(this.out, 'drain').then(() => undefined);
  }

  mask(secret: string): void {
    this.resumeCommands();
    core.setSecret(secret);
  }

  /** close writes out batched build lines and turns workflow commands back on. */
  close(): void {
    this.resumeCommands();
  }

  /** stopCommands switches workflow commands off (once) before the first build output. */
  private stopCommands(): void {
    if (!this.stopToken) {
      this.stopToken = randomBytes(16).toString('hex');
      this.add(`::stop-commands::${this.stopToken}\n`);
    }
  }

  private add(chunk: string): void {
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
  }

  /** flush writes the batch; answers false when the stream asks to wait for 'drain'. */
  private flush(): boolean {
    if (this.batch.length === 0) return true;
    const text = this.batch.join('');
    this.batch = [];
    this.batchBytes = 0;
    return this.out.write(text);
  }

  /** resumeCommands writes out the batch and turns workflow commands back on before our own output. */
  private resumeCommands(): void {
    this.flush();
    if (this.stopToken) {
      this.out.write(`::${this.stopToken}::\n`);
      this.stopToken = undefined;
    }
  }
}
