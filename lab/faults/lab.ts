// lab.ts: the fault front (front.ts) before this lab's API server, with the lab's own certificate
// for it (lab/scripts/pki.sh faults.crt), for tests and benchmarks.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { labEnv, ROOT } from '../env.ts';
import { startFaultFront, type FaultFront, type Faults } from './front.ts';

/** startLabFront starts a front before the lab's API server (see front.ts), seeded. */
export async function startLabFront(seed: number, faults: Faults): Promise<FaultFront> {
  const pki = join(ROOT, '.lab', 'pki');
  // Labs started before the front existed have no faults.crt yet: pki.sh adds it.
  const r = spawnSync('bash', [join(ROOT, 'lab/scripts/pki.sh'), pki], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`lab/scripts/pki.sh failed: ${r.stderr}`);
  return startFaultFront({
    upstream: labEnv()['KBUILD_LAB_API_SERVER']!,
    upstreamCa: readFileSync(join(pki, 'ca.crt')),
    cert: readFileSync(join(pki, 'faults.crt')),
    key: readFileSync(join(pki, 'faults.key')),
    seed,
    faults,
  });
}

/** kubeconfigVia copies the lab's admin kubeconfig into dir with its server replaced by `server`. */
export function kubeconfigVia(server: string, dir: string): string {
  const doc = parse(readFileSync(labEnv()['KUBECONFIG']!, 'utf8')) as {
    clusters: { cluster: { server: string } }[];
  };
  for (const c of doc.clusters) c.cluster.server = server;
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, stringify(doc), { mode: 0o600 });
  return path;
}
