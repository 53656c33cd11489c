/**
 * dispatch-summary.ts: the outputs and job summary of mode `dispatch`: the `builds` output (a
 * JSON list, one item per build), one summary row per build, and the step's failure naming the
 * builds that did not succeed.
 */
import * as core from '@actions/core';
import type { Reporter } from '../core/base/report.ts';
import type { Tracked } from './dispatch-follow.ts';
import { consoleLink, humanSize } from './summary.ts';
import { cacheOutputs } from '../core/build/record.ts';

/** DispatchedBuild is one item of the `builds` output. */
export interface DispatchedBuild {
  dispatch_id: string;
  package: string;
  arch: string;
  build_id: string;
  job_name: string;
  /** status: succeeded, failed, timed_out, skipped, cancelled; or, without wait, the dispatcher's status. */
  status: string;
  reason: string;
  message: string;
  exit_code: number | null;
  node_name: string;
  artifacts_uri: string;
  artifacts: { name: string; size: number; crc32c: string; sha256: string; uri: string }[];
  log_uri: string;
  /** With a cache: `exact`, `partial` or `none`, and the key restored (empty when none). */
  cache_hit?: string;
  cache_key?: string;
}

/** dispatchedBuild merges what the dispatcher reported and what the step saw of one build. */
export function dispatchedBuild(t: Tracked, dispatchId: string, waited: boolean): DispatchedBuild {
  const r = t.result;
  const mine = waited && t.shown && t.report.status !== 'skipped';
  const status = r.status === 'cancelled' ? 'cancelled' : mine ? r.status : t.report.status;
  return {
    dispatch_id: dispatchId,
    package: t.report.package,
    arch: t.report.arch,
    build_id: t.report.build_id,
    job_name: t.report.job_name,
    status,
    reason: (mine && r.reason) || t.report.reason,
    message: (mine && r.message) || t.report.message,
    exit_code: r.exitCode ?? null,
    node_name: r.nodeName ?? '',
    artifacts_uri: r.artifactsUri ?? '',
    artifacts: r.artifacts.map(({ name, size, crc32c, sha256, uri }) => ({
      name,
      size,
      crc32c,
      sha256,
      uri,
    })),
    log_uri: r.logUri ?? '',
    ...cacheOutputs(r),
  };
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** dispatchSummary renders the job summary: one row per build. */
export function dispatchSummary(
  dispatchId: string,
  tracked: readonly Tracked[],
  builds: readonly DispatchedBuild[],
): string {
  let md = `### kbuild dispatch \`${dispatchId}\`\n\n| Package | Arch | Status | Node pool | Ran | Artifacts | Details |\n|---|---|---|---|---|---|---|\n`;
  for (const [i, b] of builds.entries()) {
    const r = tracked[i]!.result;
    const size = r.artifacts.reduce((n, a) => n + a.size, 0);
    const log = r.logUri ? ` [log](${consoleLink(r.logUri)})` : '';
    const arts =
      r.artifacts.length > 0 ? `${r.artifacts.length} (${humanSize(size)})${log}` : log || '-';
    const exit = b.exit_code !== null ? ` (exit ${b.exit_code})` : '';
    const ran = r.buildSeconds !== undefined ? `${Math.round(r.buildSeconds)}s` : '-';
    const details = b.status === 'succeeded' ? '' : `${b.reason}: ${b.message.split('\n')[0]}`;
    md += `| ${cell(b.package)} | ${b.arch} | ${b.status}${exit} | ${r.nodePool ?? '-'} | ${ran} | ${arts} | ${cell(details)} |\n`;
  }
  return md;
}

/**
 * finishDispatch writes the `builds` output and the summary, and answers the exit code: with
 * wait, 1 (and the step fails naming each build that did not succeed) unless all succeeded.
 */
export async function finishDispatch(
  dispatchId: string,
  tracked: readonly Tracked[],
  reporter: Reporter,
  waited: boolean,
): Promise<number> {
  const builds = tracked.map((t) => dispatchedBuild(t, dispatchId, waited));
  core.setOutput('builds', JSON.stringify(builds));
  await core.summary.addRaw(dispatchSummary(dispatchId, tracked, builds), true).write();
  const bad = builds.filter((b) => b.status !== 'succeeded');
  if (!waited || bad.length === 0) {
    reporter.info(
      waited
        ? `All ${builds.length} builds succeeded`
        : `Dispatched ${builds.length} builds (wait: false)`,
    );
    return 0;
  }
  const list = bad
    .map((b) => `${b.package} (${b.arch}) ${b.status}: ${b.message.split('\n')[0]}`)
    .join('; ');
  // Through the reporter, which turns workflow commands back on first; main sets the exit code.
  reporter.error(`${bad.length} of ${builds.length} builds did not succeed: ${list}`);
  return 1;
}
