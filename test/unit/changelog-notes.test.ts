// changelog-notes.test.ts: the release workflow's notes come from the right
// CHANGELOG section, and a bad tag or a missing section stops the release.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { changelogSection, versionOfTag } from '../../scripts/changelog-notes.ts';

const CHANGELOG = `# Changelog

## [Unreleased]

- next

## [1.2.0] - 2027-01-10

### Added

- \`compute_class\`.

## [1.1.0] - 2026-12-20

- older

## [1.0.0]

[1.2.0]: https://example.org/compare/v1.1.0...v1.2.0
`;

test('changelogSection answers one version’s entries', async (t) => {
  const cases = [
    { name: 'middle section', input: '1.2.0', want: '### Added\n\n- `compute_class`.' },
    { name: 'next heading ends it', input: '1.1.0', want: '- older' },
    { name: 'empty last section', input: '1.0.0', error: /section "## \[1\.0\.0\]" is empty/ },
    { name: 'missing', input: '2.0.0', error: /no "## \[2\.0\.0\] - YYYY-MM-DD" section/ },
    { name: 'no prefix match', input: '1.2', error: /no "## \[1\.2\]/ },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      if (c.error) assert.throws(() => changelogSection(CHANGELOG, c.input), c.error);
      else assert.equal(changelogSection(CHANGELOG, c.input), c.want);
    });
  }
});

test('versionOfTag accepts vX.Y.Z only', async (t) => {
  const cases = [
    { name: 'release', input: 'v1.2.3', want: '1.2.3' },
    { name: 'zeros', input: 'v0.10.0', want: '0.10.0' },
    { name: 'major tag', input: 'v1', error: /invalid release tag "v1": use vX\.Y\.Z/ },
    { name: 'pre-release', input: 'v1.2.3-rc.1', error: /invalid release tag/ },
    { name: 'no v', input: '1.2.3', error: /invalid release tag/ },
    { name: 'leading zero', input: 'v01.2.3', error: /invalid release tag/ },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      if (c.error) assert.throws(() => versionOfTag(c.input), c.error);
      else assert.equal(versionOfTag(c.input), c.want);
    });
  }
});

test("the repository's CHANGELOG.md keeps an [Unreleased] section", () => {
  const text = readFileSync(new URL('../../CHANGELOG.md', import.meta.url), 'utf8');
  assert.match(text, /^## \[Unreleased\]$/m);
  assert.match(changelogSection(text, 'Unreleased'), /\S/);
});
