// node-fetch.test.ts: nodeFetch (google/http.ts), the node:http exchange every Google API call
// makes, against a local server: what it sends, what it reads, how it fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { nodeFetch, requestJson } from '../../src/core/google/http.ts';
import { networkCode } from '../../src/core/base/retry.ts';

/** serve starts a server on 127.0.0.1 and answers its base URL, the requests it saw, and stop. */
async function serve(handler: http.RequestListener) {
  const seen: {
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
    body: string;
    raw: Buffer;
  }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        raw: Buffer.concat(chunks),
      });
      handler(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    seen,
    stop: () => new Promise<void>((r) => server.close(() => r())).then(() => undefined),
    server,
  };
}

test('nodeFetch sends method, headers and a Buffer body with its length; reads status, headers and text', async () => {
  const s = await serve((_req, res) => {
    res.writeHead(308, { range: 'bytes=0-99', 'x-two': ['a', 'b'] });
    res.end('résumé');
  });
  try {
    const body = Buffer.from('0123456789');
    const r = await nodeFetch(`${s.base}/upload?x=1`, {
      method: 'PUT',
      headers: { authorization: 'Bearer t', 'content-range': 'bytes 0-9/*' },
      body,
    });
    assert.equal(r.status, 308);
    assert.equal(r.ok, false);
    assert.equal(r.headers.get('Range'), 'bytes=0-99');
    assert.equal(r.headers.get('x-two'), 'a, b');
    assert.equal(r.headers.get('missing'), null);
    assert.equal(await r.text(), 'résumé');
    const got = s.seen[0]!;
    assert.deepEqual(
      [got.method, got.url, got.headers['authorization'], got.headers['content-length'], got.body],
      ['PUT', '/upload?x=1', 'Bearer t', '10', '0123456789'],
    );
  } finally {
    await s.stop();
  }
});

test('requestJson over nodeFetch: a JSON answer, and a Google error with its status, text and Retry-After', async () => {
  let calls = 0;
  const s = await serve((_req, res) => {
    calls++;
    if (calls === 1) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"access_token":"x","expires_in":3599}');
      return;
    }
    res.writeHead(403, { 'retry-after': '7' });
    res.end('{"error":{"code":403,"message":"Permission denied","status":"PERMISSION_DENIED"}}');
  });
  try {
    const ok = await requestJson<{ expires_in: number }>({
      step: 'STS token exchange',
      url: `${s.base}/v1/token`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    assert.equal(ok.expires_in, 3599);
    assert.equal(s.seen[0]!.body, '{"a":1}');
    assert.equal(s.seen[0]!.headers['content-length'], '7');
    await assert.rejects(
      requestJson({ step: 'GKE clusters.get', url: `${s.base}/c`, method: 'GET' }),
      (e: Error & { status?: number; retryAfterMs?: number }) => {
        assert.match(
          e.message,
          /GKE clusters.get failed: HTTP 403: PERMISSION_DENIED: Permission denied/,
        );
        assert.equal(e.status, 403);
        assert.equal(e.retryAfterMs, 7000);
        return true;
      },
    );
  } finally {
    await s.stop();
  }
});

test('nodeFetch rejects with the network error code, and a timeout that is retried as one', async () => {
  const s = await serve(() => {
    // never answers
  });
  const closed = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
  try {
    const signal = AbortSignal.timeout(50);
    // node:http's AbortError, caused by the TimeoutError: retried as a timeout (base/retry.ts).
    await assert.rejects(nodeFetch(`${s.base}/hang`, { signal }), (e) => {
      assert.equal(networkCode(e), 'TIMEOUT');
      return true;
    });
  } finally {
    s.server.closeAllConnections();
    await s.stop();
  }
  await assert.rejects(nodeFetch(`${closed}/x`), { code: 'ECONNREFUSED' });
});

test('nodeFetch sends a large body whole, with its Content-Length (not chunked)', async () => {
  const s = await serve((_req, res) => res.end('ok'));
  try {
    const body = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    const r = await nodeFetch(`${s.base}/big`, { method: 'PUT', body });
    assert.equal(await r.text(), 'ok');
    const got = s.seen[0]!;
    assert.equal(got.headers['content-length'], String(body.length));
    assert.equal(got.headers['transfer-encoding'], undefined);
    assert.ok(got.raw.equals(body), 'the body arrived whole, in order');
  } finally {
    await s.stop();
  }
});
