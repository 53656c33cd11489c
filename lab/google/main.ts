// main.ts: runs the lab's Google stand-ins until SIGTERM or SIGINT.
//   node lab/google/main.ts --config .lab/google.json [--env-out .lab/google.env]
// --config: the JSON of lab/google/config.ts (missing fields take
//   the defaults of docs/lab.md); --env-out: also write the stand-ins' share of
//   .lab/env there (`export NAME='value'` lines, mode 0600: it holds the
//   lab's ACTIONS_ID_TOKEN_REQUEST_TOKEN). Logs one line per request to
//   stderr, never a token.
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseGoogleLabConfig } from './config.ts';
import { envFileText, startGoogleStandIns, stderrLogger } from './standins.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: 'string' }, 'env-out': { type: 'string' } },
    strict: true,
  });
  if (values.config === undefined) {
    throw new Error('missing --config: use --config .lab/google.json');
  }
  const text = await readFile(values.config, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(
      `${values.config} is not JSON: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
  const config = parseGoogleLabConfig(json);
  const standIns = await startGoogleStandIns(config);
  if (values['env-out'] !== undefined) {
    await writeFile(values['env-out'], envFileText(standIns.env), { mode: 0o600 });
  }
  const u = standIns.urls;
  stderrLogger(
    `google stand-ins ready: oidc=${u.oidcIssuer} sts=${u.sts} iam=${u.iam} gke=${u.gke} gcs=${u.gcs} tokenreview=${u.tokenReview} metadata=${u.metadata} gcs-dir=${standIns.gcs.dir}`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    stderrLogger(`google stand-ins stopping on ${signal}`);
    standIns.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  stderrLogger(`lab google stand-ins failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
