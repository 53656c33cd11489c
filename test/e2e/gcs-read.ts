// gcs-read.ts: reads an object back with @google-cloud/storage, a client the upload path does not
// use, so a test's read-back checks the lab's GCS and our uploads independently. The download
// validates the object's CRC32C at its end.
import type { Readable } from 'node:stream';
import { Storage } from '@google-cloud/storage';
import { OAuth2Client } from 'google-auth-library';
import type { TokenSource } from '../../src/core/google/auth.ts';

/**
 * gcsReader returns read(name): a stream of the object `name` in `bucket` at `apiEndpoint`
 * (the lab's storage endpoint), authorised with tokens from `tokenSource` (the documented
 * `refreshHandler` way to feed external tokens to google-auth-library).
 */
export function gcsReader(o: {
  bucket: string;
  apiEndpoint: string;
  tokenSource: TokenSource;
}): (name: string) => Promise<Readable> {
  const authClient = new OAuth2Client();
  authClient.refreshHandler = async () => {
    const { token, expiresAt } = await o.tokenSource.getAccessToken();
    return { access_token: token, expiry_date: expiresAt };
  };
  const storage = new Storage({
    apiEndpoint: o.apiEndpoint.replace(/\/+$/, ''),
    authClient,
    useAuthWithCustomEndpoint: true,
    retryOptions: { autoRetry: true, maxRetries: 4 },
  });
  return (name) =>
    Promise.resolve(storage.bucket(o.bucket).file(name).createReadStream({ validation: 'crc32c' }));
}
