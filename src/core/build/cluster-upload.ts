/**
 * cluster-upload.ts: the runner's half of `upload: cluster` (DESIGN section 3, `upload`). The
 * build pod's `uploader` container stores the artifacts itself through Workload Identity and
 * reports each object (manifest/pod-program.ts); once it has ended, the runner reads that report
 * from the container's log and checks every object against what GCS says of it (objects.get:
 * size, CRC32C, generation), without moving any of the bytes. Any difference fails the build's
 * upload: nothing the pod claims is reported as an artifact until GCS confirms it.
 */
import type { Readable } from 'node:stream';
import { objectName } from '../inputs/destination.ts';
import type { KubeApi } from '../kube/api.ts';
import type { ObjectStore } from '../gcs/storage.ts';
import type { Reporter } from '../base/report.ts';
import type { BuildSpec } from '../inputs/spec.ts';
import { CONTAINER } from '../manifest/podspec.ts';
import { parseUploadReport, type UploadReport } from '../manifest/pod-program.ts';
import type { Artifact } from './artifacts.ts';
import type { BuildResult } from './record.ts';
import type { BuildWatcher } from './watch.ts';
import { sidecarEnd } from './watch.ts';
import { artifactsUriOf } from './output.ts';

/** REPORT_LIMIT bounds the uploader log the runner reads (64 MiB: about 200 000 files). */
const REPORT_LIMIT = 64 << 20;

/** UploadMismatchError: an object the pod reported differs from what GCS holds (or is missing). */
export class UploadMismatchError extends Error {
  override name = 'UploadMismatchError';
}

/** VerifyOptions: the build whose uploader ran, and where to read and check. */
export interface VerifyOptions {
  kube: KubeApi;
  store: ObjectStore;
  spec: Pick<BuildSpec, 'namespace' | 'destination' | 'bucket' | 'jobName' | 'artifactsPath'>;
  pod: string;
  watcher: BuildWatcher;
  reporter: Pick<Reporter, 'info' | 'warning'>;
  signal: AbortSignal;
}

async function readAll(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    size += (c as Buffer).length;
    if (size > REPORT_LIMIT) {
      body.destroy();
      throw new Error(`the uploader's report is larger than ${REPORT_LIMIT} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * compareWithStore checks each reported file against its object's metadata; answers one line per
 * difference (empty: all match). Objects are read 8 at a time.
 */
export async function compareWithStore(
  store: ObjectStore,
  prefix: string,
  report: UploadReport,
): Promise<string[]> {
  const stat = store.stat?.bind(store);
  if (!stat) throw new Error('the object store cannot read object metadata (stat)');
  const problems: string[] = [];
  const files = [...report.files];
  const worker = async (): Promise<void> => {
    for (let f = files.shift(); f; f = files.shift()) {
      const name = objectName(prefix, f.name);
      const o = await stat(name);
      if (!o) {
        problems.push(
          `${f.name}: the pod reported generation ${f.generation}, GCS has no such object`,
        );
        continue;
      }
      const diff: string[] = [];
      if (o.size !== f.size) diff.push(`size ${o.size}, the pod sent ${f.size}`);
      if (o.crc32c !== f.crc32c) diff.push(`crc32c ${o.crc32c}, the pod sent ${f.crc32c}`);
      if (o.generation !== f.generation)
        diff.push(`generation ${o.generation}, the pod stored ${f.generation}`);
      if (diff.length > 0) problems.push(`${f.name}: GCS has ${diff.join('; ')}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return problems.sort();
}

/**
 * verifyClusterUpload waits for the `uploader` container to end, reads its report, checks every
 * object (compareWithStore) and sets r.artifactsUri, r.artifacts and r.skipped. Answers
 * `missing`: artifacts_path did not exist in the pod. Throws when the uploader failed (with its
 * termination message), its report is cut short, or any object differs (UploadMismatchError).
 */
export async function verifyClusterUpload(
  o: VerifyOptions,
  r: BuildResult,
): Promise<{ missing: boolean }> {
  const bucket = o.spec.bucket ?? '';
  r.artifactsUri = artifactsUriOf(bucket, o.spec.destination);
  // The uploader may still be starting when the build ends; wait for its end, or for a pod
  // that can no longer run it (deleted, ended, or the uploader's image cannot be pulled).
  const status = await o.watcher.until(sidecarEnd(CONTAINER.uploader), o.signal);
  if (typeof status === 'string') {
    throw new Error(
      `the artifacts of pod ${o.pod} were not uploaded: its uploader never ran (${status})`,
    );
  }
  const log = await readAll(
    await o.kube.openLog(
      {
        namespace: o.spec.namespace,
        pod: o.pod,
        container: CONTAINER.uploader,
        follow: false,
        timestamps: false,
      },
      o.signal,
    ),
  );
  if (status.exitCode !== 0) {
    const why = status.message?.trim() || log.trim().split('\n').slice(-5).join('\n');
    throw new Error(
      `the uploader of pod ${o.pod} failed (exit code ${status.exitCode}${status.reason ? `, ${status.reason}` : ''}): ${why}`,
    );
  }
  const report = parseUploadReport(log);
  if (!report.done)
    throw new Error(`the uploader of pod ${o.pod} ended without its last report line`);
  if (report.done.missing) return { missing: true };
  if (report.done.files !== report.files.length) {
    throw new Error(
      `the uploader of pod ${o.pod} reported ${report.files.length} files but counted ${report.done.files}`,
    );
  }
  const problems = await compareWithStore(o.store, o.spec.destination, report);
  if (problems.length > 0) {
    throw new UploadMismatchError(
      `the objects the pod uploaded to ${r.artifactsUri} differ from its report:\n${problems.join('\n')}`,
    );
  }
  for (const f of report.files.filter((f) => f.attempts > 1)) {
    o.reporter.info(
      `${f.name}: GCS refused ${f.attempts - 1} attempt(s); stored on attempt ${f.attempts}`,
    );
  }
  for (const s of report.skipped) o.reporter.warning(`not uploaded: ${s.name}: ${s.reason}`);
  r.skipped = report.skipped;
  r.artifacts = report.files.map((f): Artifact => ({
    name: f.name,
    size: f.size,
    crc32c: f.crc32c,
    sha256: f.sha256,
    uri: `gs://${bucket}/${objectName(o.spec.destination, f.name)}`,
  }));
  return { missing: false };
}
