// parse.ts: strict parsers for action inputs. Each takes the input's name (for the message) and
// its raw string, and returns a typed value or throws an InputError naming the input, the bad value
// and the accepted form.
import { split as shellSplit } from 'shlex';
import { InputError, invalid } from '../base/errors.ts';

/** Arch is a Kubernetes node architecture (the `kubernetes.io/arch` label) kbuild can build on. */
export type Arch = 'amd64' | 'arm64';

/** ARCHES lists the supported arches. */
export const ARCHES: readonly Arch[] = ['amd64', 'arm64'];

const ARCH_ALIASES: Readonly<Record<string, Arch>> = {
  amd64: 'amd64',
  x86_64: 'amd64',
  arm64: 'arm64',
  aarch64: 'arm64',
};

/** requireValue returns the trimmed value, or throws when it is empty. */
export function requireValue(input: string, value: string | undefined, what = 'a value'): string {
  const v = (value ?? '').trim();
  if (v === '') throw new InputError(input, `input "${input}" is required: give ${what}`);
  return v;
}

/**
 * parseBoolean accepts the YAML 1.2 core booleans `true`/`True`/`TRUE`/`false`/`False`/`FALSE`,
 * like @actions/core getBooleanInput.
 */
export function parseBoolean(input: string, value: string): boolean {
  const v = value.trim();
  if (['true', 'True', 'TRUE'].includes(v)) return true;
  if (['false', 'False', 'FALSE'].includes(v)) return false;
  throw invalid(input, 'boolean value', value, 'use true or false');
}

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/**
 * parseDuration returns whole seconds for a Go-style duration made of hours, minutes and seconds
 * in that order (`1h30m10s`, `2h`, `90m`, `45s`) or a bare number of seconds (`600`). Days,
 * fractions, signs and other units are refused. Zero is returned as 0: callers that need a
 * positive duration check it.
 */
export function parseDuration(input: string, value: string): number {
  const v = value.trim();
  const fix = 'use a duration like 1h30m, 90m, 45s or 2h, or a whole number of seconds';
  if (/^\d+$/.test(v)) return toSafeSeconds(input, value, Number(v), fix);
  const m = DURATION.exec(v);
  if (v === '' || !m) throw invalid(input, 'duration', value, fix);
  const [, h = '0', min = '0', s = '0'] = m;
  return toSafeSeconds(input, value, Number(h) * 3600 + Number(min) * 60 + Number(s), fix);
}

function toSafeSeconds(input: string, value: string, seconds: number, fix: string): number {
  if (!Number.isSafeInteger(seconds)) throw invalid(input, 'duration', value, fix);
  return seconds;
}

/** formatDuration renders seconds in the form parseDuration reads: 5400 -> `1h30m`, 0 -> `0s`. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const out = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
  return out === '' ? '0s' : out;
}

/** Quantity is a parsed Kubernetes quantity: a canonical string and its value in base units. */
export interface Quantity {
  /** canonical is the string written into manifests (`1500m`, `2`, `512Mi`, `1G`). */
  canonical: string;
  /** value is in base units: millicores for `millicores`, bytes for `bytes`. */
  value: number;
}

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;
const BINARY: Readonly<Record<string, number>> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const MAX_INT64 = 2n ** 63n - 1n;

/**
 * parseQuantity parses a positive Kubernetes resource quantity (`500m`, `4`, `1.5`, `12Gi`,
 * `512Mi`, `1G`, `1e3`; grammar of k8s.io/apimachinery resource.Quantity) exactly, with bigint
 * arithmetic. `unit` picks the base unit: `millicores` for cpu (1 = 1000m), `bytes` for memory
 * and storage. A value that is not a whole number of base units (`0.5m` cpu, `0.5` bytes),
 * zero, negative, or above 2^63-1 is refused.
 */
export function parseQuantity(
  input: string,
  value: string,
  unit: 'millicores' | 'bytes',
): Quantity {
  const v = value.trim();
  const example = unit === 'millicores' ? '500m, 2 or 1.5' : '512Mi, 12Gi or 1G';
  const fix = `use a positive Kubernetes quantity like ${example}`;
  const m = QUANTITY.exec(v);
  if (!m) throw invalid(input, 'quantity', value, fix);
  const [, sign = '', number = '', suffix = ''] = m;
  const [whole = '', frac = ''] = number.split('.');
  let num = BigInt(`${whole}${frac}` || '0');
  let den = 10n ** BigInt(frac.length);
  let exp10 = unit === 'millicores' ? 3 : 0;
  if (suffix in BINARY) num *= 1024n ** BigInt(BINARY[suffix] ?? 0);
  else if (/^[eE]/.test(suffix)) exp10 += Number(suffix.slice(1));
  else exp10 += DECIMAL[suffix] ?? 0;
  if (Math.abs(exp10) > 40) throw invalid(input, 'quantity', value, fix);
  if (exp10 >= 0) num *= 10n ** BigInt(exp10);
  else den *= 10n ** BigInt(-exp10);
  if (sign === '-' || num === 0n) throw invalid(input, 'quantity', value, fix);
  if (num % den !== 0n) {
    const base = unit === 'millicores' ? 'millicores (1m is the smallest cpu step)' : 'bytes';
    throw invalid(input, 'quantity', value, `use a whole number of ${base}`);
  }
  const base = num / den;
  if (base > MAX_INT64) throw invalid(input, 'quantity', value, fix);
  return { canonical: canonicalQuantity(base, unit, suffix in BINARY), value: Number(base) };
}

function canonicalQuantity(base: bigint, unit: 'millicores' | 'bytes', binary: boolean): string {
  if (unit === 'millicores') return base % 1000n === 0n ? `${base / 1000n}` : `${base}m`;
  const binaries = Object.entries(BINARY).map(([s, p]) => [s, 1024n ** BigInt(p)] as const);
  const decimals = ['k', 'M', 'G', 'T', 'P', 'E'].map(
    (s, i) => [s, 1000n ** BigInt(i + 1)] as const,
  );
  const families = binary ? [binaries, decimals] : [decimals, binaries];
  for (const family of families) {
    for (const [suffix, factor] of [...family].reverse()) {
      if (base % factor === 0n) return `${base / factor}${suffix}`;
    }
  }
  return `${base}`;
}

/** parseArch accepts `amd64` and `arm64`, and the kernel's names `x86_64` and `aarch64`. */
export function parseArch(input: string, value: string): Arch {
  const arch = ARCH_ALIASES[value.trim().toLowerCase()];
  if (!arch)
    throw invalid(input, 'arch', value, 'use amd64 or arm64 (x86_64 and aarch64 are accepted)');
  return arch;
}

/** parseArchList parses a non-empty list of arches (see parseList), without duplicates. */
export function parseArchList(input: string, value: string): Arch[] {
  const items = parseList(value);
  if (items.length === 0)
    throw new InputError(input, `input "${input}" is empty: list amd64, arm64 or both`);
  return [...new Set(items.map((item) => parseArch(input, item)))];
}

/** parseList splits on spaces, commas and newlines, drops empty items and duplicates. */
export function parseList(value: string): string[] {
  return [...new Set(value.split(/[\s,]+/).filter((item) => item !== ''))];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** isEnvName reports whether name is a portable environment variable name. */
export function isEnvName(name: string): boolean {
  return ENV_NAME.test(name);
}

/**
 * parseKeyValueLines parses `KEY=VALUE` lines (value may contain `=`) into a map. Lines are
 * trimmed; empty lines and lines starting with `#` are skipped. Keys must be environment variable
 * names and appear once. With `secret: true` no message ever shows a value or a whole line.
 */
export function parseKeyValueLines(
  input: string,
  value: string,
  opts: { secret?: boolean } = {},
): Record<string, string> {
  const out = new Map<string, string>();
  const lines = value.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const at = `line ${i + 1} of input "${input}"`;
    const eq = line.indexOf('=');
    if (eq < 0) {
      const shown = opts.secret ? '' : ` (${JSON.stringify(line.slice(0, 60))})`;
      throw new InputError(input, `${at} is not KEY=VALUE${shown}: write one KEY=VALUE per line`);
    }
    const key = line.slice(0, eq);
    if (!isEnvName(key)) {
      throw new InputError(
        input,
        `invalid variable name ${JSON.stringify(key)} on ${at}: use letters, digits and _, not starting with a digit`,
      );
    }
    if (out.has(key))
      throw new InputError(input, `variable ${key} is set twice in input "${input}"`);
    out.set(key, line.slice(eq + 1));
  }
  return Object.fromEntries(out);
}

/**
 * parseCommand splits a command line into argv the way a POSIX shell splits words (quotes and
 * backslashes; the `shlex` package), without expanding anything: the command runs without a shell.
 */
export function parseCommand(input: string, value: string): string[] {
  let argv: string[];
  try {
    argv = shellSplit(value);
  } catch (err) {
    const why = err instanceof Error ? err.message.toLowerCase() : String(err);
    throw invalid(input, 'command', value, `${why}: close every quote`);
  }
  if (argv.length === 0)
    throw new InputError(input, `input "${input}" is empty: give a command such as make`);
  return argv;
}

/** parseEnum returns value when it is one of allowed (exact, after trimming). */
export function parseEnum<T extends string>(
  input: string,
  value: string,
  allowed: readonly T[],
): T {
  const v = value.trim();
  const hit = allowed.find((a) => a === v);
  if (hit === undefined) throw invalid(input, 'value', value, `use one of ${allowed.join(', ')}`);
  return hit;
}
