// kube-rest.test.ts: the core's own HTTP layer for plain Kubernetes calls (kube/rest.ts under
// kube/client.ts HttpKubeApi) against a local HTTPS server standing in for the API server, with
// certificates made by openssl for the test: JSON bodies and content types, status errors
// (404, 409, 410, 429 with Retry-After), a refused connection, the bearer token of a GKE
// connection (asked for on every request), client certificates and an exec plugin from a
// kubeconfig file, the cluster CA, the DNS-based endpoint without a CA, and the debug trace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpKubeApi } from '../../src/core/kube/client.ts';
import { KubeApiError } from '../../src/core/kube/api.ts';
import { BearerConnection } from '../../src/core/kube/connection.ts';
import { kubeConfigFromFile } from '../../src/core/google/gke.ts';
import { traceHttp } from '../../src/core/base/http-trace.ts';
import { FakeClock } from './fake-cluster.ts';

const dir = mkdtempSync(join(tmpdir(), 'kbuild-kube-rest-'));
const pem = (name: string) => readFileSync(join(dir, name));
const b64 = (name: string) => pem(name).toString('base64');

/** openssl runs openssl in the test's folder. */
function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** cert makes a key and a certificate signed by the CA `ca` (or self-signed for a CA). */
function cert(name: string, cn: string, ca?: string, ext?: string): void {
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-subj',
    `/CN=${cn}`,
    '-out',
    `${name}.csr`,
  );
  if (!ca) {
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-signkey',
      `${name}.key`,
      '-days',
      '2',
      '-out',
      `${name}.crt`,
      '-extfile',
      join(dir, 'ca.ext'),
    );
    return;
  }
  writeFileSync(join(dir, `${name}.ext`), ext ?? '');
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    `${name}.crt`,
    '-extfile',
    `${name}.ext`,
  );
}

interface Seen {
  method: string;
  url: string;
  auth: string;
  contentType: string;
  body: string;
  clientCn: string;
}

let server: Server;
let base = '';
const seen: Seen[] = [];
let answer: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_q, res) =>
  res.end('{}');

before(async () => {
  writeFileSync(
    join(dir, 'ca.ext'),
    'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n',
  );
  cert('ca', 'kbuild-test-ca');
  cert('other-ca', 'kbuild-other-ca');
  cert('server', '127.0.0.1', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  cert('client', 'kbuild-client', 'ca', 'extendedKeyUsage=clientAuth\n');
  server = createServer(
    {
      key: pem('server.key'),
      cert: pem('server.crt'),
      ca: pem('ca.crt'),
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          auth: req.headers.authorization ?? '',
          contentType: req.headers['content-type'] ?? '',
          body,
          clientCn: (req.socket as TLSSocket).authorized ? String(peer?.subject?.CN ?? '') : '',
        });
        res.setHeader('content-type', 'application/json');
        answer(req, res, body);
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** SleepLog: the fake clock, with every sleep recorded (ms). */
class SleepLog extends FakeClock {
  readonly slept: number[] = [];
  override async sleep(ms: number): Promise<void> {
    this.slept.push(ms);
    await super.sleep(ms);
  }
}

/** gke: a GKE connection to the stand-in with the test CA (or another), tokens token-1, token-2 ... */
function gke(caName: string | null = 'ca', server = base) {
  let n = 0;
  return new BearerConnection({
    server,
    ...(caName ? { caData: b64(`${caName}.crt`) } : {}),
    token: async () => `token-${++n}`,
  });
}

const status = (code: number, reason: string, message: string) =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });

test('JSON bodies, paths, content types and a fresh bearer token on every call', async () => {
  seen.length = 0;
  answer = (req, res, body) =>
    res.end(req.method === 'POST' ? body : JSON.stringify({ kind: 'Job', items: [] }));
  const api = new HttpKubeApi(gke());
  try {
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'kb-1' } };
    assert.deepEqual(await api.createJob('ci', job), job);
    await api.setSecretOwner('ci', 's-1', {
      apiVersion: 'batch/v1',
      kind: 'Job',
      name: 'kb-1',
      uid: 'u',
    });
    assert.equal(await api.deleteJob('ci', 'kb-1', 'Foreground'), true);
    assert.deepEqual(await api.listPods('ci', 'a=b,c in (d)'), []);
    assert.deepEqual(
      seen.map((s) => [s.method, s.url, s.contentType, s.auth]),
      [
        ['POST', '/apis/batch/v1/namespaces/ci/jobs', 'application/json', 'Bearer token-1'],
        [
          'PATCH',
          '/api/v1/namespaces/ci/secrets/s-1',
          'application/merge-patch+json',
          'Bearer token-2',
        ],
        [
          'DELETE',
          '/apis/batch/v1/namespaces/ci/jobs/kb-1?propagationPolicy=Foreground',
          '',
          'Bearer token-3',
        ],
        [
          'GET',
          '/api/v1/namespaces/ci/pods?labelSelector=a%3Db%2Cc+in+%28d%29',
          '',
          'Bearer token-4',
        ],
      ],
    );
    assert.deepEqual(JSON.parse(seen[0]!.body), job);
    assert.deepEqual(JSON.parse(seen[1]!.body), {
      metadata: {
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'kb-1', uid: 'u' }],
      },
    });
  } finally {
    api.close();
  }
});

test('status errors: 404 is gone, 409 and 410 fail at once, 429 waits its Retry-After', async () => {
  const clock = new SleepLog();
  const lines: string[] = [];
  const api = new HttpKubeApi(gke(), {
    clock,
    random: () => 0,
    onRetry: (e) => lines.push(e.line),
  });
  try {
    const cases: {
      name: string;
      answers: [number, string, Record<string, string>?][];
      run: () => Promise<unknown>;
      want?: unknown;
      error?: (e: unknown) => boolean;
      slept?: number[];
    }[] = [
      {
        name: 'read of a missing Pod',
        answers: [[404, status(404, 'NotFound', 'pods "x" not found')]],
        run: () => api.readPod('ci', 'x'),
        want: undefined,
      },
      {
        name: 'delete of a missing Secret',
        answers: [[404, status(404, 'NotFound', 'secrets "x" not found')]],
        run: () => api.deleteSecret('ci', 'x'),
        want: false,
      },
      {
        name: 'read of a Node refused (403) is unknown',
        answers: [[403, status(403, 'Forbidden', 'nodes "n" is forbidden')]],
        run: () => api.readNode('n'),
        want: undefined,
      },
      {
        name: 'create of an existing Job',
        answers: [[409, status(409, 'AlreadyExists', 'jobs.batch "kb-1" already exists')]],
        run: () => api.createJob('ci', { metadata: { name: 'kb-1' } }),
        error: (e) =>
          e instanceof KubeApiError &&
          e.status === 409 &&
          e.reason === 'AlreadyExists' &&
          /^create Job ci\/kb-1: jobs\.batch "kb-1" already exists$/.test(e.message),
      },
      {
        name: 'a list answered 410 Gone',
        answers: [[410, status(410, 'Expired', 'too old resource version')]],
        run: () => api.listJobs('ci', 'a=b'),
        error: (e) => e instanceof KubeApiError && e.status === 410 && e.reason === 'Expired',
      },
      {
        name: 'a body that is not a Status',
        answers: [[400, 'bad request\n']],
        run: () => api.readJob('ci', 'j'),
        error: (e) =>
          e instanceof KubeApiError &&
          e.status === 400 &&
          /read Job ci\/j: bad request$/.test(e.message),
      },
      {
        name: '429 with Retry-After, then the answer',
        answers: [
          [429, status(429, 'TooManyRequests', 'slow down'), { 'retry-after': '2' }],
          [200, JSON.stringify({ metadata: { name: 'j' } })],
        ],
        run: () => api.readJob('ci', 'j'),
        want: { metadata: { name: 'j' } },
        slept: [2000],
      },
    ];
    for (const c of cases) {
      const queue = [...c.answers];
      let calls = 0;
      clock.slept.length = 0;
      answer = (_q, res) => {
        calls++;
        const [code, body, headers] = queue.shift() ?? [500, 'no more answers'];
        res.writeHead(code, headers ?? {});
        res.end(body);
      };
      if (c.error) await assert.rejects(c.run(), c.error, c.name);
      else assert.deepEqual(await c.run(), c.want, c.name);
      assert.equal(calls, c.answers.length, `${c.name}: calls`);
      assert.deepEqual(clock.slept, c.slept ?? [], `${c.name}: waits`);
    }
    assert.match(
      lines.at(-1)!,
      /^API server answered 429 to read Job ci\/j; retrying in 2\.0 s \(attempt 2\)$/,
    );
  } finally {
    api.close();
  }
});

test('a refused connection is status 0 with its code; a CA that does not match fails', async () => {
  const refused = new HttpKubeApi(gke('ca', 'https://127.0.0.1:1'), { policy: { attempts: 1 } });
  await assert.rejects(
    refused.readPod('ci', 'x'),
    (e: unknown) => e instanceof KubeApiError && e.status === 0 && e.code === 'ECONNREFUSED',
  );
  seen.length = 0;
  const wrongCa = new HttpKubeApi(gke('other-ca'), { policy: { attempts: 1 } });
  await assert.rejects(
    wrongCa.readPod('ci', 'x'),
    (e: unknown) => e instanceof KubeApiError && e.status === 0 && /certificate/i.test(e.message),
  );
  // The DNS-based endpoint: no CA, so the runtime's trust store, which does not know the test CA.
  const dns = new HttpKubeApi(gke(null), { policy: { attempts: 1 } });
  await assert.rejects(
    dns.readPod('ci', 'x'),
    (e: unknown) => e instanceof KubeApiError && e.status === 0 && /certificate/i.test(e.message),
  );
  assert.equal(seen.length, 0, 'no request reached a server that was not trusted');
});

test('a kubeconfig file: its CA, client certificate and exec plugin are used', async () => {
  seen.length = 0;
  answer = (_q, res) => res.end(JSON.stringify({ items: [] }));
  const credential = JSON.stringify({
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status: { token: 'from-exec-plugin' },
  });
  const users = {
    certs: `{client-certificate-data: ${b64('client.crt')}, client-key-data: ${b64('client.key')}}`,
    exec: `{exec: {apiVersion: client.authentication.k8s.io/v1, command: ${process.execPath}, args: ["-e", ${JSON.stringify(`process.stdout.write(${JSON.stringify(credential)})`)}], interactiveMode: Never}}`,
    token: '{token: static-token}',
  };
  for (const [name, user] of Object.entries(users)) {
    const path = join(dir, `kubeconfig-${name}`);
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: c, cluster: {server: "${base}", certificate-authority-data: ${b64('ca.crt')}}}]`,
        `users: [{name: u, user: ${user}}]`,
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
      ].join('\n'),
    );
    const api = new HttpKubeApi(await kubeConfigFromFile(path), { policy: { attempts: 1 } });
    try {
      assert.deepEqual(await api.listJobs('ci', 'a=b'), [], name);
    } finally {
      api.close();
    }
  }
  assert.deepEqual(
    seen.map((s) => [s.auth, s.clientCn]),
    [
      ['', 'kbuild-client'],
      ['Bearer from-exec-plugin', ''],
      ['Bearer static-token', ''],
    ],
  );
});

test('every call of the new path writes its debug line, and no token', async () => {
  const lines: string[] = [];
  const stop = traceHttp({ debug: (l) => lines.push(l) });
  answer = (req, res) => {
    res.writeHead(req.url?.includes('missing') ? 404 : 200);
    res.end(req.url?.includes('missing') ? status(404, 'NotFound', 'gone') : '{"items":[]}');
  };
  const api = new HttpKubeApi(gke());
  try {
    await api.listPods('ci', 'secret-looking=value');
    await api.readPod('ci', 'missing');
  } finally {
    stop();
    api.close();
  }
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(
    lines[0]!,
    new RegExp(`^GET ${base}/api/v1/namespaces/ci/pods\\?labelSelector -> 200 in \\d+ ms$`),
  );
  assert.match(
    lines[1]!,
    new RegExp(`^GET ${base}/api/v1/namespaces/ci/pods/missing -> 404 in \\d+ ms$`),
  );
  assert.doesNotMatch(lines.join('\n'), /token-|secret-looking=value/);
});
