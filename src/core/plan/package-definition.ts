// package-definition.ts: what plan mode reads from a repository: which files are package
// definitions (the `package_paths` globs) and what a melange definition declares (its name, its
// subpackages and its build-time dependencies).
import picomatch from 'picomatch';
import { LineCounter, parseDocument } from 'yaml';
import { InputError, invalid, quote } from '../base/errors.ts';
import { validatePackageName } from '../inputs/spec-fields.ts';

/**
 * PackagePaths is the parsed `package_paths` input: repository-relative globs (picomatch syntax:
 * `*`, `?`, `**`, `[...]`, `{a,b}`), patterns starting with `!` exclude. `matches` answers for a
 * repository-relative POSIX path (as the GitHub API lists a pull request's files). Dot files and
 * dot directories never match, nor does anything under a `node_modules` directory.
 */
export interface PackagePaths {
  include: string[];
  /** exclude holds the `!` patterns without the `!`, plus DEFAULT_EXCLUDES. */
  exclude: string[];
  matches: (path: string) => boolean;
}

/** DEFAULT_EXCLUDES are never package definitions, whatever package_paths says. */
export const DEFAULT_EXCLUDES: readonly string[] = ['**/node_modules/**'];

/**
 * GLOB_OPTIONS are picomatch's options for package_paths; the workspace listing (tinyglobby, also
 * picomatch) must use the same ones so that both agree on what a definition is.
 */
export const GLOB_OPTIONS = { dot: false } as const;

/**
 * splitPatterns splits a list of globs like parseList splits lists (spaces, commas, newlines),
 * except that a comma inside braces belongs to the pattern (`packages/{main,extra}/*.yaml`).
 */
export function splitPatterns(value: string): string[] {
  const out: string[] = [];
  let word = '';
  let depth = 0;
  for (const ch of value) {
    if (ch === '{') depth++;
    if (ch === '}' && depth > 0) depth--;
    if (/\s/.test(ch) || (ch === ',' && depth === 0)) {
      if (word !== '') out.push(word);
      word = '';
      depth = 0;
    } else {
      word += ch;
    }
  }
  if (word !== '') out.push(word);
  return [...new Set(out)];
}

/**
 * parsePackagePaths parses the `package_paths` input (default `*.yaml`: definitions at the
 * repository root, like Wolfi's). Throws InputError for an empty list, a list of only `!`
 * patterns, an absolute pattern or one with a `..` segment, naming the input.
 */
export function parsePackagePaths(input: string, value: string): PackagePaths {
  const fix = 'use repository-relative globs such as *.yaml or packages/**/*.yaml';
  const patterns = splitPatterns(value);
  if (patterns.length === 0) throw new InputError(input, `input "${input}" is empty: ${fix}`);
  const include: string[] = [];
  const exclude: string[] = [...DEFAULT_EXCLUDES];
  for (const p of patterns) {
    const negated = p.startsWith('!');
    const glob = negated ? p.slice(1) : p;
    if (glob === '' || glob.startsWith('/') || glob.split('/').includes('..'))
      throw invalid(input, 'glob', p, fix);
    (negated ? exclude : include).push(glob.replace(/^\.\//, ''));
  }
  if (include.length === 0)
    throw invalid(input, 'glob list', value, `${fix}; ! patterns only exclude`);
  const matches = picomatch(include, { ...GLOB_OPTIONS, ignore: exclude });
  return { include, exclude, matches: (path) => matches(path) };
}

/**
 * PackageDefinition is what plan mode needs from one melange definition: `package.name`, the
 * names its `subpackages` provide (`${{package.name}}` substituted; names with other
 * substitutions are left out), and its build-time dependencies, `environment.contents.packages`,
 * with apk version constraints removed (`zlib>=1.3` -> `zlib`). See melange's docs
 * (docs/BUILD-FILE.md) for the format.
 */
export interface PackageDefinition {
  /** path is repository-relative, POSIX. */
  path: string;
  name: string;
  subpackages: string[];
  dependencies: string[];
}

/** DefinitionError reports a package definition that cannot be read; `path` names its file. */
export class DefinitionError extends Error {
  readonly path: string;

  constructor(path: string, message: string) {
    super(message);
    this.name = 'DefinitionError';
    this.path = path;
  }
}

/** dependencyName strips an apk constraint (`=`, `<`, `>`, `~`, `@tag`) from a world entry. */
export function dependencyName(entry: string): string {
  return entry.trim().split(/[=<>~@]/, 1)[0] ?? '';
}

/**
 * parsePackageDefinition reads one file's text. Answers undefined for YAML that is not a package
 * definition (no `package.name`: a CI config, mkdocs.yaml ...). Throws DefinitionError
 * (`path:line:col: message`) for invalid YAML, several documents, or a definition whose
 * `package.name` is not a package name or whose `environment.contents.packages` or `subpackages`
 * is not a list.
 */
export function parsePackageDefinition(path: string, text: string): PackageDefinition | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  const [err] = doc.errors;
  if (err) {
    const at = lineCounter.linePos(err.pos[0]);
    const where = `${path}:${at.line}:${at.col}`;
    const why =
      err.code === 'MULTIPLE_DOCS'
        ? 'several documents, a definition is one'
        : err.message.split('\n')[0];
    throw new DefinitionError(path, `${where}: invalid YAML: ${why}`);
  }
  const data: unknown = doc.toJS();
  const pkg = field(data, 'package');
  const name = field(pkg, 'name');
  if (name === undefined || name === null) return undefined;
  if (typeof name !== 'string')
    throw new DefinitionError(path, `${path}: package.name is not a string`);
  try {
    validatePackageName(name);
  } catch (e) {
    const why = e instanceof InputError ? e.message.replace(/^.*: /, '') : String(e);
    throw new DefinitionError(path, `${path}: invalid package.name ${quote(name)}: ${why}`);
  }
  const list = (value: unknown, where: string): unknown[] => {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw new DefinitionError(path, `${path}: ${where} is not a list`);
    return value;
  };
  const contents = field(field(data, 'environment'), 'contents');
  const dependencies = list(field(contents, 'packages'), 'environment.contents.packages').map(
    (entry, i) => {
      const dep = typeof entry === 'string' ? dependencyName(entry) : '';
      if (dep === '')
        throw new DefinitionError(
          path,
          `${path}: environment.contents.packages[${i}] is not a package name`,
        );
      return dep;
    },
  );
  const subpackages = list(field(data, 'subpackages'), 'subpackages')
    .map((sub) => field(sub, 'name'))
    .filter((sub): sub is string => typeof sub === 'string')
    .map((sub) => sub.replace(/\$\{\{\s*package\.name\s*\}\}/g, name))
    .filter((sub) => !sub.includes('${{'));
  return { path, name, subpackages: unique(subpackages), dependencies: unique(dependencies) };
}

function field(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return (value as Record<string, unknown>)[key];
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}
