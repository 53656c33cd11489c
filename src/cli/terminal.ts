/**
 * terminal.ts: the core's Reporter for a terminal. Progress goes to stderr
 * (prefixed, so it can be told apart from the build's output), build lines to
 * stdout with backpressure. Registered secrets are replaced by `***` in
 * everything printed after.
 */
import { once } from 'node:events';
import type { Reporter } from '../core/base/report.ts';

/** TerminalReporter prints to a terminal or a pipe. */
export class TerminalReporter implements Reporter {
  private readonly secrets: string[] = [];
  private readonly out: NodeJS.WritableStream;
  private readonly err: NodeJS.WritableStream;
  private readonly showDebug: boolean;

  /** showDebug: print debug lines (`kbuild run --debug`), prefixed `kbuild: debug:`. */
  constructor(
    out: NodeJS.WritableStream = process.stdout,
    err: NodeJS.WritableStream = process.stderr,
    showDebug = false,
  ) {
    this.out = out;
    this.err = err;
    this.showDebug = showDebug;
  }

  debug(message: string): void {
    if (this.showDebug) this.err.write(`kbuild: debug: ${this.redact(message)}\n`);
  }

  private redact(s: string): string {
    let r = s;
    for (const secret of this.secrets) r = r.split(secret).join('***');
    return r;
  }

  info(message: string): void {
    this.err.write(`kbuild: ${this.redact(message)}\n`);
  }

  warning(message: string): void {
    this.err.write(`kbuild: warning: ${this.redact(message)}\n`);
  }

  error(message: string): void {
    this.err.write(`kbuild: error: ${this.redact(message)}\n`);
  }

  startGroup(title: string): void {
    this.err.write(`kbuild: ── ${this.redact(title)} ──\n`);
  }

  endGroup(): void {
    this.err.write('kbuild: ──\n');
  }

  async buildLine(text: string): Promise<void> {
    if (!this.out.write(`${this.redact(text)}\n`)) await once(this.out, 'drain');
  }

  mask(secret: string): void {
    if (secret.length >= 4 && !this.secrets.includes(secret)) this.secrets.push(secret);
  }
}
