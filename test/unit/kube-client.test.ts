// kube-client.test.ts: the real client (HttpKubeApi over @kubernetes/client-node, kube/watch.ts
// and kube/stream.ts) against a small local HTTP server standing in for the API server: a watch
// answered with 410 Gone re-lists and reports what vanished meanwhile as DELETED, and a log
// stream cut in the middle of a line resumes from the last timestamp without losing or
// repeating a line (logs.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { HttpKubeApi } from '../../src/core/kube/client.ts';
import { followLogs } from '../../src/core/build/logs.ts';

/** serve starts a stand-in API server on 127.0.0.1 and answers a client for it, and a stop. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse, url: URL) => void) {
  const server = createServer((req, res) => handler(req, res, new URL(req.url ?? '/', 'http://x')));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // Plain HTTP: client-node allows it only with skipTLSVerify.
    clusters: [
      {
        name: 'lab',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'u', token: 'test-token' }],
    contexts: [{ name: 'lab', cluster: 'lab', user: 'u' }],
    currentContext: 'lab',
  });
  return {
    api: new HttpKubeApi(kc),
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const pod = (name: string, rv: string): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ci', resourceVersion: rv },
});

test('watchPods: a 410 Gone re-lists, and a pod that vanished meanwhile is DELETED', async () => {
  const lists: string[] = [];
  const watches: string[] = [];
  const { api, stop } = await serve((req, res, url) => {
    res.setHeader('content-type', 'application/json');
    if (url.searchParams.get('watch') !== 'true') {
      lists.push(url.searchParams.get('labelSelector') ?? '');
      const items = lists.length === 1 ? [pod('a', '8'), pod('b', '9')] : [pod('b', '19')];
      res.end(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'PodList',
          metadata: { resourceVersion: lists.length === 1 ? '10' : '20' },
          items,
        }),
      );
      return;
    }
    watches.push(url.searchParams.get('resourceVersion') ?? '');
    if (watches.length === 1) {
      const status = {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Expired',
        code: 410,
      };
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    res.write(`${JSON.stringify({ type: 'MODIFIED', object: pod('b', '21') })}\n`);
  });
  const seen: string[] = [];
  const controller = new AbortController();
  try {
    await api.watchPods(
      'ci',
      'kbuild.dev/build-id=x',
      (type, p) => {
        seen.push(
          `${type} ${p.metadata?.name}${p.metadata?.resourceVersion ? `@${p.metadata.resourceVersion}` : ''}`,
        );
        if (type === 'MODIFIED') controller.abort();
      },
      controller.signal,
    );
  } finally {
    await stop();
  }
  assert.deepEqual(seen, ['ADDED a@8', 'ADDED b@9', 'DELETED a', 'ADDED b@19', 'MODIFIED b@21']);
  assert.deepEqual(lists, ['kbuild.dev/build-id=x', 'kbuild.dev/build-id=x']);
  assert.deepEqual(watches, ['10', '20'], 'the second watch starts from the new list');
});

test('openLog + followLogs: a stream cut mid-line resumes from the last timestamp, no line lost or repeated', async () => {
  // Six lines within one second: the API server truncates sinceTime to the second, so the
  // second stream repeats the lines already delivered, which the follower drops.
  const lines = [1, 2, 3, 4, 5, 6].map((i) => `2026-12-06T10:00:00.00000000${i}Z line ${i}\n`);
  const requests: (string | null)[] = [];
  const { api, stop } = await serve((req, res, url) => {
    requests.push(url.searchParams.get('sinceTime'));
    assert.equal(req.headers.authorization, 'Bearer test-token');
    res.setHeader('content-type', 'text/plain');
    if (requests.length === 1) {
      res.write(lines.slice(0, 3).join('') + lines[3]!.slice(0, 20));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    res.end(lines.join(''));
  });
  const got: string[] = [];
  try {
    const r = await followLogs({
      open: (sinceTime, signal) =>
        api.openLog(
          {
            namespace: 'ci',
            pod: 'p',
            container: 'build',
            follow: true,
            timestamps: true,
            ...(sinceTime ? { sinceTime } : {}),
          },
          signal,
        ),
      onLine: (l) => void got.push(l.text),
      terminated: Promise.resolve(),
      signal: new AbortController().signal,
      sleep: async () => {},
    });
    assert.equal(r.reconnects, 1);
  } finally {
    await stop();
  }
  assert.deepEqual(got, ['line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'line 6']);
  assert.equal(requests[0], null);
  assert.equal(requests[1], '2026-12-06T10:00:00.000000003Z');
});
