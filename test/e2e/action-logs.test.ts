// action-logs.test.ts: dropped log connections (docs/design.md, "One build", step 7). A
// build prints 200,000 lines (about 50 MB) while a TCP proxy between the
// action and the lab's API server cuts every open connection, again and
// again; the step's output still holds every line exactly once, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStep } from './action.ts';
import { kubectl, labEnv } from './lab.ts';
import { buildOutput, kubeconfigVia } from './step-log.ts';

const LINES = 200_000;
/** Cut every open connection each time the step has printed this many more build lines. */
const CUT_EVERY = 25_000;
const PAD = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(7).slice(0, 240);

/** CuttingProxy forwards TCP to `target` (TLS passes through) and can destroy every open connection. */
interface CuttingProxy {
  url: string;
  /** cut destroys every open connection; answers how many there were. */
  cut(): number;
  close(): Promise<void>;
}

async function startProxy(target: { host: string; port: number }): Promise<CuttingProxy> {
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    open.add(client);
    const forget = () => {
      open.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', forget).on('close', forget);
    upstream.on('error', forget).on('close', forget);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    cut() {
      const n = open.size;
      for (const s of [...open]) s.destroy();
      return n;
    },
    close() {
      for (const s of [...open]) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('dropped log connections: 200,000 lines arrive once and in order while the API connection is cut', async (t) => {
  const api = new URL(labEnv()['KBUILD_LAB_API_SERVER']!);
  const proxy = await startProxy({ host: api.hostname, port: Number(api.port) });
  const dir = mkdtempSync(join(tmpdir(), 'kbuild-logs-'));
  let seen = 0;
  let nextCut = CUT_EVERY;
  let tail = '';
  const cuts: number[] = [];
  try {
    const run = await runStep({
      inputs: {
        kubeconfig: kubeconfigVia(proxy.url, dir),
        image: 'debian:bookworm',
        name: 'logs',
        command: `awk 'BEGIN{for(i=1;i<=${LINES};i++) printf "line %06d %s\\n", i, "${PAD}"}'`,
        package_target: '',
      },
      // Count build lines as they arrive; cut at each mark, until the last line is out.
      onStdout: (chunk) => {
        const text = tail + chunk;
        const lines = text.split('\n');
        tail = lines.pop() ?? '';
        for (const l of lines) if (/^line \d{6} /.test(l)) seen++;
        while (seen >= nextCut && nextCut < LINES) {
          cuts.push(proxy.cut());
          nextCut += CUT_EVERY;
        }
      },
    });
    const { build, other } = buildOutput(run.stdout);
    const diag = `\n${other.slice(-40).join('\n')}\n${run.stderr.slice(-2000)}`;
    assert.equal(run.code, 0, `step failed:${diag}`);
    assert.equal(run.outputs['status'], 'succeeded');
    assert.equal(build.length, LINES, `build lines in the step log${diag}`);
    build.forEach((line, i) => {
      const want = `line ${String(i + 1).padStart(6, '0')} ${PAD}`;
      if (line !== want)
        assert.fail(
          `build line ${i + 1}: got ${JSON.stringify(line.slice(0, 80))}, want ${JSON.stringify(want.slice(0, 80))}`,
        );
    });
    assert.deepEqual(
      other.filter((l) => /^line \d{6} /.test(l)),
      [],
      'no build line outside the build output',
    );

    const notes = other.filter((l) => l.includes('(log stream reconnected'));
    const cutsWithLog = cuts.filter((n) => n > 0).length;
    t.diagnostic(
      `connections open at each cut: ${cuts.join(', ')}; reconnect notes: ${notes.length}`,
    );
    assert.ok(
      cutsWithLog >= 3,
      `connections were cut ${cutsWithLog} times (open connections per cut: ${cuts.join(', ')})`,
    );
    assert.ok(
      notes.length >= 3,
      `reconnect notes: ${notes.length}, cuts: ${cuts.join(', ')}${diag}`,
    );
    assert.equal(
      kubectl([
        'get',
        'jobs',
        '-l',
        `kbuild.dev/build-id=${run.outputs['build_id']}`,
        '-o',
        'name',
      ]).trim(),
      '',
      'the Job was deleted',
    );
  } finally {
    await proxy.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
