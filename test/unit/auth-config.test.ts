import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateAuthConfig, type AuthConfig } from '../../src/core/inputs/auth-config.ts';
import { InputError } from '../../src/core/base/errors.ts';
import type { RawBuildInputs } from '../../src/core/inputs/schema.ts';

const CLUSTER_FULL = 'projects/acme-ci/locations/us-central1/clusters/builds';
const PROVIDER =
  'projects/123456789012/locations/global/workloadIdentityPools/github-pool/providers/github';

const authGood: ReadonlyArray<{ name: string; input: RawBuildInputs; want: AuthConfig }> = [
  {
    name: 'plain cluster with location and provider',
    input: { cluster: 'builds', location: 'us-central1', workload_identity_provider: PROVIDER },
    want: {
      workloadIdentityProvider: PROVIDER,
      audience: `https://iam.googleapis.com/${PROVIDER}`,
      projectId: '123456789012',
      cluster: { name: 'builds', project: '123456789012', location: 'us-central1' },
    },
  },
  {
    name: 'full cluster name and impersonation',
    input: {
      cluster: CLUSTER_FULL,
      service_account: 'builder@acme-ci.iam.gserviceaccount.com',
      workload_identity_provider: PROVIDER,
      audience: 'kbuild',
    },
    want: {
      workloadIdentityProvider: PROVIDER,
      serviceAccount: 'builder@acme-ci.iam.gserviceaccount.com',
      audience: 'kbuild',
      projectId: 'acme-ci',
      cluster: { name: 'builds', project: 'acme-ci', location: 'us-central1' },
    },
  },
  {
    name: 'project_id wins over the provider',
    input: {
      cluster: 'builds',
      location: 'europe-west4-a',
      project_id: 'acme-ci',
      workload_identity_provider: PROVIDER,
    },
    want: {
      workloadIdentityProvider: PROVIDER,
      audience: `https://iam.googleapis.com/${PROVIDER}`,
      projectId: 'acme-ci',
      cluster: { name: 'builds', project: 'acme-ci', location: 'europe-west4-a' },
    },
  },
  {
    name: 'kubeconfig, ADC',
    input: { kubeconfig: '/tmp/kind.yaml' },
    want: { kubeconfig: '/tmp/kind.yaml' },
  },
  { name: 'dry run needs nothing', input: { create: 'false' }, want: {} },
];

for (const c of authGood) {
  test(`validateAuthConfig: ${c.name}`, () => {
    const create = c.input.create !== 'false';
    assert.deepEqual(validateAuthConfig(c.input, { create }), c.want);
  });
}

const authBad: ReadonlyArray<{
  name: string;
  input: RawBuildInputs;
  input_: string;
  error: RegExp;
}> = [
  {
    name: 'no cluster nor kubeconfig',
    input: {},
    input_: 'cluster',
    error: /input "cluster" \(or "kubeconfig"\) is required/,
  },
  {
    name: 'both cluster and kubeconfig',
    input: { cluster: 'c', location: 'l', kubeconfig: 'k' },
    input_: 'kubeconfig',
    error: /both set/,
  },
  {
    name: 'plain cluster without location',
    input: { cluster: 'builds' },
    input_: 'location',
    error: /input "location" is required with cluster "builds"/,
  },
  {
    name: 'cluster upper case',
    input: { cluster: 'Builds', location: 'us-central1' },
    input_: 'cluster',
    error: /invalid cluster "Builds" for input "cluster"/,
  },
  {
    name: 'cluster resource with bad project',
    input: { cluster: 'projects/X/locations/l/clusters/c' },
    input_: 'cluster',
    error: /input "cluster"/,
  },
  {
    name: 'location conflict',
    input: { cluster: CLUSTER_FULL, location: 'us-east1' },
    input_: 'location',
    error: /"cluster" says us-central1/,
  },
  {
    name: 'project conflict',
    input: { cluster: CLUSTER_FULL, project_id: 'other-proj' },
    input_: 'project_id',
    error: /"cluster" says acme-ci/,
  },
  {
    name: 'provider with https prefix',
    input: {
      kubeconfig: 'k',
      workload_identity_provider: `https://iam.googleapis.com/${PROVIDER}`,
    },
    input_: 'workload_identity_provider',
    error: /invalid workload identity provider .* for input "workload_identity_provider"/,
  },
  {
    name: 'provider with project id',
    input: {
      kubeconfig: 'k',
      workload_identity_provider:
        'projects/acme/locations/global/workloadIdentityPools/github-pool/providers/github',
    },
    input_: 'workload_identity_provider',
    error: /project number/,
  },
  {
    name: 'provider in a region',
    input: { kubeconfig: 'k', workload_identity_provider: PROVIDER.replace('global', 'us') },
    input_: 'workload_identity_provider',
    error: /input "workload_identity_provider"/,
  },
  {
    name: 'service account not an email',
    input: { kubeconfig: 'k', service_account: 'builder' },
    input_: 'service_account',
    error: /invalid service account "builder" for input "service_account"/,
  },
  {
    name: 'audience without provider',
    input: { kubeconfig: 'k', audience: 'x' },
    input_: 'audience',
    error: /input "audience" needs "workload_identity_provider"/,
  },
  {
    name: 'project id too short',
    input: { kubeconfig: 'k', project_id: 'abc' },
    input_: 'project_id',
    error: /invalid project "abc" for input "project_id"/,
  },
  {
    name: 'two endpoints at once',
    input: { cluster: 'c', location: 'l', use_internal_ip: 'true', use_connect_gateway: 'true' },
    input_: 'use_internal_ip',
    error:
      /inputs "use_internal_ip" and "use_connect_gateway" are all true: set at most one of use_internal_ip, use_dns_based_endpoint and use_connect_gateway/,
  },
  {
    name: 'an endpoint with a kubeconfig',
    input: { kubeconfig: 'k', use_dns_based_endpoint: 'true' },
    input_: 'use_dns_based_endpoint',
    error:
      /input "use_dns_based_endpoint" picks an endpoint of the GKE cluster, but "kubeconfig" replaces/,
  },
  {
    name: 'a membership without the gateway',
    input: {
      cluster: 'c',
      location: 'l',
      fleet_membership_name: 'projects/1/locations/global/memberships/c',
    },
    input_: 'fleet_membership_name',
    error: /input "fleet_membership_name" needs use_connect_gateway: true/,
  },
  {
    name: 'a membership named by project id',
    input: {
      cluster: 'c',
      location: 'l',
      use_connect_gateway: 'true',
      fleet_membership_name: 'projects/my-project/locations/global/memberships/c',
    },
    input_: 'fleet_membership_name',
    error:
      /invalid fleet membership .* use projects\/PROJECT_NUMBER\/locations\/LOCATION\/memberships\/NAME/,
  },
  {
    name: 'a bad boolean',
    input: { cluster: 'c', location: 'l', use_internal_ip: 'yes' },
    input_: 'use_internal_ip',
    error: /invalid boolean value "yes" for input "use_internal_ip"/,
  },
  {
    name: 'location with spaces',
    input: { cluster: 'c', location: 'us central' },
    input_: 'location',
    error: /invalid location "us central" for input "location"/,
  },
];

for (const c of authBad) {
  test(`validateAuthConfig refuses ${c.name}`, () => {
    assert.throws(
      () => validateAuthConfig(c.input, { create: true }),
      (err: unknown) =>
        err instanceof InputError &&
        err.issues.some((i) => i.input === c.input_ && c.error.test(i.message)),
    );
  });
}

test('validateAuthConfig reads the private-cluster inputs', () => {
  const base = { cluster: 'projects/p-123456/locations/us-central1/clusters/c' };
  assert.equal(validateAuthConfig(base, { create: true }).controlPlane, undefined);
  for (const [input, want] of [
    ['use_internal_ip', 'internal_ip'],
    ['use_dns_based_endpoint', 'dns_based_endpoint'],
    ['use_connect_gateway', 'connect_gateway'],
  ] as const) {
    assert.equal(
      validateAuthConfig({ ...base, [input]: 'true' }, { create: true }).controlPlane,
      want,
    );
  }
  const gw = validateAuthConfig(
    {
      ...base,
      use_connect_gateway: 'true',
      fleet_membership_name: 'projects/123456789012/locations/global/gkeMemberships/c',
    },
    { create: true },
  );
  assert.deepEqual(gw.fleetMembership, {
    projectNumber: '123456789012',
    location: 'global',
    name: 'c',
  });
});
