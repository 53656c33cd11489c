/**
 * args.ts: the CLI's command line -> the action's raw inputs. Flags mirror the
 * inputs of action.yml with dashes (`--pending-timeout 15m` is input
 * `pending_timeout`); positional arguments are the packages. Boolean flags
 * take `--flag`, `--flag=true|false` or `--no-flag`; repeatable flags
 * (`--env`, `--secret-env`) collect one KEY=VALUE each.
 */
import { parseArgs } from 'node:util';
import { BUILD_INPUT_NAMES, type RawInputs } from '../core/inputs/schema.ts';

/** BOOLEAN_INPUTS may be given as bare flags. */
const BOOLEAN_INPUTS = new Set([
  'watch',
  'create',
  'keep',
  'privileged',
  'spot',
  'use_internal_ip',
  'use_dns_based_endpoint',
  'use_connect_gateway',
]);
/** REPEATED_INPUTS are line lists, one flag per line of the input. */
const REPEATED_INPUTS = new Set(['env', 'secret_env', 'node_selector', 'tolerations']);
/** CLI_ONLY are flags that are not action inputs. */
const CLI_ONLY = ['help', 'json', 'debug'] as const;

/** flagOf turns an input name into its flag: `pending_timeout` -> `pending-timeout`. */
export function flagOf(input: string): string {
  return input.replace(/_/g, '-');
}

/** CliArgs: the raw inputs the flags give, and the CLI's own switches. */
export interface CliArgs {
  raw: RawInputs;
  help: boolean;
  json: boolean;
  /** debug: print one line per API request (method, URL without query values, status, duration). */
  debug: boolean;
}

/**
 * parseCliArgs parses argv (after the subcommand). Throws a TypeError naming
 * the unknown flag; values are validated later by the core, with the input
 * names in its messages.
 */
export function parseCliArgs(argv: string[]): CliArgs {
  const inputs = BUILD_INPUT_NAMES.filter((n) => n !== 'packages');
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const name of inputs)
    options[flagOf(name)] = {
      type: 'string',
      ...(REPEATED_INPUTS.has(name) ? { multiple: true } : {}),
    };
  const normalized: string[] = [];
  for (const a of argv) {
    const m = /^--(no-)?([a-z-]+)$/.exec(a);
    const input = m?.[2]?.replace(/-/g, '_');
    if (m && input && BOOLEAN_INPUTS.has(input))
      normalized.push(`--${m[2]}=${m[1] ? 'false' : 'true'}`);
    else normalized.push(a);
  }
  for (const f of [...CLI_ONLY, 'h']) options[f] = { type: 'boolean' };
  const parsed = parseArgs({
    args: normalized,
    options,
    allowPositionals: true,
    strict: true,
  });
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
  const positionals = parsed.positionals;
  const raw: RawInputs = {};
  for (const name of inputs) {
    const v = values[flagOf(name)];
    if (v === undefined) continue;
    raw[name] = Array.isArray(v) ? v.join('\n') : String(v);
  }
  if (positionals.length > 0) raw['packages'] = positionals.join(' ');
  return {
    raw,
    help: Boolean(values['help'] || values['h']),
    json: Boolean(values['json']),
    debug: Boolean(values['debug']),
  };
}

/** usage is the text of `kbuild --help`. */
export function usage(): string {
  return `kbuild: build packages as Kubernetes Jobs on GKE (or any cluster), from a terminal.

Usage:
  kbuild run [PACKAGE...] --image IMAGE [flags]     create the build, stream its log, collect artifacts
  kbuild render [PACKAGE...] --image IMAGE [flags]  print the manifest YAML, create nothing
  kbuild --help

Cluster and credentials (one of):
  --kubeconfig PATH                 any cluster (KinD, the lab, ...)
  --cluster NAME --location REGION [--project-id P]
                                    a GKE cluster, found with Application Default Credentials
                                    (gcloud auth application-default login), or with
                                    --workload-identity-provider when ACTIONS_ID_TOKEN_REQUEST_URL is set
  --use-internal-ip | --use-dns-based-endpoint | --use-connect-gateway [--fleet-membership-name M]
                                    a private cluster's endpoint (docs/private-clusters.md)

Build:
  --arch amd64|arm64                (default amd64)      --command "make"        (split like a shell, no shell)
  --cpu 1  --memory 2Gi  --ephemeral-storage 10Gi        --package-target "package/{package}"
  --namespace kbuild                --name NAME          --kind job|pod
  --env KEY=VALUE (repeatable)      --secret-env KEY=VALUE (repeatable; passed through a Secret)
  --timeout 2h  --pending-timeout 15m                    --privileged  --spot  --node-pool POOL
  --compute-class Scale-Out         --node-selector KEY=VALUE  --tolerations KEY=VALUE:EFFECT
                                    (both repeatable; GKE Autopilot: docs/autopilot.md)
  --context DIR                     (default .; --context= stages nothing)
  --artifacts-path packages         --bucket BUCKET      --destination TEMPLATE
  --watch=false                     create and return    --keep   keep the Job after it ends
  --json                            print the result as JSON on stdout
  --debug                           print each API request (method, URL, status, duration) on stderr

Every flag is an input of the GitHub Action (docs/inputs.md) with "_" written as "-".
Exit status: 0 when the build succeeded, else the build's exit code (or 1).

Examples:
  kbuild run hello --image cgr.dev/chainguard/wolfi-base --arch arm64 --kubeconfig ~/.kube/config
  kbuild render zlib --image debian:bookworm --cpu 4 --memory 8Gi
  kbuild render zlib --image debian:bookworm --arch arm64 --compute-class Scale-Out
`;
}
