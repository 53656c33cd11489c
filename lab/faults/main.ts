// main.ts: runs the fault front (front.ts) alone, for benchmarks and manual tries:
//   node lab/faults/main.ts [--port N] [--admin-port N] [--seed N] [--faults JSON] [--ttl SECONDS]
// in front of the lab's API server (.lab/env), with the lab's certificate for the front
// (.lab/pki/faults.crt). It prints its URL. Admin endpoint on 127.0.0.1 (--admin-port):
//   GET /stats                 the counts (FaultStats) as JSON
//   POST /faults               new Faults as JSON (refuseMatch as a RegExp source string)
//   POST /outage?ms=90000      refuse every connection for that long
// It stops by itself after --ttl seconds (default 3600), or on SIGINT/SIGTERM.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { labEnv, ROOT } from '../env.ts';
import { startFaultFront, type Faults } from './front.ts';

/** toFaults reads Faults from JSON; refuseMatch is a RegExp source. */
export function toFaults(json: string): Faults {
  const raw = JSON.parse(json) as Faults & { refuseMatch?: string };
  const { refuseMatch, ...rest } = raw;
  return refuseMatch ? { ...rest, refuseMatch: new RegExp(refuseMatch) } : rest;
}

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'admin-port': { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    faults: { type: 'string', default: '{}' },
    ttl: { type: 'string', default: '3600' },
  },
});
const pki = join(ROOT, '.lab', 'pki');
const front = await startFaultFront({
  upstream: labEnv()['KBUILD_LAB_API_SERVER']!,
  upstreamCa: readFileSync(join(pki, 'ca.crt')),
  cert: readFileSync(join(pki, 'faults.crt')),
  key: readFileSync(join(pki, 'faults.key')),
  port: Number(values.port),
  seed: Number(values.seed),
  faults: toFaults(values.faults),
});
const admin = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    try {
      if (req.method === 'GET' && url.pathname === '/stats') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(front.stats()));
      } else if (req.method === 'POST' && url.pathname === '/faults') {
        front.setFaults(toFaults(Buffer.concat(chunks).toString('utf8') || '{}'));
        res.writeHead(204).end();
      } else if (req.method === 'POST' && url.pathname === '/outage') {
        void front.outage(Number(url.searchParams.get('ms') ?? '0'));
        res.writeHead(202).end();
      } else res.writeHead(404).end();
    } catch (err) {
      res.writeHead(400).end(String(err));
    }
  });
});
await new Promise<void>((r) => admin.listen(Number(values['admin-port']), '127.0.0.1', r));
const adminPort = (admin.address() as { port: number }).port;
console.log(JSON.stringify({ url: front.url, admin: `http://127.0.0.1:${adminPort}` }));
const stop = () => {
  admin.close();
  void front.close().then(() => process.exit(0));
};
setTimeout(stop, Number(values.ttl) * 1000).unref();
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
