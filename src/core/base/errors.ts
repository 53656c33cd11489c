// errors.ts: the error classes shared by the core and its entry points.

/** InputIssue is one problem with one input: its snake_case name and a message that names it. */
export interface InputIssue {
  input: string;
  message: string;
}

/**
 * InputError reports one or more invalid inputs. Every message names its input and the accepted
 * form (`invalid boolean value "yes please" for input "watch": use true or false`); a secret value
 * is never part of a message. `input` is the first issue's input; `issues` lists them all.
 */
export class InputError extends Error {
  readonly input: string;
  readonly issues: readonly InputIssue[];

  constructor(input: string, message: string, issues?: readonly InputIssue[]) {
    super(message);
    this.name = 'InputError';
    this.input = input;
    this.issues = issues ?? [{ input, message }];
  }

  /** InputError.of combines issues (at least one) into one error listing each on its own line. */
  static of(issues: readonly InputIssue[]): InputError {
    const [first] = issues;
    if (!first) throw new RangeError('InputError.of needs at least one issue');
    if (issues.length === 1) return new InputError(first.input, first.message);
    const message = `${issues.length} invalid inputs:\n${issues.map((i) => `- ${i.message}`).join('\n')}`;
    return new InputError(first.input, message, [...issues]);
  }
}

/**
 * InputIssues collects the InputErrors of many checks so that a user sees every bad input at once
 * instead of fixing them one run at a time.
 */
export class InputIssues {
  readonly list: InputIssue[] = [];

  /** attempt runs fn and returns its result, or records its InputError and returns undefined. */
  attempt<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      this.list.push(...err.issues);
      return undefined;
    }
  }

  /** add records an issue found without a parser. */
  add(input: string, message: string): void {
    this.list.push({ input, message });
  }

  /** throwIfAny throws one InputError listing every recorded issue. */
  throwIfAny(): void {
    if (this.list.length > 0) throw InputError.of(this.list);
  }
}

/**
 * ContextError reports a missing or malformed GitHub Actions environment variable
 * (GITHUB_REPOSITORY, GITHUB_RUN_ID, ...): the step is not running where it should.
 */
export class ContextError extends Error {
  readonly variable: string;

  constructor(variable: string, message: string) {
    super(message);
    this.name = 'ContextError';
    this.variable = variable;
  }
}

/** UnsafePathError reports a tar entry or object path that would leave its tree. */
export class UnsafePathError extends Error {
  readonly path: string;

  constructor(path: string, message: string) {
    super(message);
    this.name = 'UnsafePathError';
    this.path = path;
  }
}

/** quote renders a user value for a message: JSON-quoted (control characters escaped), cut at 100. */
export function quote(value: string): string {
  const cut = value.length > 100 ? `${value.slice(0, 100)}...` : value;
  return JSON.stringify(cut);
}

/**
 * invalid builds the standard InputError: `invalid <what> "<value>" for input "<input>": <fix>`.
 * Pass `secret: true` to leave the value out.
 */
export function invalid(
  input: string,
  what: string,
  value: string,
  fix: string,
  secret = false,
): InputError {
  const shown = secret ? '' : ` ${quote(value)}`;
  return new InputError(input, `invalid ${what}${shown} for input "${input}": ${fix}`);
}
