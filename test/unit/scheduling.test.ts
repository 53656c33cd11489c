// scheduling.test.ts: compute_class, node_selector and tolerations: parsing, the conflicts
// refused before anything is created, and the pod they give (docs/autopilot.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1PodSpec } from '@kubernetes/client-node';
import { InputError } from '../../src/core/base/errors.ts';
import { renderManifests } from '../../src/core/manifest/manifest.ts';
import {
  autopilotIssues,
  isLabelKey,
  parseNodeSelector,
  parseTolerations,
} from '../../src/core/inputs/scheduling.ts';
import type { RawBuildInputs } from '../../src/core/inputs/schema.ts';
import { specOf } from './build-fixtures.ts';

function podOf(input: RawBuildInputs): V1PodSpec {
  const spec = renderManifests(specOf(input)).job?.spec?.template.spec;
  assert.ok(spec);
  return spec;
}

test('parseNodeSelector reads KEY=VALUE lines and refuses bad keys, values and repeats', () => {
  assert.deepEqual(
    parseNodeSelector(
      'node_selector',
      '# machines\ncloud.google.com/machine-family=c4a\n\n topology.kubernetes.io/zone = us-central1-a \n',
    ),
    { 'cloud.google.com/machine-family': 'c4a', 'topology.kubernetes.io/zone': 'us-central1-a' },
  );
  const bad = [
    { value: 'just-a-key', error: /line 1 of input "node_selector" is not KEY=VALUE/ },
    { value: 'Bad Key=x', error: /invalid label key on line 1 .*"Bad Key"/ },
    { value: 'a/b/c=x', error: /invalid label key/ },
    { value: 'k=not ok', error: /invalid label value on line 1 .*"not ok"/ },
    { value: 'k=1\nk=2', error: /label k is set twice in input "node_selector"/ },
  ];
  for (const c of bad) {
    assert.throws(() => parseNodeSelector('node_selector', c.value), c.error, c.value);
  }
});

test('parseTolerations reads the four line forms and refuses bad effects', () => {
  assert.deepEqual(
    parseTolerations(
      'tolerations',
      'dedicated=builds:NoSchedule\ngroup=ci\nexample.com/gpu:NoExecute\nexample.com/any',
    ),
    [
      { key: 'dedicated', operator: 'Equal', value: 'builds', effect: 'NoSchedule' },
      { key: 'group', operator: 'Equal', value: 'ci' },
      { key: 'example.com/gpu', operator: 'Exists', effect: 'NoExecute' },
      { key: 'example.com/any', operator: 'Exists' },
    ],
  );
  const bad = [
    {
      value: 'k=v:NoWay',
      error: /invalid taint effect on line 1 .*"NoWay".*NoSchedule, PreferNoSchedule, NoExecute/,
    },
    { value: 'k=v:', error: /invalid taint effect/ },
    { value: '=v:NoSchedule', error: /invalid label key/ },
    { value: 'k=v:NoSchedule\nk=v:NoSchedule', error: /line 2 of input "tolerations" repeats/ },
  ];
  for (const c of bad) {
    assert.throws(() => parseTolerations('tolerations', c.value), c.error, c.value);
  }
  assert.equal(isLabelKey('kubernetes.io/arch'), true);
  assert.equal(isLabelKey('-x'), false);
});

test('compute_class, node_selector and tolerations are added to what arch and spot produce', () => {
  const pod = podOf({
    arch: 'arm64',
    spot: 'true',
    compute_class: 'Scale-Out',
    node_selector: 'topology.kubernetes.io/zone=us-central1-a\nkubernetes.io/arch=arm64',
    tolerations: 'dedicated=builds:NoSchedule',
  });
  assert.deepEqual(pod.nodeSelector, {
    'kubernetes.io/arch': 'arm64',
    'cloud.google.com/gke-spot': 'true',
    'cloud.google.com/compute-class': 'Scale-Out',
    'topology.kubernetes.io/zone': 'us-central1-a',
  });
  assert.deepEqual(pod.tolerations, [
    { key: 'kubernetes.io/arch', operator: 'Equal', value: 'arm64', effect: 'NoSchedule' },
    { key: 'cloud.google.com/gke-spot', operator: 'Equal', value: 'true', effect: 'NoSchedule' },
    {
      key: 'cloud.google.com/compute-class',
      operator: 'Equal',
      value: 'Scale-Out',
      effect: 'NoSchedule',
    },
    { key: 'dedicated', operator: 'Equal', value: 'builds', effect: 'NoSchedule' },
  ]);
  // Without any of them, the pod is what it was.
  assert.deepEqual(podOf({}).nodeSelector, { 'kubernetes.io/arch': 'amd64' });
  assert.equal(podOf({}).tolerations, undefined);
});

test('every container has requests equal to its limits, and none is privileged unless asked', () => {
  for (const input of [{}, { ephemeral_storage: '10Gi', cache_bundle: 'ghcr.io/a/c:1' }]) {
    const pod = podOf({ compute_class: 'Scale-Out', arch: 'arm64', ...input });
    const all = [...(pod.initContainers ?? []), ...pod.containers];
    assert.deepEqual(
      all.map((c) => c.name),
      'cache_bundle' in input
        ? ['stage', 'cache-bundle', 'build', 'collector']
        : ['stage', 'build', 'collector'],
    );
    for (const c of all) {
      assert.ok(c.resources?.requests && c.resources.limits, c.name);
      assert.deepEqual(c.resources.requests, c.resources.limits, c.name);
      assert.notEqual(c.securityContext?.privileged, true, c.name);
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false, c.name);
    }
  }
});

test('conflicting scheduling inputs are refused together, naming both inputs', () => {
  const cases: { name: string; input: RawBuildInputs; error: RegExp }[] = [
    {
      name: 'node_selector arch against arch',
      input: { arch: 'arm64', node_selector: 'kubernetes.io/arch=amd64' },
      error:
        /input "node_selector" sets kubernetes.io\/arch=amd64, but that label belongs to input "arch", which is "arm64": use arch: amd64 instead/,
    },
    {
      name: 'node_selector arch against the default arch',
      input: { node_selector: 'kubernetes.io/arch=arm64' },
      error: /belongs to input "arch", which is "amd64": use arch: arm64/,
    },
    {
      name: 'node pool against node_pool',
      input: { node_pool: 'big', node_selector: 'cloud.google.com/gke-nodepool=small' },
      error: /belongs to input "node_pool", which is "big": use node_pool: small/,
    },
    {
      name: 'node pool without node_pool',
      input: { node_selector: 'cloud.google.com/gke-nodepool=small' },
      error: /belongs to input "node_pool", which is unset: use node_pool: small/,
    },
    {
      name: 'compute class against compute_class',
      input: {
        compute_class: 'Scale-Out',
        node_selector: 'cloud.google.com/compute-class=Balanced',
      },
      error: /belongs to input "compute_class", which is "Scale-Out": use compute_class: Balanced/,
    },
    {
      name: 'spot label without spot',
      input: { node_selector: 'cloud.google.com/gke-spot=true' },
      error: /belongs to input "spot", which is false: use spot: true/,
    },
    {
      name: 'arch toleration',
      input: { tolerations: 'kubernetes.io/arch=arm64:NoSchedule' },
      error: /input "tolerations" names kubernetes.io\/arch, whose toleration input "arch" adds/,
    },
    {
      name: 'privileged on a compute class',
      input: { privileged: 'true', compute_class: 'Scale-Out' },
      error:
        /inputs "privileged" and "compute_class" cannot be used together: .*Autopilot refuses privileged Pods/,
    },
    {
      name: 'bad compute class',
      input: { compute_class: 'scale out' },
      error: /invalid compute class "scale out" for input "compute_class"/,
    },
  ];
  for (const c of cases) {
    assert.throws(() => specOf(c.input), c.error, c.name);
    assert.throws(() => specOf(c.input), InputError, c.name);
  }
  // Every conflict at once, with the other bad inputs.
  assert.throws(
    () =>
      specOf({
        privileged: 'true',
        compute_class: 'Scale-Out',
        node_selector: 'kubernetes.io/arch=arm64',
        cpu: 'lots',
      }),
    (err: unknown) =>
      err instanceof InputError &&
      ['cpu', 'node_selector', 'compute_class'].every((i) => err.issues.some((x) => x.input === i)),
  );
  // Repeating what an input says is no conflict.
  assert.equal(
    specOf({ arch: 'arm64', node_selector: 'kubernetes.io/arch=arm64' }).nodeSelector[
      'kubernetes.io/arch'
    ],
    'arm64',
  );
});

test('autopilotIssues: an Autopilot cluster refuses privileged builds and node pool pins', () => {
  const name = 'projects/p/locations/l/clusters/c';
  assert.deepEqual(autopilotIssues({ privileged: false }, name), []);
  const issues = autopilotIssues({ privileged: true, nodePool: 'big' }, name);
  assert.deepEqual(
    issues.map(([input]) => input),
    ['privileged', 'node_pool'],
  );
  assert.match(
    issues[0]![1],
    /cluster projects\/p\/locations\/l\/clusters\/c is a GKE Autopilot cluster, which refuses privileged Pods/,
  );
  assert.match(issues[1]![1], /no node pools to pin: leave node_pool empty/);
});
