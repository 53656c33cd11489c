// pod-gcs.ts: what the pod program's unit tests share: the lab's GCS stand-in started in-process
// on a fresh store with one bucket, a fake GKE metadata server that hands out one of its tokens,
// and a scratch workspace. Everything is removed when the test ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGcsHandler } from '../../lab/google/gcs/api.ts';
import { GcsStore } from '../../lab/google/gcs/store.ts';
import { listen } from '../../lab/google/http.ts';
import { TokenStore } from '../../lab/google/tokens.ts';

export const BUCKET = 'kbuild-unit';

/** lab starts the GCS stand-in on a fresh store and a fake metadata server that hands out one of its tokens. */
export async function lab(t: import('node:test').TestContext, email = 'kbuild-lab.svc.id.goog') {
  const dir = mkdtempSync(join(tmpdir(), 'kbuild-pod-gcs-'));
  const store = GcsStore.open(dir);
  store.createBucket({
    name: BUCKET,
    projectNumber: '42',
    location: 'US',
    storageClass: 'STANDARD',
    timeCreated: new Date().toISOString(),
  });
  const tokens = new TokenStore();
  const gcs = await listen(
    'gcs',
    0,
    createGcsHandler(store, { projectNumber: '42', tokens }),
    () => {},
  );
  const token = tokens.issue({
    kind: 'serviceAccount',
    email: 'pod@kbuild-lab.iam.gserviceaccount.com',
    scopes: [],
    expiresAt: Date.now() + 3600_000,
  });
  let tokenRequests = 0;
  const md: Server = createServer((req, res) => {
    if (req.headers['metadata-flavor'] !== 'Google') {
      res.writeHead(403).end('Missing Metadata-Flavor:Google header');
      return;
    }
    const path = (req.url ?? '').replace('/computeMetadata/v1/', '');
    const answers: Record<string, string> = {
      'instance/service-accounts/default/email': email,
      'project/project-id': 'kbuild-lab',
      'project/numeric-project-id': '42',
    };
    if (path === 'instance/service-accounts/default/token') {
      tokenRequests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: token, expires_in: 3600, token_type: 'Bearer' }));
    } else if (answers[path] !== undefined) res.writeHead(200).end(answers[path]);
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((r) => md.listen(0, '127.0.0.1', r));
  t.after(async () => {
    await gcs.close();
    md.close();
    md.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    gcs: gcs.url,
    store,
    metadataHost: `127.0.0.1:${(md.address() as AddressInfo).port}`,
    tokenRequests: () => tokenRequests,
  };
}

export function workspace(t: import('node:test').TestContext): string {
  const ws = mkdtempSync(join(tmpdir(), 'kbuild-pod-ws-'));
  t.after(() => rmSync(ws, { recursive: true, force: true }));
  return ws;
}
