// spec-fields.ts: validators of single build inputs whose rules are kbuild's own: package
// names, package_target, the build name, Kubernetes names and artifacts_path.
import { posix } from 'node:path';
import { split as shellSplit } from 'shlex';
import { hasControlChar } from './destination.ts';
import { InputError, invalid } from '../base/errors.ts';

const PACKAGE_NAME = /^[a-z0-9][a-z0-9._+-]*$/;
const BUILD_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const MARKER_DIR = '.kbuild';

/** validatePackageName: `^[a-z0-9][a-z0-9._+-]*$`, <= 100 chars, so no shell metacharacter. */
export function validatePackageName(name: string, input = 'packages'): string {
  if (name.length > 100 || !PACKAGE_NAME.test(name)) {
    throw invalid(
      input,
      'package name',
      name,
      'use up to 100 lowercase letters, digits and . _ + -, starting with a letter or digit',
    );
  }
  return name;
}

/**
 * packageTargets turns each package into command arguments through package_target: the template
 * is split into words like a shell would, and `{package}` is replaced in each word
 * (`package/{package}` -> `package/hello`; `--pkg {package}` -> `--pkg`, `hello`). An empty
 * template passes no package.
 */
export function packageTargets(template: string, packages: readonly string[]): string[] {
  if (template === '' || packages.length === 0) return [];
  let words: string[];
  try {
    words = shellSplit(template);
  } catch {
    throw invalid('package_target', 'package target', template, 'close every quote');
  }
  const unknown = /\{(?!package\})[^}]*\}/.exec(template);
  if (unknown)
    throw invalid(
      'package_target',
      'package target',
      template,
      `unknown placeholder ${unknown[0]}; use {package}`,
    );
  if (!words.some((w) => w.includes('{package}'))) {
    throw invalid(
      'package_target',
      'package target',
      template,
      'include {package}, e.g. package/{package}, or leave it empty',
    );
  }
  return packages.flatMap((p) => words.map((w) => w.replaceAll('{package}', p)));
}

/**
 * buildName is `{build}`: the `name` input (up to 100 chars of [A-Za-z0-9._+-]), else the only
 * package, else the repository name; several packages need a name.
 */
export function buildName(given: string, packages: readonly string[], repo: string): string {
  if (given !== '') {
    if (given.length > 100 || !BUILD_NAME.test(given)) {
      throw invalid(
        'name',
        'name',
        given,
        'use up to 100 letters, digits and . _ + -, starting with a letter or digit',
      );
    }
    return given;
  }
  const [only, ...more] = packages;
  if (only !== undefined && more.length === 0) return only;
  if (only !== undefined) {
    throw new InputError(
      'name',
      `input "name" is required when "packages" lists ${packages.length} packages: name the build`,
    );
  }
  return repo;
}

export const LABEL_FIX =
  'use a DNS-1123 label: up to 63 lowercase letters, digits and -, alphanumeric at both ends';
export const SUBDOMAIN_FIX =
  'use a DNS-1123 subdomain: up to 253 lowercase letters, digits, - and ., alphanumeric at both ends';
export const POOL_FIX =
  'use a node pool name: up to 63 letters, digits, -, _ and ., alphanumeric at both ends';

/** kubeName returns v when ok(v), else throws an InputError for input with the given fix. */
export function kubeName(
  input: string,
  v: string,
  ok: (s: string) => boolean,
  fix: string,
): string {
  if (!ok(v)) throw invalid(input, 'name', v, fix);
  return v;
}

/**
 * validateArtifactsPath normalizes a directory relative to /workspace (`./out/` -> `out`) and
 * refuses absolute paths, `..` escapes, and kbuild's own `.kbuild` directory.
 */
export function validateArtifactsPath(v: string, input = 'artifacts_path'): string {
  const fix = 'use a directory relative to /workspace, e.g. packages';
  if (v.startsWith('/') || hasControlChar(v)) throw invalid(input, 'path', v, fix);
  const norm = posix.normalize(v).replace(/\/+$/, '') || '.';
  if (norm === '..' || norm.startsWith('../')) throw invalid(input, 'path', v, `${fix}, inside it`);
  if (norm === MARKER_DIR || norm.startsWith(`${MARKER_DIR}/`))
    throw invalid(input, 'path', v, `${fix}; ${MARKER_DIR} is kbuild's`);
  return norm;
}
