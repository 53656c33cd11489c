// destination.ts: the GCS object prefix of a build (the `destination` template) and the object
// names of its files (docs/design.md, "Storage layout").
import { InputError, UnsafePathError, quote } from '../base/errors.ts';

/** DESTINATION_PLACEHOLDERS lists the placeholders a `destination` template may use. */
export const DESTINATION_PLACEHOLDERS = [
  'owner',
  'repo',
  'run_id',
  'run_attempt',
  'arch',
  'build',
  'package',
  'sha',
] as const;

/** DestinationVars gives each placeholder its value; `package` is absent without a single package. */
export type DestinationVars = Record<
  Exclude<(typeof DESTINATION_PLACEHOLDERS)[number], 'package'>,
  string
> & {
  package?: string;
};

/** MAX_OBJECT_NAME_BYTES is the GCS limit on object names (UTF-8 bytes). */
export const MAX_OBJECT_NAME_BYTES = 1024;

/** hasControlChar reports a C0 control character or DEL (GCS refuses CR and LF in names). */
export function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * expandDestination replaces each `{placeholder}` of template (see DESTINATION_PLACEHOLDERS) and
 * returns the object prefix without leading, trailing or doubled `/`. An unknown placeholder, a
 * stray brace, `{package}` for a build without a single package, a `.` or `..` segment or a
 * control character is an InputError for `input` (default `destination`). The prefix may be
 * empty (objects at the bucket's root).
 */
export function expandDestination(
  template: string,
  vars: DestinationVars,
  input = 'destination',
): string {
  const fail = (why: string): InputError =>
    new InputError(input, `invalid destination ${quote(template)} for input "${input}": ${why}`);
  const known: readonly string[] = DESTINATION_PLACEHOLDERS;
  const expanded = template.replace(/\{([^{}]*)\}/g, (_, name: string) => {
    if (!known.includes(name)) {
      throw fail(`unknown placeholder {${name}}; use ${known.map((k) => `{${k}}`).join(' ')}`);
    }
    const value = vars[name as keyof DestinationVars];
    if (value === undefined || value === '') {
      throw fail(
        `{${name}} has no value for this build (it needs exactly one package); use {build}`,
      );
    }
    return value;
  });
  if (/[{}]/.test(expanded)) throw fail('a brace is not part of a {placeholder}');
  if (hasControlChar(expanded)) throw fail('control characters are not allowed');
  const segments = expanded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..'))
    throw fail('"." and ".." segments are not allowed');
  const prefix = segments.join('/');
  if (Buffer.byteLength(prefix) > MAX_OBJECT_NAME_BYTES / 2) throw fail('the prefix is too long');
  return prefix;
}

/**
 * safeRelativePath checks a `/`-separated relative path: not empty, not absolute, no empty, `.`
 * or `..` segment, no control character (GCS refuses CR and LF in object names). Returns it
 * unchanged or throws UnsafePathError.
 */
export function safeRelativePath(path: string): string {
  const fail = (why: string): UnsafePathError =>
    new UnsafePathError(path, `unsafe path ${quote(path)}: ${why}`);
  if (path === '') throw fail('it is empty');
  if (path.startsWith('/')) throw fail('it is absolute');
  if (hasControlChar(path)) throw fail('it contains a control character');
  const segments = path.split('/');
  if (segments.some((s) => s === '')) throw fail('it has an empty segment');
  if (segments.some((s) => s === '.' || s === '..')) throw fail('it has a "." or ".." segment');
  return path;
}

/**
 * objectName joins a prefix from expandDestination and a relative path checked by
 * safeRelativePath into a GCS object name of at most 1024 UTF-8 bytes (GCS "Object naming
 * requirements"). Throws UnsafePathError.
 */
export function objectName(prefix: string, relativePath: string): string {
  const rel = safeRelativePath(relativePath);
  const name = prefix === '' ? rel : `${prefix.replace(/\/+$/, '')}/${rel}`;
  if (Buffer.byteLength(name) > MAX_OBJECT_NAME_BYTES) {
    throw new UnsafePathError(
      relativePath,
      `object name for ${quote(relativePath)} is longer than ${MAX_OBJECT_NAME_BYTES} bytes`,
    );
  }
  return name;
}

/** gcsUri renders `gs://bucket/name` (name may be a prefix, then it ends with `/`). */
export function gcsUri(bucket: string, name: string): string {
  return `gs://${bucket}/${name}`;
}
