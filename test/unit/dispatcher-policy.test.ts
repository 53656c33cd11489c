// dispatcher-policy.test.ts: the dispatcher's policy document and rules: every refusal names
// its rule; bad documents name their field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuantity } from '../../src/core/inputs/parse.ts';
import {
  checkCaller,
  checkRequest,
  parsePolicy,
  refMatches,
  type CallerIdentity,
  type DispatchAsk,
  type PolicyDocument,
} from '../../functions/dispatcher/policy.ts';

const DOC: PolicyDocument = {
  repository_owner_ids: [4242],
  repository_ids: ['90001'],
  images: ['cgr.dev/chainguard/', 'debian:'],
  archs: ['amd64', 'arm64'],
  max_cpu: '8',
  max_memory: '32Gi',
  max_builds: 6,
  privileged: { refs: ['refs/heads/main', 'refs/tags/*'], events: ['push', 'workflow_dispatch'] },
};
const policy = parsePolicy(DOC);

const WHO: CallerIdentity = {
  repository: 'kbuild-lab/demo',
  repositoryId: '90001',
  repositoryOwnerId: '4242',
  ref: 'refs/heads/main',
  eventName: 'push',
};
const ASK: DispatchAsk = {
  image: 'debian:bookworm',
  archs: ['amd64'],
  cpu: parseQuantity('cpu', '2', 'millicores'),
  memory: parseQuantity('memory', '4Gi', 'bytes'),
  builds: 6,
  privileged: false,
};

test('checkCaller: owner id or repository id admits; neither is refused by rule repository', () => {
  const cases: { name: string; who: Partial<CallerIdentity>; want: string | undefined }[] = [
    { name: 'owner and repo listed', who: {}, want: undefined },
    { name: 'owner listed, other repo', who: { repositoryId: '1' }, want: undefined },
    { name: 'repo listed, other owner', who: { repositoryOwnerId: '7' }, want: undefined },
    {
      name: 'neither',
      who: { repositoryId: '1', repositoryOwnerId: '7', repository: 'evil/repo' },
      want: 'repository',
    },
  ];
  for (const c of cases) {
    const r = checkCaller(policy, { ...WHO, ...c.who });
    assert.equal(r?.rule, c.want, c.name);
    if (r) assert.match(r.reason, /evil\/repo.*repository_owner_ids/);
  }
});

test('checkRequest: each rule refuses and names itself', () => {
  const cases: {
    name: string;
    ask?: Partial<DispatchAsk>;
    who?: Partial<CallerIdentity>;
    rule: string | undefined;
    reason?: RegExp;
  }[] = [
    { name: 'allowed', rule: undefined },
    {
      name: 'too many builds',
      ask: { builds: 7 },
      rule: 'max_builds',
      reason: /7 builds.*at most 6/,
    },
    {
      name: 'image not under a prefix',
      ask: { image: 'evil.io/debian:bookworm' },
      rule: 'images',
      reason: /evil\.io\/debian:bookworm/,
    },
    { name: 'image prefix needs the separator', ask: { image: 'debian-evil:1' }, rule: 'images' },
    {
      name: 'cpu above',
      ask: { cpu: parseQuantity('cpu', '8500m', 'millicores') },
      rule: 'max_cpu',
      reason: /8500m.*max_cpu 8/,
    },
    {
      name: 'cpu at the limit',
      ask: { cpu: parseQuantity('cpu', '8', 'millicores') },
      rule: undefined,
    },
    {
      name: 'memory above',
      ask: { memory: parseQuantity('memory', '33Gi', 'bytes') },
      rule: 'max_memory',
      reason: /33Gi.*32Gi/,
    },
    {
      name: 'memory in other units at the limit',
      ask: { memory: parseQuantity('memory', '32768Mi', 'bytes') },
      rule: undefined,
    },
    { name: 'privileged from main on push', ask: { privileged: true }, rule: undefined },
    {
      name: 'privileged from a tag',
      ask: { privileged: true },
      who: { ref: 'refs/tags/v1' },
      rule: undefined,
    },
    {
      name: 'privileged from a pull_request event',
      ask: { privileged: true },
      who: { eventName: 'pull_request', ref: 'refs/pull/1/merge' },
      rule: 'privileged',
      reason: /event pull_request/,
    },
    {
      name: 'privileged from another branch on push',
      ask: { privileged: true },
      who: { ref: 'refs/heads/feature' },
      rule: 'privileged',
    },
  ];
  for (const c of cases) {
    const r = checkRequest(policy, { ...ASK, ...c.ask }, { ...WHO, ...c.who });
    assert.equal(r?.rule, c.rule, c.name);
    if (c.reason) assert.match(r?.reason ?? '', c.reason, c.name);
  }
});

test('checkRequest: arch outside the policy is refused by rule archs', () => {
  const amd64Only = parsePolicy({ ...DOC, archs: ['x86_64'] });
  const r = checkRequest(amd64Only, { ...ASK, archs: ['amd64', 'arm64'] }, WHO);
  assert.deepEqual(r, { rule: 'archs', reason: 'arch arm64 is not allowed; allowed: amd64' });
});

test('checkRequest: without a privileged section no privileged build passes', () => {
  const { privileged: _, ...rest } = DOC;
  const r = checkRequest(parsePolicy(rest), { ...ASK, privileged: true }, WHO);
  assert.equal(r?.rule, 'privileged');
  assert.match(r?.reason ?? '', /allows no privileged builds/);
});

test('refMatches: exact, or prefix with a trailing *', () => {
  assert.equal(refMatches('refs/heads/main', 'refs/heads/main'), true);
  assert.equal(refMatches('refs/heads/main', 'refs/heads/main2'), false);
  assert.equal(refMatches('refs/tags/*', 'refs/tags/v1.2'), true);
  assert.equal(refMatches('refs/tags/*', 'refs/heads/v1'), false);
});

test('parsePolicy: bad documents name the field', () => {
  const cases: { name: string; doc: unknown; error: RegExp }[] = [
    { name: 'not an object', doc: [], error: /must be a JSON object/ },
    { name: 'unknown field', doc: { ...DOC, max_gpu: 1 }, error: /unknown field "max_gpu"/ },
    {
      name: 'nobody allowed',
      doc: { ...DOC, repository_owner_ids: [], repository_ids: undefined },
      error: /at least one id/,
    },
    {
      name: 'id not numeric',
      doc: { ...DOC, repository_ids: ['kbuild-lab/demo'] },
      error: /"repository_ids" holds "kbuild-lab\/demo"/,
    },
    { name: 'no images', doc: { ...DOC, images: [] }, error: /"images" must be a non-empty list/ },
    { name: 'bad arch', doc: { ...DOC, archs: ['riscv64'] }, error: /invalid arch "riscv64"/ },
    {
      name: 'bad cpu',
      doc: { ...DOC, max_cpu: 'lots' },
      error: /invalid quantity "lots" for input "max_cpu"/,
    },
    {
      name: 'bad memory type',
      doc: { ...DOC, max_memory: true },
      error: /"max_memory" must be a Kubernetes quantity/,
    },
    {
      name: 'max_builds zero',
      doc: { ...DOC, max_builds: 0 },
      error: /"max_builds" must be a whole number from 1 to 500/,
    },
    { name: 'max_builds too big', doc: { ...DOC, max_builds: 501 }, error: /"max_builds"/ },
    {
      name: 'empty privileged',
      doc: { ...DOC, privileged: {} },
      error: /"privileged" must have "refs", "events" or both/,
    },
    {
      name: 'empty privileged refs',
      doc: { ...DOC, privileged: { refs: [] } },
      error: /"privileged.refs" must be a non-empty list/,
    },
  ];
  for (const c of cases)
    assert.throws(() => parsePolicy(c.doc), { name: 'PolicyError', message: c.error }, c.name);
});

test('parsePolicy: defaults and normalisation', () => {
  const p = parsePolicy({
    repository_owner_ids: ['4242'],
    images: ['x/'],
    max_cpu: 4,
    max_memory: '8Gi',
    max_builds: 1,
  });
  assert.deepEqual([...p.ownerIds], ['4242']);
  assert.deepEqual(p.archs, ['amd64', 'arm64']);
  assert.equal(p.maxCpu.value, 4000);
  assert.equal(p.privileged, undefined);
});

test('checkRequest: compute classes, node labels and tolerations need the policy to list them', () => {
  const open = parsePolicy({
    ...DOC,
    compute_classes: ['Scale-Out'],
    node_selector: ['topology.kubernetes.io/zone=*', 'dedicated=builds'],
    tolerations: ['dedicated=builds:NoSchedule'],
  });
  const cases: { name: string; ask: Partial<DispatchAsk>; rule: string | undefined }[] = [
    { name: 'listed class', ask: { computeClass: 'Scale-Out' }, rule: undefined },
    { name: 'other class', ask: { computeClass: 'Accelerator' }, rule: 'compute_classes' },
    {
      name: 'any zone',
      ask: { nodeSelector: { 'topology.kubernetes.io/zone': 'x-1' } },
      rule: undefined,
    },
    { name: 'listed label', ask: { nodeSelector: { dedicated: 'builds' } }, rule: undefined },
    { name: 'other value', ask: { nodeSelector: { dedicated: 'release' } }, rule: 'node_selector' },
    {
      name: 'listed toleration',
      ask: { tolerations: ['dedicated=builds:NoSchedule'] },
      rule: undefined,
    },
    {
      name: 'other toleration',
      ask: { tolerations: ['dedicated=release:NoSchedule'] },
      rule: 'tolerations',
    },
  ];
  for (const c of cases) {
    assert.equal(checkRequest(open, { ...ASK, ...c.ask }, WHO)?.rule, c.rule, c.name);
    if (c.rule !== undefined) {
      // The default policy lists none of them.
      const r = checkRequest(policy, { ...ASK, ...c.ask }, WHO);
      assert.equal(r?.rule, c.rule, c.name);
      assert.match(r?.reason ?? '', /allowed: none/, c.name);
    }
  }
  assert.throws(
    () => parsePolicy({ ...DOC, node_selector: ['no-value'] }),
    /use KEY=VALUE or KEY=\*/,
  );
});

test('checkRequest: a service account other than default needs the policy to list it', () => {
  const open = parsePolicy({ ...DOC, service_accounts: ['kbuild-uploader'] });
  const cases: {
    name: string;
    p: typeof policy;
    ksa: string | undefined;
    rule: string | undefined;
  }[] = [
    { name: 'none named', p: policy, ksa: undefined, rule: undefined },
    { name: 'default', p: policy, ksa: 'default', rule: undefined },
    { name: 'unlisted, no list', p: policy, ksa: 'kbuild-uploader', rule: 'service_accounts' },
    { name: 'listed', p: open, ksa: 'kbuild-uploader', rule: undefined },
    { name: 'unlisted', p: open, ksa: 'kbuild-release', rule: 'service_accounts' },
  ];
  for (const c of cases) {
    const r = checkRequest(
      c.p,
      { ...ASK, ...(c.ksa !== undefined ? { serviceAccountName: c.ksa } : {}) },
      WHO,
    );
    assert.equal(r?.rule, c.rule, c.name);
    if (r)
      assert.match(
        r.reason,
        new RegExp(`service account ${c.ksa} is not allowed; allowed: default`),
      );
  }
  assert.throws(
    () => parsePolicy({ ...DOC, service_accounts: [] }),
    /"service_accounts" must be a non-empty list/,
  );
});
