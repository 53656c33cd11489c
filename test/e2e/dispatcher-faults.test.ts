// dispatcher-faults.test.ts: the dispatcher's fan-out respects a throttling API server
// (docs/design.md, "The dispatcher"): 200 Jobs, 10 % of the creates answered 429 with Retry-After by the fault front
// (lab/faults/front.ts); all 200 are created, none fails, and the fan-out's log line counts the
// retries. Only the two builds of package p000 are released (the others depend on it and stay
// suspended), and the namespace goes away at the end.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_POLICY, startLabDispatcher } from '../../lab/dispatcher.ts';
import type { LocalServer } from '../../functions/dispatcher/local.ts';
import { jsonLogger } from '../../functions/dispatcher/log.ts';
import { DispatcherCalls, runId, TRIVIAL_BUILD } from './dispatch-calls.ts';
import { createNamespace, deleteNamespace } from './lab-kube.ts';
import { kubectl } from './lab.ts';
import { kubeconfigVia } from './step-log.ts';
import type { FaultFront } from '../../lab/faults/front.ts';
import { startLabFront } from '../../lab/faults/lab.ts';

let ns = '';
let dir = '';
let front: FaultFront;
let server: LocalServer;
const logs: string[] = [];

before(async () => {
  ns = await createNamespace('kb-faults');
  dir = mkdtempSync(join(tmpdir(), 'kbuild-dispatch-faults-'));
  front = await startLabFront(42, {
    refuseShare: 0.1,
    refuseStatuses: [429],
    retryAfterSeconds: 1,
    refuseMatch: /^POST .*\/jobs$/,
  });
  server = await startLabDispatcher({
    env: {
      KBUILD_NAMESPACE: ns,
      KBUILD_KUBECONFIG: kubeconfigVia(front.url, dir),
      KBUILD_POLICY: JSON.stringify({ ...LAB_POLICY, max_builds: 200 }),
    },
    logger: jsonLogger((l) => logs.push(l)),
  });
});
after(async () => {
  await server?.close();
  await front?.close();
  deleteNamespace(ns);
  rmSync(dir, { recursive: true, force: true });
});

test('a fan-out of 200 Jobs with 10 % of the creates answered 429 creates all 200; its log counts the retries', async (t) => {
  const d = new DispatcherCalls(server.url);
  const token = await d.mint({ claims: { run_id: runId() } });
  const packages = Array.from({ length: 100 }, (_, i) => `p${String(i).padStart(3, '0')}`);
  const dependencies = Object.fromEntries(packages.slice(1).map((p) => [p, ['p000']]));
  const post = await d.call('POST', '/v1/dispatches', token, {
    ...TRIVIAL_BUILD,
    command: 'sleep 600',
    packages,
    sha: '4'.repeat(40),
    dependencies,
  });
  assert.equal(post.status, 202, JSON.stringify(post.body).slice(0, 2000));
  const jobs = kubectl(['get', 'jobs', '-n', ns, '-o', 'name']).split('\n').filter(Boolean);
  assert.equal(jobs.length, 200);
  const stats = front.stats();
  const refusedCreates = stats.refused['429'] ?? 0;
  const line = logs
    .map(
      (l) => JSON.parse(l) as { message?: string; jobs_failed?: number; create_retries?: number },
    )
    .find((e) => /^created \d+ of \d+ Jobs/.test(e.message ?? ''));
  t.diagnostic(`${line?.message}; creates refused by the front: ${refusedCreates}`);
  assert.ok(line, 'the fan-out logged its line');
  assert.match(line.message!, /^created 200 of 200 Jobs in \d+ ms \(\d+ retries, 0 failed\)$/);
  assert.equal(line.jobs_failed, 0);
  assert.ok(refusedCreates >= 5, `only ${refusedCreates} creates were refused`);
  assert.equal(line.create_retries, refusedCreates, 'every refused create was retried once');
});
