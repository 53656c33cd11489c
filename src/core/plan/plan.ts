// plan.ts: plan mode's pure core (docs/design.md, "Plan mode"). From a pull request's changed files and the
// repository's package definitions, decide which packages to build, in which dependency levels,
// and render the `matrix` and `levels` outputs.
import type { PackageDefinition, PackagePaths } from './package-definition.ts';
import type { Arch } from '../inputs/parse.ts';

/**
 * ChangedFile is one entry of a pull request's file list, as GitHub's "List pull requests files"
 * endpoint answers it (`filename`, `status`, `previous_filename` for renames).
 */
export interface ChangedFile {
  filename: string;
  /** status is `added`, `removed`, `modified`, `renamed`, `copied`, `changed` or `unchanged`. */
  status: string;
  previousFilename?: string;
}

/**
 * PackageGraph is the build-time dependency graph of the packages defined in a repository.
 * `dependencies` maps each package to the repository packages it needs (sorted; entries that no
 * repository definition provides, such as `build-base`, are host/toolchain packages and are left
 * out, and so is a package's dependency on itself or its own subpackages, which melange resolves
 * to the version already published).
 */
export interface PackageGraph {
  definitions: ReadonlyMap<string, PackageDefinition>;
  dependencies: ReadonlyMap<string, readonly string[]>;
  /** selfDependent lists the packages that list themselves (or a subpackage of theirs). */
  selfDependent: readonly string[];
}

/** DuplicatePackageError reports one package name defined by two files. */
export class DuplicatePackageError extends Error {
  readonly paths: readonly string[];

  constructor(name: string, paths: readonly string[]) {
    super(
      `package ${name} is defined twice, in ${paths.join(' and ')}: give each definition its own package.name, or narrow input "package_paths"`,
    );
    this.name = 'DuplicatePackageError';
    this.paths = paths;
  }
}

/**
 * DependencyCycleError reports build-time dependency cycles: `cycles` holds one cycle per strongly
 * connected component, each starting and ending at its smallest name (`['a', 'b', 'a']`).
 */
export class DependencyCycleError extends Error {
  readonly cycles: readonly string[][];

  constructor(cycles: readonly string[][]) {
    const shown = cycles.map((c) => c.join(' -> ')).join('; ');
    super(
      `dependency ${cycles.length === 1 ? 'cycle' : 'cycles'}: ${shown}: these packages need each other to build (environment.contents.packages); remove one of the dependencies, or bootstrap one package in an earlier pull request`,
    );
    this.name = 'DependencyCycleError';
    this.cycles = cycles;
  }
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * buildGraph links definitions by name: a dependency names a package or one of its subpackages.
 * Throws DuplicatePackageError when two files define (or provide) the same name.
 */
export function buildGraph(definitions: readonly PackageDefinition[]): PackageGraph {
  const defs = new Map<string, PackageDefinition>();
  const provider = new Map<string, PackageDefinition>();
  for (const def of [...definitions].sort((a, b) => byName(a.path, b.path))) {
    for (const name of [def.name, ...def.subpackages]) {
      const other = provider.get(name);
      if (other && other !== def) throw new DuplicatePackageError(name, [other.path, def.path]);
      provider.set(name, def);
    }
    defs.set(def.name, def);
  }
  const dependencies = new Map<string, string[]>();
  const selfDependent: string[] = [];
  for (const def of defs.values()) {
    const deps = new Set<string>();
    for (const dep of def.dependencies) {
      const owner = provider.get(dep)?.name;
      if (owner === def.name) selfDependent.push(def.name);
      else if (owner !== undefined) deps.add(owner);
    }
    dependencies.set(def.name, [...deps].sort(byName));
  }
  return { definitions: defs, dependencies, selfDependent: [...new Set(selfDependent)].sort() };
}

/**
 * dependents answers the packages that depend on any of `packages`, directly or through other
 * repository packages (not including `packages` themselves), sorted.
 */
export function dependents(graph: PackageGraph, packages: readonly string[]): string[] {
  const reverse = new Map<string, string[]>();
  for (const [pkg, deps] of graph.dependencies)
    for (const dep of deps) reverse.set(dep, [...(reverse.get(dep) ?? []), pkg]);
  const start = new Set(packages);
  const seen = new Set<string>();
  const queue = [...packages];
  for (let pkg = queue.shift(); pkg !== undefined; pkg = queue.shift()) {
    for (const up of reverse.get(pkg) ?? []) {
      if (seen.has(up) || start.has(up)) continue;
      seen.add(up);
      queue.push(up);
    }
  }
  return [...seen].sort(byName);
}

/**
 * dependencyLevels orders `packages` (a subset of the graph) into levels: level 0 needs none of
 * the others, level N only packages of levels < N, each level sorted by name (Kahn's algorithm).
 * Dependencies outside `packages` count as already built. Throws DependencyCycleError naming
 * every cycle among `packages`.
 */
export function dependencyLevels(graph: PackageGraph, packages: readonly string[]): string[][] {
  const wanted = new Set(packages);
  const pending = new Map<string, string[]>();
  for (const pkg of wanted)
    pending.set(
      pkg,
      (graph.dependencies.get(pkg) ?? []).filter((d) => wanted.has(d)),
    );
  const levels: string[][] = [];
  const done = new Set<string>();
  while (pending.size > 0) {
    const level = [...pending]
      .filter(([, deps]) => deps.every((d) => done.has(d)))
      .map(([pkg]) => pkg);
    if (level.length === 0) throw new DependencyCycleError(findCycles(pending));
    level.sort(byName);
    for (const pkg of level) pending.delete(pkg);
    for (const pkg of level) done.add(pkg);
    levels.push(level);
  }
  return levels;
}

/**
 * findCycles answers one cycle per strongly connected component (Tarjan's algorithm) of more
 * than one package: the shortest path from the component's smallest name back to itself.
 */
export function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
      onStack.delete(w);
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1) components.push(component);
  };
  for (const v of [...edges.keys()].sort(byName)) if (!index.has(v)) visit(v);
  return components
    .map((component) => shortestCycle(edges, new Set(component)))
    .sort((a, b) => byName(a[0] ?? '', b[0] ?? ''));
}

function shortestCycle(edges: ReadonlyMap<string, readonly string[]>, members: Set<string>) {
  const start = [...members].sort(byName)[0]!;
  const parent = new Map<string, string>();
  const queue = [start];
  for (let v = queue.shift(); v !== undefined; v = queue.shift()) {
    for (const w of [...(edges.get(v) ?? [])].sort(byName)) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        for (let p = parent.get(v); p !== undefined; p = parent.get(p)) path.push(p);
        return [...path.reverse(), start];
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** MatrixEntry is one job of the build matrix. */
export interface MatrixEntry {
  package: string;
  arch: Arch;
}

/**
 * buildMatrix renders the `matrix` output, `{"include":[{"package":..,"arch":..}]}` (GitHub's
 * `strategy.matrix` form, fed through `fromJSON`): level by level, every package for every arch.
 */
export function buildMatrix(levels: readonly string[][], archs: readonly Arch[]) {
  const include: MatrixEntry[] = levels
    .flat()
    .flatMap((p) => archs.map((arch) => ({ package: p, arch })));
  return { include };
}

/** Plan is plan mode's answer. */
export interface Plan {
  /** changed lists the packages whose definition the pull request adds or changes. */
  changed: string[];
  /** rebuilt maps each dependent added to the plan to the planned packages it depends on. */
  rebuilt: Record<string, string[]>;
  levels: string[][];
  /**
   * dependencies maps each planned package that needs other planned packages to them (sorted);
   * the `dependencies` input of mode dispatch. Packages that need none of them are left out.
   */
  dependencies: Record<string, string[]>;
  matrix: { include: MatrixEntry[] };
  /** removed lists deleted definitions (or ones renamed out of package_paths): not built. */
  removed: string[];
  /** ignored lists changed files that are not package definitions. */
  ignored: string[];
  /** notes are human-readable remarks for the log and the summary. */
  notes: string[];
}

/** PlanInput is what planBuilds needs: all plain values. */
export interface PlanInput {
  files: readonly ChangedFile[];
  paths: PackagePaths;
  /** definitions are every package definition of the checkout (paths matching package_paths). */
  definitions: readonly PackageDefinition[];
  /** present tells whether a repository-relative file exists in the checkout. */
  present: (path: string) => boolean;
  archs: readonly Arch[];
}

/**
 * planBuilds decides what a pull request builds: every definition it adds, modifies, copies or
 * renames (matching package_paths), plus the repository packages that depend on one of them,
 * directly or not (they are rebuilt against the change; a decision of docs/design.md, "Plan mode"). Deleted
 * definitions are not built; other files are ignored. Throws DependencyCycleError for a cycle
 * among the planned packages, DuplicatePackageError, or an Error when a changed definition is
 * missing from the checkout (the workflow did not check out the pull request's head).
 */
export function planBuilds(input: PlanInput): Plan {
  const graph = buildGraph(input.definitions);
  const byPath = new Map(input.definitions.map((d) => [d.path, d]));
  const changed = new Set<string>();
  const removed: string[] = [];
  const ignored: string[] = [];
  const notes: string[] = [];
  for (const f of input.files) {
    const matches = input.paths.matches(f.filename);
    if (f.status === 'removed') {
      (matches ? removed : ignored).push(f.filename);
      continue;
    }
    if (f.status === 'renamed' && f.previousFilename && input.paths.matches(f.previousFilename)) {
      if (!matches) removed.push(f.previousFilename);
    }
    if (f.status === 'unchanged') continue;
    if (!matches) {
      ignored.push(f.filename);
      continue;
    }
    const def = byPath.get(f.filename);
    if (def) changed.add(def.name);
    else if (input.present(f.filename)) {
      ignored.push(f.filename);
      notes.push(
        `${f.filename} matches package_paths but has no package.name: not a package definition`,
      );
    } else
      throw new Error(
        `${f.filename} changed in the pull request but is not in the checkout: check out the pull request's head (actions/checkout) before plan mode`,
      );
  }
  const changedList = [...changed].sort(byName);
  const added = dependents(graph, changedList);
  const levels = dependencyLevels(graph, [...changedList, ...added]);
  const planned = new Set([...changedList, ...added]);
  const rebuilt: Record<string, string[]> = {};
  for (const pkg of added)
    rebuilt[pkg] = (graph.dependencies.get(pkg) ?? []).filter((d) => planned.has(d));
  const dependencies: Record<string, string[]> = {};
  for (const pkg of levels.flat()) {
    const deps = (graph.dependencies.get(pkg) ?? []).filter((d) => planned.has(d) && d !== pkg);
    if (deps.length > 0) dependencies[pkg] = deps;
  }
  for (const pkg of graph.selfDependent.filter((p) => planned.has(p)))
    notes.push(`${pkg} depends on itself: built with the version already published`);
  const elsewhere = findCycles(graph.dependencies).filter((c) => !c.some((p) => planned.has(p)));
  for (const c of elsewhere) notes.push(`dependency cycle outside this change: ${c.join(' -> ')}`);
  for (const path of removed) notes.push(`${path} was removed: not built`);
  return {
    changed: changedList,
    rebuilt,
    levels,
    dependencies,
    matrix: buildMatrix(levels, input.archs),
    removed: removed.sort(byName),
    ignored: ignored.sort(byName),
    notes,
  };
}
