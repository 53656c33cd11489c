/**
 * stage.ts: the pod program's `stage` command, the `fetch` init container of a build with
 * `staging: bucket`. It downloads the context archive the runner uploaded (a gzip-compressed tar
 * stream) as the pod's own Google identity, to a file in the workspace, computing its CRC32C on
 * the way; only when that matches the CRC32C the runner recorded (and GCS's x-goog-hash) does it
 * unpack the archive into the workspace with the image's `tar`. A damaged or truncated download
 * is fetched again, at most ATTEMPTS times; then the pod fails before the build runs.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCrc32c } from '../core/gcs/crc32c.ts';
import { POD_ENV } from '../core/manifest/pod-program.ts';
import { envReader } from './env.ts';
import { MetadataServer } from './metadata.ts';

/** ATTEMPTS: downloads of the archive before the pod gives up. */
export const ATTEMPTS = 3;

/** StageEnv: what the fetch reads (POD_ENV names). */
export interface StageEnv {
  bucket: string;
  apiEndpoint: string;
  metadataHost: string | undefined;
  object: string;
  crc32c: string;
  workspace: string;
}

/** stageEnvFrom reads StageEnv from the process environment; throws naming a missing variable. */
export function stageEnvFrom(env: NodeJS.ProcessEnv): StageEnv {
  const { need, common } = envReader(env);
  return {
    ...common(),
    object: need(POD_ENV.stagingObject),
    crc32c: need(POD_ENV.stagingCrc32c),
    workspace: need(POD_ENV.workspace),
  };
}

/** download writes the object to `file` and answers the CRC32C of what arrived and GCS's own. */
async function download(
  s: StageEnv,
  md: MetadataServer,
  file: string,
): Promise<{ crc32c: string; declared?: string; bytes: number }> {
  const url =
    `${s.apiEndpoint}/download/storage/v1/b/${encodeURIComponent(s.bucket)}` +
    `/o/${encodeURIComponent(s.object)}?alt=media`;
  const res = await fetch(url, { headers: { authorization: await md.authorization() } });
  if (!res.ok || !res.body) {
    const text = (await res.text().catch(() => '')).slice(0, 500);
    throw new Error(`downloading gs://${s.bucket}/${s.object} failed: HTTP ${res.status}: ${text}`);
  }
  const declared = /crc32c=([^,\s]+)/.exec(res.headers.get('x-goog-hash') ?? '')?.[1];
  const crc = await createCrc32c();
  let bytes = 0;
  await pipeline(
    Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>),
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const c of chunks) {
        crc.update(c);
        bytes += c.length;
        yield c;
      }
    },
    createWriteStream(file),
  );
  return { crc32c: crc.toString(), ...(declared ? { declared } : {}), bytes };
}

/** untar unpacks a gzip-compressed tar file into dir with the image's tar (argv, no shell). */
function untar(file: string, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', ['-x', '-z', '-f', file, '-C', dir], {
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`tar exited with code ${code}: ${err.trim()}`)),
    );
  });
}

/**
 * runStage fetches, checks and unpacks the context archive; answers the line to print. Throws
 * after ATTEMPTS downloads that do not match, naming both checksums.
 */
export async function runStage(s: StageEnv): Promise<string> {
  const md = new MetadataServer(s.metadataHost);
  const dir = join(s.workspace, '.kbuild');
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'context.tar.gz');
  let last = '';
  try {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const got = await download(s, md, file);
      if (got.crc32c === s.crc32c && (got.declared === undefined || got.declared === s.crc32c)) {
        await untar(file, s.workspace);
        return `kbuild: staged gs://${s.bucket}/${s.object} (${got.bytes} bytes, crc32c ${got.crc32c}) into ${s.workspace}`;
      }
      last =
        `the download of gs://${s.bucket}/${s.object} has crc32c ${got.crc32c} (${got.bytes} bytes), ` +
        `GCS declares ${got.declared ?? '(none)'}, the runner uploaded ${s.crc32c}`;
      console.log(`kbuild: ${last}; attempt ${attempt} of ${ATTEMPTS}`);
    }
  } finally {
    await rm(file, { force: true });
  }
  throw new Error(`${last}: the context is not unpacked`);
}
