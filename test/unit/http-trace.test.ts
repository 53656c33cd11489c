// http-trace.test.ts: the debug channel logs one line per request (fetch, the undici package that
// @kubernetes/client-node uses, node:http), with method, URL without query values, status and
// duration, and never a token from a header or a query value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetch as undiciFetch } from 'undici';
import { safeUrl, traceHttp } from '../../src/core/base/http-trace.ts';

test('safeUrl: keeps origin and path, drops user info and query values', () => {
  const cases = [
    { origin: 'https://h:6443', path: '/api/v1/pods', want: 'https://h:6443/api/v1/pods' },
    {
      origin: 'https://user:pw@h',
      path: '/upload/storage/v1/b/x/o?uploadType=resumable&upload_id=SECRET&upload_id=2',
      want: 'https://h/upload/storage/v1/b/x/o?uploadType&upload_id',
    },
    { origin: 'not a url', path: 'x', want: '(unparsable URL)' },
  ];
  for (const c of cases) assert.equal(safeUrl(c.origin, c.path), c.want);
});

test('traceHttp: one line per request, whichever client, and no secret', async () => {
  const server = createServer((req, res) => {
    res.statusCode = req.url?.startsWith('/missing') ? 404 : 200;
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A port nothing listens on (fetch refuses well-known "bad ports" like 1 before connecting).
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const refused = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise((r) => closed.close(r));
  const lines: string[] = [];
  let t = 0;
  const untrace = traceHttp({ debug: (l) => lines.push(l), now: () => (t += 5) });
  try {
    const token = 'ya29.SECRET-TOKEN';
    await (
      await fetch(`${base}/api/v1/namespaces/ci/pods?labelSelector=a%3Db&access_token=${token}`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).text();
    await (await undiciFetch(`${base}/missing`, { method: 'DELETE' })).text();
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${base}/v1/dispatches`, { method: 'POST' }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end('{}');
    });
    await fetch(`${refused}/refused`).catch(() => undefined);
  } finally {
    untrace();
    server.close();
  }
  await fetch(`${base}/after`).catch(() => undefined); // not traced any more
  assert.deepEqual(lines, [
    `GET ${base}/api/v1/namespaces/ci/pods?labelSelector&access_token -> 200 in 5 ms`,
    `DELETE ${base}/missing -> 404 in 5 ms`,
    `POST ${base}/v1/dispatches -> 200 in 5 ms`,
    `GET ${refused}/refused -> error ECONNREFUSED after 5 ms`,
  ]);
  assert.ok(!lines.join('\n').includes('SECRET'), 'no token in any line');
});
