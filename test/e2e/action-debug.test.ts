// action-debug.test.ts: the debug channel (issue 12). A small build through the bundled action
// prints one `::debug::` line per API request, shown by the runner with ACTIONS_STEP_DEBUG:
// method, URL without query values, status and duration, for Google's token exchange, IAM,
// GKE, Kubernetes (create, watch, log) and Cloud Storage; and never a secret the step masked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labInputs, runStep } from './action.ts';
import { labEnv } from './lab.ts';

test('every API request is a ::debug:: line with method, path, status and duration, no secret', async () => {
  const run = await runStep({
    inputs: {
      ...labInputs(),
      image: 'debian:bookworm',
      name: 'debug-channel',
      command: "sh -c 'mkdir -p packages && echo built > packages/out.txt'",
      package_target: '',
      context: '',
      bucket: labEnv()['KBUILD_LAB_BUCKET']!,
    },
  });
  assert.equal(run.code, 0, `step failed:\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`);
  const lines = run.stdout.split('\n');
  const debug = lines.filter((l) => l.startsWith('::debug::')).map((l) => l.slice(9));
  const request =
    /^(GET|POST|PUT|PATCH|DELETE) (https?:\/\/[^ ?]+)(\?[^ ]*)? -> (\d{3} in \d+ ms|error \S+ after \d+ ms)$/;
  const requests = debug.filter((l) => request.test(l));
  const has = (what: string, re: RegExp) =>
    assert.ok(
      requests.some((l) => re.test(l)),
      `no ${what} request among:\n${requests.join('\n')}`,
    );
  has('STS token exchange', /^POST \S+\/v1\/token -> 200 /);
  has('IAM generateAccessToken', /^POST \S+:generateAccessToken -> 200 /);
  has('GKE clusters.get', /^GET \S+\/v1\/projects\/\S+\/clusters\/\S+ -> 200 /);
  has('Job create', /^POST \S+\/apis\/batch\/v1\/namespaces\/\S+\/jobs -> 201 /);
  has('pod watch', /^GET \S+\/api\/v1\/namespaces\/\S+\/pods\?\S*watch\S* -> 200 /);
  has('log stream', /^GET \S+\/pods\/\S+\/log\?container&follow&timestamps\S* -> 200 /);
  has('GCS upload', /^(POST|PUT) \S+\/upload\/storage\/v1\/b\/\S+ -> 200 /);
  // Query strings keep their parameter names only.
  for (const l of requests) assert.doesNotMatch(l, /\?[^ ]*=/, l);
  // No secret the step masked appears in a debug line.
  const masked = lines
    .filter((l) => l.startsWith('::add-mask::'))
    .map((l) => l.slice('::add-mask::'.length))
    .filter((s) => s.length >= 8);
  assert.ok(masked.length > 0, 'the step masks its tokens');
  for (const secret of masked)
    for (const l of debug) assert.ok(!l.includes(secret), `a masked secret in: ${l.slice(0, 80)}`);
});
