/**
 * env.ts: how the pod program reads its environment (the POD_ENV names of
 * manifest/pod-program.ts, set in the pod spec by manifest/podspec.ts).
 */
import { POD_ENV } from '../core/manifest/pod-program.ts';

/** DEFAULT_STORAGE is Cloud Storage's JSON API root, used when the pod spec names none. */
const DEFAULT_STORAGE = 'https://storage.googleapis.com';

/**
 * envReader answers `need` (a variable's value; throws naming it when unset or empty) and the
 * values every command shares: the bucket, the JSON API root and GCE_METADATA_HOST.
 */
export function envReader(env: NodeJS.ProcessEnv) {
  const need = (name: string): string => {
    const v = env[name];
    if (!v) throw new Error(`kbuild pod program: ${name} is not set`);
    return v;
  };
  return {
    need,
    common: () => ({
      bucket: need(POD_ENV.bucket),
      apiEndpoint: env[POD_ENV.storageEndpoint] || DEFAULT_STORAGE,
      metadataHost: env['GCE_METADATA_HOST'],
    }),
  };
}
