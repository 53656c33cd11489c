// kube-pool.test.ts: the core's Kubernetes client (src/core/kube/client.ts over kube/rest.ts)
// reuses one keep-alive connection for its plain calls. client-node 2.0.1's generated clients
// open a new TLS connection for every call and leave it open (docs/benchmarks.md, "Fan-out");
// counted here from this process's own sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { kubeConfigFromFile } from '../../src/core/google/gke.ts';
import { HttpKubeApi } from '../../src/core/kube/client.ts';
import { labEnv } from './lab.ts';

/** connectionsTo counts this process's TCP sockets whose remote port is `port` (IPv4 and IPv6). */
function connectionsTo(port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    const target = (() => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    })();
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(m[1]!);
  }
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const table of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[2] is the remote address:port, f[3] the state (01 = ESTABLISHED), f[9] the inode.
      if (f[2]?.endsWith(`:${hex}`) && f[3] === '01' && inodes.has(f[9] ?? '')) n++;
    }
  }
  return n;
}

test('40 API calls through the core client use one connection; client-node alone opens 40', async () => {
  const env = labEnv();
  const port = Number(new URL(env['KBUILD_LAB_API_SERVER'] ?? '').port);
  assert.ok(port > 0, 'the lab names its API server');

  const kube = new HttpKubeApi(await kubeConfigFromFile(env['KUBECONFIG'] ?? ''));
  const before = connectionsTo(port);
  for (let i = 0; i < 40; i++) await kube.listPods('default', 'kbuild.dev/none=1');
  const withPool = connectionsTo(port) - before;
  kube.close();

  const plain = new KubeConfig();
  plain.loadFromFile(env['KUBECONFIG'] ?? '');
  const core = plain.makeApiClient(CoreV1Api);
  const before2 = connectionsTo(port);
  for (let i = 0; i < 40; i++)
    await core.listNamespacedPod({ namespace: 'default', labelSelector: 'kbuild.dev/none=1' });
  const without = connectionsTo(port) - before2;
  assert.ok(withPool <= 1, `core client: ${withPool} new connections for 40 calls`);
  // The library's behaviour the core's own HTTP layer avoids (docs/benchmarks.md, "Fan-out").
  assert.ok(without >= 20, `client-node alone: ${without} new connections for 40 calls`);
});
