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
import type { Reporter } from '../core/report.ts';

/** ActionsReporter writes progress with @actions/core and build lines to stdout with backpressure. */
export class ActionsReporter implements Reporter {
  private stopToken: string | undefined;
  private readonly out: NodeJS.WritableStream;

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

  startGroup(title: string): void {
    this.resumeCommands();
    core.startGroup(title);
  }

  endGroup(): void {
    this.resumeCommands();
    core.endGroup();
  }

  async buildLine(text: string): Promise<void> {
    if (!this.stopToken) {
      this.stopToken = randomBytes(16).toString('hex');
      this.out.write(`::stop-commands::${this.stopToken}\n`);
    }
    if (!this.out.write(`${text}\n`)) await once(this.out, 'drain');
  }

  mask(secret: string): void {
    this.resumeCommands();
    core.setSecret(secret);
  }

  /** resumeCommands turns workflow commands back on before our own output. */
  private resumeCommands(): void {
    if (this.stopToken) {
      this.out.write(`::${this.stopToken}::\n`);
      this.stopToken = undefined;
    }
  }
}
