#!/usr/bin/env node
// gen-inputs-doc.mjs: writes docs/inputs.md from action.yml, so the reference
// of inputs and outputs never drifts from the action's metadata.
//   node scripts/gen-inputs-doc.mjs           write docs/inputs.md
//   node scripts/gen-inputs-doc.mjs --check   exit 1 when docs/inputs.md is out of date
// The comment lines above a group of inputs in action.yml (`# Credentials and
// cluster`) become the section headings.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isMap, isScalar, parseDocument } from 'yaml';

const ROOT = resolve(import.meta.dirname, '..');
const ACTION = resolve(ROOT, 'action.yml');
const DOC = resolve(ROOT, 'docs/inputs.md');

/** cell makes a value safe inside a Markdown table cell: one line, pipes escaped. */
function cell(text) {
  return String(text ?? '')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
}

/** code renders a default value as inline code, or a dash when there is none. */
function code(value) {
  if (value === undefined || value === null) return '';
  const s = String(value);
  if (s === '') return '`""`';
  return s.includes('`') ? `\`\` ${s} \`\`` : `\`${s}\``;
}

/**
 * render answers the Markdown of docs/inputs.md for the text of action.yml.
 * Throws when action.yml has no `inputs` map or an input has no description.
 */
export function render(actionYaml) {
  const doc = parseDocument(actionYaml);
  if (doc.errors.length > 0) throw new Error(`action.yml: ${doc.errors[0].message}`);
  const inputs = doc.get('inputs', true);
  const outputs = doc.get('outputs', true);
  if (!isMap(inputs)) throw new Error('action.yml has no inputs map');

  const lines = [
    '# Inputs and outputs',
    '',
    '<!-- Generated from action.yml by scripts/gen-inputs-doc.mjs (npm run docs:inputs). Do not edit. -->',
    '',
    `${cell(doc.get('description'))}`,
    '',
    'Durations use the `1h30m` form (or seconds); quantities are Kubernetes quantities (`500m`, `4`, `12Gi`).',
  ];
  let section = 'Mode';
  let open = false;
  const head = (title) => {
    lines.push('', `## ${title}`, '', '| input | default | description |', '| --- | --- | --- |');
    open = true;
  };
  for (const pair of inputs.items) {
    const comment = isScalar(pair.key) ? pair.key.commentBefore : undefined;
    if (comment) {
      section = comment.trim();
      open = false;
    }
    if (!open) head(section);
    const name = String(isScalar(pair.key) ? pair.key.value : pair.key);
    const spec = isMap(pair.value) ? pair.value.toJSON() : {};
    if (!spec.description) throw new Error(`action.yml: input "${name}" has no description`);
    const required = spec.required === true ? ' **Required.**' : '';
    lines.push(`| \`${name}\` | ${code(spec.default)} | ${cell(spec.description)}${required} |`);
  }
  if (isMap(outputs)) {
    lines.push('', '## Outputs', '', '| output | description |', '| --- | --- |');
    for (const pair of outputs.items) {
      const name = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const spec = isMap(pair.value) ? pair.value.toJSON() : {};
      lines.push(`| \`${name}\` | ${cell(spec.description)} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function main() {
  const want = render(readFileSync(ACTION, 'utf8'));
  if (process.argv.includes('--check')) {
    let have = '';
    try {
      have = readFileSync(DOC, 'utf8');
    } catch {
      // missing: out of date
    }
    if (have !== want) {
      console.error(
        'docs/inputs.md is out of date with action.yml: run `npm run docs:inputs` and commit it',
      );
      process.exit(1);
    }
    console.log('docs/inputs.md is up to date');
    return;
  }
  writeFileSync(DOC, want);
  console.log('wrote docs/inputs.md');
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) main();
