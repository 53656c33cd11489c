// changelog-notes.ts: the release notes of one version, from CHANGELOG.md.
//
//   node scripts/changelog-notes.ts vX.Y.Z     prints the notes; exit 1 with the reason otherwise
//
// The release workflow (.github/workflows/release.yml) uses it. It refuses a
// tag that is not vX.Y.Z, a CHANGELOG without a `## [X.Y.Z]` section or with
// an empty one, and a package.json whose version is not X.Y.Z, so a release
// never goes out with notes or a version that belong to another.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

/** versionOfTag answers X.Y.Z for the tag vX.Y.Z; throws for anything else. */
export function versionOfTag(tag: string): string {
  const m = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/.exec(tag);
  if (!m) throw new Error(`invalid release tag "${tag}": use vX.Y.Z, e.g. v1.2.3`);
  return tag.slice(1);
}

/**
 * changelogSection answers the body of the `## [version]` section of a
 * Keep a Changelog document (the heading may go on with ` - YYYY-MM-DD`),
 * trimmed, up to the next `## ` heading or the link references at the end.
 * Throws when the section is missing or empty.
 */
export function changelogSection(changelog: string, version: string): string {
  const lines = changelog.split(/\r?\n/);
  const heading = `## [${version}]`;
  const start = lines.findIndex((l) => l === heading || l.startsWith(`${heading} `));
  if (start < 0) {
    throw new Error(
      `CHANGELOG.md has no "${heading} - YYYY-MM-DD" section: move the [Unreleased] entries under it`,
    );
  }
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => l.startsWith('## ') || /^\[[^\]]+\]:\s/.test(l));
  const body = (end < 0 ? rest : rest.slice(0, end)).join('\n').trim();
  if (!body) throw new Error(`CHANGELOG.md section "${heading}" is empty`);
  return body;
}

if (import.meta.main) {
  try {
    const version = versionOfTag(process.argv[2] ?? '');
    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
      version?: string;
    };
    if (pkg.version !== version) {
      throw new Error(
        `package.json has version "${pkg.version ?? ''}", the tag says ${version}: set it and tag again`,
      );
    }
    console.log(changelogSection(readFileSync(resolve(ROOT, 'CHANGELOG.md'), 'utf8'), version));
  } catch (e) {
    console.error(`changelog-notes: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
