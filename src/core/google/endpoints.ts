/**
 * GoogleEndpoints are the base URLs of the Google APIs the product calls, each
 * ending with `/` like gcloud's `CLOUDSDK_API_ENDPOINT_OVERRIDES_*` values
 * (e.g. `https://sts.googleapis.com/`). `storage` is the Cloud Storage JSON API
 * root without `/storage/v1` (e.g. `https://storage.googleapis.com`), as
 * `@google-cloud/storage` takes it in `apiEndpoint`.
 */
export interface GoogleEndpoints {
  sts: string;
  iamcredentials: string;
  container: string;
  /** connectgateway: the fleet's Connect Gateway (use_connect_gateway). */
  connectgateway: string;
  storage: string;
}

/** DEFAULT_ENDPOINTS are Google's public endpoints in the googleapis.com universe. */
export const DEFAULT_ENDPOINTS: Readonly<GoogleEndpoints> = Object.freeze({
  sts: 'https://sts.googleapis.com/',
  iamcredentials: 'https://iamcredentials.googleapis.com/',
  container: 'https://container.googleapis.com/',
  connectgateway: 'https://connectgateway.googleapis.com/',
  storage: 'https://storage.googleapis.com',
});

const OVERRIDES: ReadonlyArray<[keyof GoogleEndpoints, string]> = [
  ['sts', 'CLOUDSDK_API_ENDPOINT_OVERRIDES_STS'],
  ['iamcredentials', 'CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS'],
  ['container', 'CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER'],
  ['connectgateway', 'CLOUDSDK_API_ENDPOINT_OVERRIDES_CONNECTGATEWAY'],
];

/**
 * endpointsFromEnv returns DEFAULT_ENDPOINTS overridden by gcloud's
 * `CLOUDSDK_API_ENDPOINT_OVERRIDES_{STS,IAMCREDENTIALS,CONTAINER,CONNECTGATEWAY}` (gcloud's
 * properties `api_endpoint_overrides/connectgateway` etc.) and by
 * `STORAGE_EMULATOR_HOST` (read like `@google-cloud/storage` does; a trailing
 * `/storage/v1` is dropped). Override values get a trailing `/` if they lack
 * one. Entry points call it with `process.env`; the core never reads the
 * environment itself. Throws when a value is not an http(s) URL, naming the
 * variable.
 */
export function endpointsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): GoogleEndpoints {
  const out: GoogleEndpoints = { ...DEFAULT_ENDPOINTS };
  for (const [key, variable] of OVERRIDES) {
    const value = env[variable]?.trim();
    if (value) out[key] = withTrailingSlash(checkUrl(value, variable));
  }
  const storage = env.STORAGE_EMULATOR_HOST?.trim();
  if (storage) {
    out.storage = checkUrl(storage, 'STORAGE_EMULATOR_HOST')
      .replace(/\/+$/, '')
      .replace(/\/storage\/v1$/, '');
  }
  return out;
}

function checkUrl(value: string, variable: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(
      `invalid URL "${value}" in ${variable}: use an http(s) URL such as https://sts.googleapis.com/`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(
      `invalid URL "${value}" in ${variable}: use an http(s) URL such as https://sts.googleapis.com/`,
    );
  }
  return value;
}

function withTrailingSlash(value: string): string {
  return value.endsWith('/') ? value : `${value}/`;
}
