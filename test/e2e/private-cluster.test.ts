// private-cluster.test.ts: builds through each way into a private cluster
// (docs/private-clusters.md): the private endpoint (use_internal_ip), the DNS-based endpoint
// (use_dns_based_endpoint) and the fleet's Connect Gateway (use_connect_gateway), as the lab's
// GKE stand-in serves them (lab/google/gke.ts). Each build stages its source and collects its
// artifacts, so exec goes the same way as every other call. The DNS-based endpoint and the
// gateway are trusted without the cluster CA: without NODE_EXTRA_CA_CERTS (the lab's stand-in
// for Google's publicly trusted certificates) the step fails at the certificate, before anything
// is created.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { labInputs, newRunId, runStep } from './action.ts';
import { errorText } from './annotations.ts';
import { kubectl, labEnv, ROOT } from './lab.ts';

/** LAB_CA is the lab's CA: what the DNS-based endpoint's and the gateway's certificates chain to. */
const LAB_CA = resolve(ROOT, '.lab/pki/ca.crt');

function workspace(): string {
  const ws = mkdtempSync(join(tmpdir(), 'kbuild-ws-'));
  writeFileSync(join(ws, 'input.txt'), 'staged through the private path\n');
  return ws;
}

const BUILD = {
  image: 'debian:bookworm',
  command: "sh -c 'mkdir -p packages && cp input.txt packages/ && echo built'",
  package_target: '',
  cpu: '250m',
  memory: '256Mi',
};

const PATHS = [
  {
    input: 'use_internal_ip',
    line: /Cluster: projects\/kbuild-lab\/locations\/us-central1\/clusters\/lab \(private endpoint https:\/\/127\.0\.0\.1:(\d+)\)/,
    env: {},
  },
  {
    input: 'use_dns_based_endpoint',
    line: /Cluster: projects\/kbuild-lab\/locations\/us-central1\/clusters\/lab \(DNS-based endpoint https:\/\/localhost:\d+\)/,
    env: { NODE_EXTRA_CA_CERTS: LAB_CA },
  },
  {
    input: 'use_connect_gateway',
    line: /Cluster: projects\/kbuild-lab\/locations\/us-central1\/clusters\/lab \(Connect Gateway https:\/\/127\.0\.0\.1:\d+\/v1\/projects\/123456789012\/locations\/global\/gkeMemberships\/lab\)/,
    env: { NODE_EXTRA_CA_CERTS: LAB_CA },
  },
] as const;

for (const p of PATHS) {
  test(`a build through ${p.input} stages, runs, collects and uploads`, async () => {
    const bucket = labEnv()['KBUILD_LAB_BUCKET']!;
    const run = await runStep({
      fromSources: true,
      workspace: workspace(),
      env: p.env,
      inputs: { ...labInputs(), ...BUILD, bucket, [p.input]: 'true' },
    });
    assert.equal(
      run.code,
      0,
      `step failed:\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`,
    );
    assert.match(run.stdout, p.line);
    assert.equal(run.outputs['status'], 'succeeded');
    const artifacts = JSON.parse(run.outputs['artifacts'] ?? '[]') as { name: string }[];
    assert.deepEqual(
      artifacts.map((a) => a.name),
      ['input.txt'],
      run.stdout.slice(-3000),
    );
    if (p.input === 'use_internal_ip') {
      // The private endpoint is another address than the public one.
      const port = p.line.exec(run.stdout)?.[1];
      assert.notEqual(`https://127.0.0.1:${port}`, labEnv()['KBUILD_LAB_API_SERVER']);
    }
  });
}

for (const input of ['use_dns_based_endpoint', 'use_connect_gateway']) {
  test(`${input} does not trust the cluster CA`, async () => {
    const runId = newRunId();
    const run = await runStep({
      fromSources: true,
      runId,
      inputs: { ...labInputs(), ...BUILD, context: '', [input]: 'true' },
    });
    assert.notEqual(run.code, 0);
    assert.match(
      errorText(run),
      // The core's own HTTP layer (kube/rest.ts) names the TLS failure without fetch's prefix.
      /SelfSubjectAccessReview: unable to verify the first certificate/,
    );
    assert.equal(
      kubectl(['get', 'jobs', '-A', '-l', `kbuild.dev/run-id=${runId}`, '-o', 'name']),
      '',
    );
  });
}

test('two endpoints at once are refused before any token is requested', async () => {
  const run = await runStep({
    fromSources: true,
    inputs: {
      ...labInputs(),
      ...BUILD,
      use_internal_ip: 'true',
      use_connect_gateway: 'true',
      // A request token that works nowhere: the step must not get that far.
      fleet_membership_name: 'projects/123456789012/locations/global/memberships/lab',
    },
    env: { ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'not-a-token' },
  });
  assert.notEqual(run.code, 0);
  assert.match(
    errorText(run),
    /inputs "use_internal_ip" and "use_connect_gateway" are all true: set at most one/,
  );
});

/** get answers the status of a GET through the gateway, trusting the lab CA. */
function get(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((res, rej) => {
    const req = httpsGet(url, { ca: readFileSync(LAB_CA), headers }, (answer) => {
      answer.resume();
      res(answer.statusCode ?? 0);
    });
    req.on('error', rej);
  });
}

test('the Connect Gateway refuses a caller without a Google access token, and other memberships', async () => {
  const gateway = labEnv()['CLOUDSDK_API_ENDPOINT_OVERRIDES_CONNECTGATEWAY']!;
  const url = `${gateway}v1/projects/123456789012/locations/global/gkeMemberships/lab/api/v1/namespaces`;
  assert.equal(await get(url), 401);
  assert.equal(await get(url, { authorization: 'Bearer nope' }), 401);
  // The lab's admin token is the API server's own, not a Google access token.
  const admin = /token:\s*(\S+)/.exec(readFileSync(labEnv()['KUBECONFIG']!, 'utf8'))?.[1] ?? '';
  assert.equal(await get(url, { authorization: `Bearer ${admin}` }), 401);
});
