// build-fixtures.ts: a workflow run and build inputs shared by the unit tests of the build spec
// and its manifests (not a test file itself).
import type { RawBuildInputs } from '../../src/core/inputs/schema.ts';
import {
  validateBuildSpec,
  type BuildSpec,
  type GitHubContext,
} from '../../src/core/inputs/spec.ts';

/** CTX is a workflow run of acme/packages. */
export const CTX: GitHubContext = {
  repository: 'acme/packages',
  repositoryId: '42',
  owner: 'acme',
  repo: 'packages',
  sha: '0123456789abcdef0123456789abcdef01234567',
  ref: 'refs/heads/main',
  runId: '9876543210',
  runAttempt: '2',
  serverUrl: 'https://github.example',
  workflow: 'build',
  actor: 'octocat',
  eventName: 'push',
};

/** BASE is the smallest valid input: an image, one package and a bucket. */
export const BASE: RawBuildInputs = {
  image: 'cgr.dev/chainguard/sdk:latest',
  packages: 'hello',
  bucket: 'acme-artifacts',
};

/** specOf validates BASE with overrides against CTX. */
export function specOf(overrides: RawBuildInputs = {}): BuildSpec {
  return validateBuildSpec({ ...BASE, ...overrides }, CTX);
}
