// fanout-server.ts: the dispatcher in a process of its own, on 127.0.0.1:$PORT, for
// bench/fanout.ts (which measures its cold start and peak RSS). Stopped by SIGTERM.
//
//   node bench/fanout-server.ts lab      lab/dispatcher.ts's startLabDispatcher (the
//                                        source, run with type stripping); reads
//                                        KBUILD_NAMESPACE, KBUILD_POLICY and KBUILD_CONCURRENCY,
//                                        and KBUILD_BENCH_GKE=1 for the GKE stand-in through ADC
//   node bench/fanout-server.ts bundle   build/dispatcher/index.js as deployed (its configuration
//                                        from the environment, docs/dispatcher.md), served by the
//                                        Functions Framework's own server as `functions-framework
//                                        --target=dispatcher` would, but bound to 127.0.0.1
// Each form loads only its own code (imports inside the branches), so neither pays for the other.
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const form = process.argv[2];
const port = Number(process.env['PORT'] ?? 0);
let close: () => Promise<void>;

if (form === 'lab') {
  const env: Record<string, string> = {};
  for (const name of ['KBUILD_NAMESPACE', 'KBUILD_POLICY', 'KBUILD_CONCURRENCY']) {
    const v = process.env[name];
    if (v) env[name] = v;
  }
  const { startLabDispatcher } = await import('../lab/dispatcher.ts');
  const server = await startLabDispatcher({
    port,
    gke: process.env['KBUILD_BENCH_GKE'] === '1',
    env,
  });
  close = server.close;
} else if (form === 'bundle') {
  await import(pathToFileURL(resolve(import.meta.dirname, '../build/dispatcher/index.js')).href);
  const { getTestServer } = await import('@google-cloud/functions-framework/testing');
  const server: Server = getTestServer('dispatcher');
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', done);
  });
  close = () =>
    new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    });
} else {
  throw new Error(`usage: node bench/fanout-server.ts lab|bundle (got ${JSON.stringify(form)})`);
}

const stop = () => void close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
