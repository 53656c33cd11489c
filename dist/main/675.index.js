export const id = 675;
export const ids = [675];
export const modules = {

/***/ 90675:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  runPlanMode: () => (/* binding */ runPlanMode)
});

// UNUSED EXPORTS: planSummaryMarkdown, pullRequestNumber

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(73024);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: ./node_modules/@actions/core/lib/core.js + 15 modules
var core = __webpack_require__(14116);
// EXTERNAL MODULE: ./node_modules/@actions/github/lib/github.js + 22 modules
var github = __webpack_require__(92413);
// EXTERNAL MODULE: ./node_modules/tinyglobby/dist/index.mjs + 1 modules
var dist = __webpack_require__(73382);
// EXTERNAL MODULE: ./build/src/core/errors.js
var errors = __webpack_require__(43026);
// EXTERNAL MODULE: ./build/src/core/inputs-schema.js
var inputs_schema = __webpack_require__(38742);
// EXTERNAL MODULE: ./node_modules/picomatch/index.js
var picomatch = __webpack_require__(14006);
// EXTERNAL MODULE: ./node_modules/yaml/dist/index.js
var yaml_dist = __webpack_require__(38815);
// EXTERNAL MODULE: ./build/src/core/spec-fields.js
var spec_fields = __webpack_require__(20130);
;// CONCATENATED MODULE: ./build/src/core/package-definition.js
// package-definition.ts: what plan mode reads from a repository: which files are package
// definitions (the `package_paths` globs) and what a melange definition declares (its name, its
// subpackages and its build-time dependencies).




/** DEFAULT_EXCLUDES are never package definitions, whatever package_paths says. */
const DEFAULT_EXCLUDES = ['**/node_modules/**'];
/**
 * GLOB_OPTIONS are picomatch's options for package_paths; the workspace listing (tinyglobby, also
 * picomatch) must use the same ones so that both agree on what a definition is.
 */
const GLOB_OPTIONS = { dot: false };
/**
 * splitPatterns splits a list of globs like parseList splits lists (spaces, commas, newlines),
 * except that a comma inside braces belongs to the pattern (`packages/{main,extra}/*.yaml`).
 */
function splitPatterns(value) {
    const out = [];
    let word = '';
    let depth = 0;
    for (const ch of value) {
        if (ch === '{')
            depth++;
        if (ch === '}' && depth > 0)
            depth--;
        if (/\s/.test(ch) || (ch === ',' && depth === 0)) {
            if (word !== '')
                out.push(word);
            word = '';
            depth = 0;
        }
        else {
            word += ch;
        }
    }
    if (word !== '')
        out.push(word);
    return [...new Set(out)];
}
/**
 * parsePackagePaths parses the `package_paths` input (default `*.yaml`: definitions at the
 * repository root, like Wolfi's). Throws InputError for an empty list, a list of only `!`
 * patterns, an absolute pattern or one with a `..` segment, naming the input.
 */
function parsePackagePaths(input, value) {
    const fix = 'use repository-relative globs such as *.yaml or packages/**/*.yaml';
    const patterns = splitPatterns(value);
    if (patterns.length === 0)
        throw new errors/* InputError */.dz(input, `input "${input}" is empty: ${fix}`);
    const include = [];
    const exclude = [...DEFAULT_EXCLUDES];
    for (const p of patterns) {
        const negated = p.startsWith('!');
        const glob = negated ? p.slice(1) : p;
        if (glob === '' || glob.startsWith('/') || glob.split('/').includes('..'))
            throw (0,errors/* invalid */.Gq)(input, 'glob', p, fix);
        (negated ? exclude : include).push(glob.replace(/^\.\//, ''));
    }
    if (include.length === 0)
        throw (0,errors/* invalid */.Gq)(input, 'glob list', value, `${fix}; ! patterns only exclude`);
    const matches = picomatch(include, { ...GLOB_OPTIONS, ignore: exclude });
    return { include, exclude, matches: (path) => matches(path) };
}
/** DefinitionError reports a package definition that cannot be read; `path` names its file. */
class DefinitionError extends Error {
    path;
    constructor(path, message) {
        super(message);
        this.name = 'DefinitionError';
        this.path = path;
    }
}
/** dependencyName strips an apk constraint (`=`, `<`, `>`, `~`, `@tag`) from a world entry. */
function dependencyName(entry) {
    return entry.trim().split(/[=<>~@]/, 1)[0] ?? '';
}
/**
 * parsePackageDefinition reads one file's text. Answers undefined for YAML that is not a package
 * definition (no `package.name`: a CI config, mkdocs.yaml ...). Throws DefinitionError
 * (`path:line:col: message`) for invalid YAML, several documents, or a definition whose
 * `package.name` is not a package name or whose `environment.contents.packages` or `subpackages`
 * is not a list.
 */
function parsePackageDefinition(path, text) {
    const lineCounter = new yaml_dist/* LineCounter */.HN();
    const doc = (0,yaml_dist/* parseDocument */.Tp)(text, { prettyErrors: false, lineCounter });
    const [err] = doc.errors;
    if (err) {
        const at = lineCounter.linePos(err.pos[0]);
        const where = `${path}:${at.line}:${at.col}`;
        const why = err.code === 'MULTIPLE_DOCS'
            ? 'several documents, a definition is one'
            : err.message.split('\n')[0];
        throw new DefinitionError(path, `${where}: invalid YAML: ${why}`);
    }
    const data = doc.toJS();
    const pkg = field(data, 'package');
    const name = field(pkg, 'name');
    if (name === undefined || name === null)
        return undefined;
    if (typeof name !== 'string')
        throw new DefinitionError(path, `${path}: package.name is not a string`);
    try {
        (0,spec_fields/* validatePackageName */.Eu)(name);
    }
    catch (e) {
        const why = e instanceof errors/* InputError */.dz ? e.message.replace(/^.*: /, '') : String(e);
        throw new DefinitionError(path, `${path}: invalid package.name ${(0,errors/* quote */.hD)(name)}: ${why}`);
    }
    const list = (value, where) => {
        if (value === undefined || value === null)
            return [];
        if (!Array.isArray(value))
            throw new DefinitionError(path, `${path}: ${where} is not a list`);
        return value;
    };
    const contents = field(field(data, 'environment'), 'contents');
    const dependencies = list(field(contents, 'packages'), 'environment.contents.packages').map((entry, i) => {
        const dep = typeof entry === 'string' ? dependencyName(entry) : '';
        if (dep === '')
            throw new DefinitionError(path, `${path}: environment.contents.packages[${i}] is not a package name`);
        return dep;
    });
    const subpackages = list(field(data, 'subpackages'), 'subpackages')
        .map((sub) => field(sub, 'name'))
        .filter((sub) => typeof sub === 'string')
        .map((sub) => sub.replace(/\$\{\{\s*package\.name\s*\}\}/g, name))
        .filter((sub) => !sub.includes('${{'));
    return { path, name, subpackages: unique(subpackages), dependencies: unique(dependencies) };
}
function field(value, key) {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
        return undefined;
    return value[key];
}
function unique(items) {
    return [...new Set(items)];
}

// EXTERNAL MODULE: ./build/src/core/parse.js
var parse = __webpack_require__(11874);
;// CONCATENATED MODULE: ./build/src/core/plan.js
/** DuplicatePackageError reports one package name defined by two files. */
class DuplicatePackageError extends Error {
    paths;
    constructor(name, paths) {
        super(`package ${name} is defined twice, in ${paths.join(' and ')}: give each definition its own package.name, or narrow input "package_paths"`);
        this.name = 'DuplicatePackageError';
        this.paths = paths;
    }
}
/**
 * DependencyCycleError reports build-time dependency cycles: `cycles` holds one cycle per strongly
 * connected component, each starting and ending at its smallest name (`['a', 'b', 'a']`).
 */
class DependencyCycleError extends Error {
    cycles;
    constructor(cycles) {
        const shown = cycles.map((c) => c.join(' -> ')).join('; ');
        super(`dependency ${cycles.length === 1 ? 'cycle' : 'cycles'}: ${shown}: these packages need each other to build (environment.contents.packages); remove one of the dependencies, or bootstrap one package in an earlier pull request`);
        this.name = 'DependencyCycleError';
        this.cycles = cycles;
    }
}
const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
/**
 * buildGraph links definitions by name: a dependency names a package or one of its subpackages.
 * Throws DuplicatePackageError when two files define (or provide) the same name.
 */
function buildGraph(definitions) {
    const defs = new Map();
    const provider = new Map();
    for (const def of [...definitions].sort((a, b) => byName(a.path, b.path))) {
        for (const name of [def.name, ...def.subpackages]) {
            const other = provider.get(name);
            if (other && other !== def)
                throw new DuplicatePackageError(name, [other.path, def.path]);
            provider.set(name, def);
        }
        defs.set(def.name, def);
    }
    const dependencies = new Map();
    const selfDependent = [];
    for (const def of defs.values()) {
        const deps = new Set();
        for (const dep of def.dependencies) {
            const owner = provider.get(dep)?.name;
            if (owner === def.name)
                selfDependent.push(def.name);
            else if (owner !== undefined)
                deps.add(owner);
        }
        dependencies.set(def.name, [...deps].sort(byName));
    }
    return { definitions: defs, dependencies, selfDependent: [...new Set(selfDependent)].sort() };
}
/**
 * dependents answers the packages that depend on any of `packages`, directly or through other
 * repository packages (not including `packages` themselves), sorted.
 */
function dependents(graph, packages) {
    const reverse = new Map();
    for (const [pkg, deps] of graph.dependencies)
        for (const dep of deps)
            reverse.set(dep, [...(reverse.get(dep) ?? []), pkg]);
    const start = new Set(packages);
    const seen = new Set();
    const queue = [...packages];
    for (let pkg = queue.shift(); pkg !== undefined; pkg = queue.shift()) {
        for (const up of reverse.get(pkg) ?? []) {
            if (seen.has(up) || start.has(up))
                continue;
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
function dependencyLevels(graph, packages) {
    const wanted = new Set(packages);
    const pending = new Map();
    for (const pkg of wanted)
        pending.set(pkg, (graph.dependencies.get(pkg) ?? []).filter((d) => wanted.has(d)));
    const levels = [];
    const done = new Set();
    while (pending.size > 0) {
        const level = [...pending]
            .filter(([, deps]) => deps.every((d) => done.has(d)))
            .map(([pkg]) => pkg);
        if (level.length === 0)
            throw new DependencyCycleError(findCycles(pending));
        level.sort(byName);
        for (const pkg of level)
            pending.delete(pkg);
        for (const pkg of level)
            done.add(pkg);
        levels.push(level);
    }
    return levels;
}
/**
 * findCycles answers one cycle per strongly connected component (Tarjan's algorithm) of more
 * than one package: the shortest path from the component's smallest name back to itself.
 */
function findCycles(edges) {
    const index = new Map();
    const low = new Map();
    const stack = [];
    const onStack = new Set();
    const components = [];
    const visit = (v) => {
        index.set(v, index.size);
        low.set(v, index.get(v));
        stack.push(v);
        onStack.add(v);
        for (const w of edges.get(v) ?? []) {
            if (!edges.has(w))
                continue;
            if (!index.has(w)) {
                visit(w);
                low.set(v, Math.min(low.get(v), low.get(w)));
            }
            else if (onStack.has(w)) {
                low.set(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v) !== index.get(v))
            return;
        const component = [];
        for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
            onStack.delete(w);
            component.push(w);
            if (w === v)
                break;
        }
        if (component.length > 1)
            components.push(component);
    };
    for (const v of [...edges.keys()].sort(byName))
        if (!index.has(v))
            visit(v);
    return components
        .map((component) => shortestCycle(edges, new Set(component)))
        .sort((a, b) => byName(a[0] ?? '', b[0] ?? ''));
}
function shortestCycle(edges, members) {
    const start = [...members].sort(byName)[0];
    const parent = new Map();
    const queue = [start];
    for (let v = queue.shift(); v !== undefined; v = queue.shift()) {
        for (const w of [...(edges.get(v) ?? [])].sort(byName)) {
            if (!members.has(w))
                continue;
            if (w === start) {
                const path = [v];
                for (let p = parent.get(v); p !== undefined; p = parent.get(p))
                    path.push(p);
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
/**
 * buildMatrix renders the `matrix` output, `{"include":[{"package":..,"arch":..}]}` (GitHub's
 * `strategy.matrix` form, fed through `fromJSON`): level by level, every package for every arch.
 */
function buildMatrix(levels, archs) {
    const include = levels
        .flat()
        .flatMap((p) => archs.map((arch) => ({ package: p, arch })));
    return { include };
}
/**
 * planBuilds decides what a pull request builds: every definition it adds, modifies, copies or
 * renames (matching package_paths), plus the repository packages that depend on one of them,
 * directly or not (they are rebuilt against the change; a DESIGN section 7 decision). Deleted
 * definitions are not built; other files are ignored. Throws DependencyCycleError for a cycle
 * among the planned packages, DuplicatePackageError, or an Error when a changed definition is
 * missing from the checkout (the workflow did not check out the pull request's head).
 */
function planBuilds(input) {
    const graph = buildGraph(input.definitions);
    const byPath = new Map(input.definitions.map((d) => [d.path, d]));
    const changed = new Set();
    const removed = [];
    const ignored = [];
    const notes = [];
    for (const f of input.files) {
        const matches = input.paths.matches(f.filename);
        if (f.status === 'removed') {
            (matches ? removed : ignored).push(f.filename);
            continue;
        }
        if (f.status === 'renamed' && f.previousFilename && input.paths.matches(f.previousFilename)) {
            if (!matches)
                removed.push(f.previousFilename);
        }
        if (f.status === 'unchanged')
            continue;
        if (!matches) {
            ignored.push(f.filename);
            continue;
        }
        const def = byPath.get(f.filename);
        if (def)
            changed.add(def.name);
        else if (input.present(f.filename)) {
            ignored.push(f.filename);
            notes.push(`${f.filename} matches package_paths but has no package.name: not a package definition`);
        }
        else
            throw new Error(`${f.filename} changed in the pull request but is not in the checkout: check out the pull request's head (actions/checkout) before plan mode`);
    }
    const changedList = [...changed].sort(byName);
    const added = dependents(graph, changedList);
    const levels = dependencyLevels(graph, [...changedList, ...added]);
    const planned = new Set([...changedList, ...added]);
    const rebuilt = {};
    for (const pkg of added)
        rebuilt[pkg] = (graph.dependencies.get(pkg) ?? []).filter((d) => planned.has(d));
    const dependencies = {};
    for (const pkg of levels.flat()) {
        const deps = (graph.dependencies.get(pkg) ?? []).filter((d) => planned.has(d) && d !== pkg);
        if (deps.length > 0)
            dependencies[pkg] = deps;
    }
    for (const pkg of graph.selfDependent.filter((p) => planned.has(p)))
        notes.push(`${pkg} depends on itself: built with the version already published`);
    const elsewhere = findCycles(graph.dependencies).filter((c) => !c.some((p) => planned.has(p)));
    for (const c of elsewhere)
        notes.push(`dependency cycle outside this change: ${c.join(' -> ')}`);
    for (const path of removed)
        notes.push(`${path} was removed: not built`);
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

;// CONCATENATED MODULE: ./build/src/action/plan.js
/**
 * plan.ts: mode `plan` of the action (DESIGN section 7). Lists the pull
 * request's changed files through the GitHub API, reads the package
 * definitions of the checkout (GITHUB_WORKSPACE), and outputs the build
 * `matrix` and the dependency `levels`, with a job summary.
 */











/** LIST_FILES_LIMIT: GitHub's "List pull requests files" answers at most 3000 files. */
const LIST_FILES_LIMIT = 3000;
/**
 * runPlanMode runs mode `plan`: validates `archs`, `package_paths` and
 * `github_token` before any request, then sets the outputs `matrix`
 * (`{"include":[{"package":..,"arch":..}]}`), `levels` (JSON array of
 * arrays of package names) and `dependencies` (JSON `{package: [planned packages it needs]}`) and writes the job summary. The pull request is
 * the event payload's `pull_request.number` (GITHUB_EVENT_PATH); the API is
 * GITHUB_API_URL's (through @actions/github). Resolves with the exit code, 0;
 * throws InputError, DependencyCycleError, DefinitionError or an Error naming
 * the API failure and the permission to grant.
 */
async function runPlanMode(raw, ctx, env) {
    const issues = new errors/* InputIssues */.b0();
    const archs = issues.attempt(() => (0,parse/* parseArchList */.E5)('archs', (0,inputs_schema/* inputValue */.UV)(raw, 'archs')));
    const paths = issues.attempt(() => parsePackagePaths('package_paths', (0,inputs_schema/* inputValue */.UV)(raw, 'package_paths')));
    const token = (0,inputs_schema/* inputValue */.UV)(raw, 'github_token');
    if (token === '')
        issues.add('github_token', 'input "github_token" is empty: pass a token that can read pull requests, e.g. ${{ github.token }}');
    issues.throwIfAny();
    core/* setSecret */.Pq(token);
    const pull = pullRequestNumber(github/* context */._.payload, ctx.eventName);
    const workspace = env['GITHUB_WORKSPACE']?.trim() || process.cwd();
    const files = await listChangedFiles(token, ctx, pull);
    if (files.length >= LIST_FILES_LIMIT)
        core/* warning */.$e(`pull request #${pull} lists ${files.length} files, GitHub's limit: files past it are not planned`);
    const definitions = await readDefinitions(workspace, paths);
    const plan = planBuilds({
        files,
        paths: paths,
        definitions,
        present: (path) => (0,external_node_fs_.existsSync)((0,external_node_path_.join)(workspace, path)),
        archs: archs,
    });
    core/* setOutput */.uH('matrix', JSON.stringify(plan.matrix));
    core/* setOutput */.uH('levels', JSON.stringify(plan.levels));
    core/* setOutput */.uH('dependencies', JSON.stringify(plan.dependencies));
    for (const line of planLog(plan, pull, files.length))
        core/* info */.pq(line);
    await core/* summary */.z
        .addRaw(planSummaryMarkdown(plan, pull, (0,inputs_schema/* inputValue */.UV)(raw, 'package_paths')), true)
        .write();
    return 0;
}
/** pullRequestNumber reads `pull_request.number` from the event payload, or explains its absence. */
function pullRequestNumber(payload, eventName) {
    const n = payload.pull_request?.number;
    if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0)
        return n;
    throw new errors/* InputError */.dz('mode', `mode "plan" needs a pull request: the ${eventName ? `"${eventName}" ` : ''}event payload (GITHUB_EVENT_PATH) has no pull_request.number; run it on pull_request or pull_request_target events`);
}
/** listChangedFiles pages through GET /repos/{owner}/{repo}/pulls/{n}/files (100 a page). */
async function listChangedFiles(token, ctx, pull) {
    const octokit = github/* getOctokit */.Q(token);
    try {
        const files = await octokit.paginate(octokit.rest.pulls.listFiles, {
            owner: ctx.owner,
            repo: ctx.repo,
            pull_number: pull,
            per_page: 100,
        });
        return files.map((f) => ({
            filename: f.filename,
            status: f.status,
            ...(f.previous_filename ? { previousFilename: f.previous_filename } : {}),
        }));
    }
    catch (err) {
        const status = err.status;
        const why = err instanceof Error ? err.message : String(err);
        const fix = status === 401 || status === 403 || status === 404
            ? ': give the job `permissions: pull-requests: read` (and contents: read), or a github_token that can read the repository'
            : '';
        throw new Error(`cannot list the files of pull request #${pull} in ${ctx.repository}: ${why}${fix}`, {
            cause: err,
        });
    }
}
/** readDefinitions reads every package definition of the checkout (files matching package_paths). */
async function readDefinitions(workspace, paths) {
    const found = await (0,dist/* glob */.TI)(paths.include, {
        cwd: workspace,
        ignore: paths.exclude,
        ...GLOB_OPTIONS,
        onlyFiles: true,
        expandDirectories: false,
    });
    const defs = await Promise.all(found
        .sort()
        .map(async (path) => parsePackageDefinition(path, await (0,promises_.readFile)((0,external_node_path_.join)(workspace, path), 'utf8'))));
    return defs.filter((d) => d !== undefined);
}
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
/** listed shows at most `max` items, then how many more there are. */
const listed = (items, max, sep) => items.slice(0, max).join(sep) + (items.length > max ? ` and ${items.length - max} more` : '');
function planLog(plan, pull, fileCount) {
    const lines = [
        `Pull request #${pull}: ${plural(fileCount, 'changed file')}, ${plural(plan.changed.length, 'package definition')} changed`,
    ];
    if (plan.levels.length === 0)
        lines.push('No package definitions changed: nothing to build (matrix {"include":[]})');
    for (const [i, level] of plan.levels.entries())
        lines.push(`Level ${i}: ${level.join(' ')}`);
    lines.push(...plan.notes);
    if (plan.ignored.length > 0)
        lines.push(`Not package definitions (ignored): ${listed(plan.ignored, 50, ' ')}`);
    return lines;
}
const code = (s) => `\`${s.replace(/[`|\r\n]/g, '?')}\``;
/** planSummaryMarkdown renders the job summary: one row per planned package, then the notes. */
function planSummaryMarkdown(plan, pull, packagePaths) {
    const out = [`### kbuild plan: pull request #${pull}`, ''];
    if (plan.levels.length === 0) {
        out.push(`No package definitions (${code(packagePaths)}) changed: nothing to build.`, '');
    }
    else {
        const archs = [...new Set(plan.matrix.include.map((e) => e.arch))].join(', ');
        out.push('| level | package | why | archs |', '| --- | --- | --- | --- |');
        for (const [i, level] of plan.levels.entries()) {
            for (const pkg of level) {
                const deps = plan.rebuilt[pkg];
                const why = deps ? `depends on ${deps.map(code).join(', ')}` : 'definition changed';
                out.push(`| ${i} | ${code(pkg)} | ${why} | ${archs} |`);
            }
        }
        const builds = plural(plan.matrix.include.length, 'build');
        out.push('', `${builds} in ${plural(plan.levels.length, 'level')}.`, '');
    }
    const notes = [...plan.notes];
    if (plan.ignored.length > 0)
        notes.push(`Not package definitions, ignored: ${listed(plan.ignored.map(code), 20, ', ')}`);
    if (notes.length > 0)
        out.push('#### Notes', '', ...notes.map((n) => `- ${n}`), '');
    return out.join('\n');
}


/***/ })

};
