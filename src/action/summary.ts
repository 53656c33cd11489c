/**
 * summary.ts: the step's outputs and job summary for a build result
 * (docs/design.md, "The action's inputs" for the outputs; "One build", step 9).
 */
import type { Artifact } from '../core/build/artifacts.ts';
import { cacheOutputs, type BuildResult } from '../core/build/record.ts';
import { formatDuration } from '../core/inputs/parse.ts';
import type { BuildSpec } from '../core/inputs/spec.ts';

/** buildOutputs maps a result to the `build` mode outputs (all strings, as GitHub stores them). */
export function buildOutputs(r: BuildResult): Record<string, string> {
  return {
    build_id: r.buildId,
    job_name: r.jobName,
    pod_name: r.podName ?? '',
    node_name: r.nodeName ?? '',
    status: r.status,
    exit_code: r.exitCode === undefined ? '' : String(r.exitCode),
    artifacts_uri: r.artifactsUri ?? '',
    artifacts: JSON.stringify(
      r.artifacts.map(({ name, size, crc32c, sha256, uri }) => ({
        name,
        size,
        crc32c,
        sha256,
        uri,
      })),
    ),
    log_uri: r.logUri ?? '',
    ...cacheOutputs(r),
  };
}

/** humanSize renders bytes as `512 B`, `64.0 KiB`, `1.5 GiB`. */
export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** consoleLink turns gs://bucket/object into a Cloud console link (`storage/browser/_details`). */
export function consoleLink(uri: string): string {
  const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) return '';
  return `https://console.cloud.google.com/storage/browser/_details/${m[1]}/${m[2]!.split('/').map(encodeURIComponent).join('/')}`;
}

const STATUS_ICON: Record<string, string> = {
  succeeded: '✅',
  failed: '❌',
  timed_out: '⏱️',
  cancelled: '🚫',
  created: '🆕',
};

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** summaryMarkdown renders the job summary: a status table and an artifacts table. */
export function summaryMarkdown(spec: BuildSpec, r: BuildResult): string {
  const rows: [string, string][] = [
    [
      'Status',
      `${STATUS_ICON[r.status] ?? ''} ${r.status}${r.exitCode !== undefined ? ` (exit code ${r.exitCode})` : ''}`,
    ],
    ['Build', `\`${spec.name}\` (${spec.arch})`],
    ['Job', `\`${r.namespace}/${r.jobName}\``],
    [
      'Node',
      r.nodeName ? `\`${r.nodeName}\`${r.nodePool ? ` (node pool \`${r.nodePool}\`)` : ''}` : '-',
    ],
    ['Image', `\`${spec.image}\``],
    ['Waited', r.pendingSeconds !== undefined ? formatDuration(Math.round(r.pendingSeconds)) : '-'],
    ['Ran', r.buildSeconds !== undefined ? formatDuration(Math.round(r.buildSeconds)) : '-'],
  ];
  if (r.status !== 'succeeded' && r.message)
    rows.push(['Reason', `${r.reason}: ${r.message.split('\n')[0]}`]);
  if (r.cache) rows.push(['Cache', cacheCell(r.cache)]);
  if (r.logUri) rows.push(['Log', `[build.log](${consoleLink(r.logUri)}) \`${r.logUri}\``]);
  let md = `### kbuild: ${escapeCell(spec.name)} (${spec.arch})\n\n| | |\n|---|---|\n`;
  md += rows.map(([k, v]) => `| ${k} | ${escapeCell(v)} |`).join('\n') + '\n';
  if (r.artifacts.length > 0) {
    md += `\n#### Artifacts (${r.artifacts.length}) in \`${r.artifactsUri ?? ''}\`\n\n| File | Size | SHA-256 |\n|---|---:|---|\n`;
    const shown: Artifact[] = r.artifacts.slice(0, 200);
    md += shown
      .map(
        (a) =>
          `| ${a.uri ? `[${escapeCell(a.name)}](${consoleLink(a.uri)})` : escapeCell(a.name)} | ${humanSize(a.size)} | \`${a.sha256.slice(0, 16)}…\` |`,
      )
      .join('\n');
    md +=
      r.artifacts.length > shown.length
        ? `\n\n…and ${r.artifacts.length - shown.length} more (see kbuild.json)\n`
        : '\n';
  }
  return md;
}

/** cacheCell: the summary's cache row, the key restored with its size and times, and the save. */
function cacheCell(c: NonNullable<BuildResult['cache']>): string {
  const r = c.restore;
  const restored =
    !r || r.hit === 'none'
      ? `no archive for \`${c.key}\`${r?.discarded ? ' (one was damaged and discarded)' : ''}`
      : `restored \`${r.key ?? ''}\` (${r.hit}, ${humanSize(r.bytes ?? 0)}) in ${r.seconds} s`;
  const s = c.save;
  const saved = !s
    ? 'not saved'
    : s.saved
      ? `saved \`${s.key}\` (${humanSize(s.bytes ?? 0)}) in ${s.seconds} s`
      : `not saved: ${s.reason ?? ''}`;
  return `${restored}; ${saved}`;
}

/** failureMessage is the step's error: what happened, why, and the last lines of the build. */
export function failureMessage(r: BuildResult): string {
  const tail = r.lastLines.length
    ? `\nLast lines of the build:\n${r.lastLines.slice(-10).join('\n')}`
    : '';
  return `build ${r.jobName} ${r.status === 'timed_out' ? 'timed out' : r.status}: ${r.message}${tail}`;
}
