// lab-down.test.ts: starting and stopping the lab. A second, private lab (its
// own state directory and ports 17400+) starts from the cached binaries, runs
// a pod, and `npm run lab:down` then leaves nothing running: no recorded PID,
// no sandbox process, no process naming its directory, no open port. Prints
// the cached start time and the lab's resident memory. The shared lab is left
// untouched, and `lab.sh up` on it changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectl, labEnv, ROOT } from './lab.ts';
import { readPids, waitFor } from './lab-kube.ts';

/** BASE is the private lab's port base: its ports (BASE+1 ... BASE+81) stay clear of the shared lab's 16400-16481. */
const BASE = 17400;
/** LISTENING are the offsets lab.sh gives its components (docs/lab.md, lab.sh port()). */
const LISTENING = [1, 2, 10, 11, 12, 13, 14, 15, 43, 47, 50, 57, 59, 80, 81];

/** Proc identifies a process across PID reuse: its PID and start time (clock ticks since boot). */
interface Proc {
  pid: number;
  start: string;
  comm: string;
}

/** procOf reads /proc/PID/stat (proc(5)): the fields after the command name, or undefined when gone. */
function statOf(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function procOf(pid: number): Proc | undefined {
  const f = statOf(pid);
  if (!f) return undefined;
  const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  // After "pid (comm) ": state is field 3, ppid 4, starttime 22.
  return { pid, start: f[19] ?? '', comm };
}

/** stillRunning says whether p (same PID, same start time) exists and is not a zombie. */
function stillRunning(p: Proc): boolean {
  const f = statOf(p.pid);
  return f !== undefined && f[19] === p.start && f[0] !== 'Z';
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
}

/** descendants lists every process below root (children, their children, ...). */
function descendants(root: number): Proc[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const ppid = Number(statOf(pid)?.[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: Proc[] = [];
  const queue = [...(children.get(root) ?? [])];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    const p = procOf(pid);
    if (p) out.push(p);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** naming lists the processes whose command line contains text. */
function naming(text: string): string[] {
  const out: string[] = [];
  for (const pid of allPids()) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(text)) out.push(`${pid}: ${cmd.slice(0, 200)}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** rssKiB answers VmRSS of pid from /proc/PID/status, in KiB (0 when gone). */
function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** accepts says whether 127.0.0.1:port accepts a TCP connection (within 1 s). */
function accepts(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port, timeout: 1000 });
    const done = (ok: boolean) => {
      s.destroy();
      res(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.once('timeout', () => done(false));
  });
}

/** openPorts lists which of BASE+offsets accept connections. */
async function openPorts(offsets: number[]): Promise<number[]> {
  const open = await Promise.all(offsets.map((o) => accepts(BASE + o)));
  return offsets.filter((_, i) => open[i]).map((o) => BASE + o);
}

test('a private lab starts from the cache, and npm run lab:down leaves nothing running', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kbuild-lab-private-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KBUILD_LAB_DIR: dir,
    KBUILD_LAB_PORT_BASE: String(BASE),
  };
  delete env['KUBECONFIG'];
  const npm = (script: string) =>
    spawnSync('npm', ['run', '--silent', script], { cwd: ROOT, env, encoding: 'utf8' });
  const shared = readPids(join(ROOT, '.lab'));
  let down = false;
  try {
    assert.deepEqual(await openPorts(LISTENING), [], `ports of ${BASE}+ are free before the test`);
    const started = performance.now();
    const up = npm('lab:up');
    const upSeconds = (performance.now() - started) / 1000;
    assert.equal(up.status, 0, `lab:up failed:\n${up.stderr}`);
    t.diagnostic(`cached start (npm run lab:up, wall time): ${upSeconds.toFixed(1)} s`);
    const said = /the lab is up in (\d+)s/.exec(up.stderr);
    t.diagnostic(`lab.sh says: the lab is up in ${said?.[1] ?? '?'} s`);
    assert.doesNotMatch(
      up.stderr,
      /compiling|building kbuild-lab-runtime|apt-get source/,
      'nothing was built or fetched',
    );

    const status = npm('lab:status');
    assert.equal(status.status, 0, status.stdout + status.stderr);
    // The five pool nodes and the Autopilot stand-in's node (lab/config/autopilot.yaml).
    assert.equal(status.stdout.match(/\bReady\b/g)?.length, 6, status.stdout);
    const privateEnv = readFileSync(join(dir, 'env'), 'utf8');
    assert.match(privateEnv, new RegExp(`KBUILD_LAB_API_SERVER='https://127.0.0.1:${BASE + 43}'`));

    // A pod, so the runtime has a sandbox to stop.
    const kubectl = (...args: string[]) => {
      const r = spawnSync('kubectl', args, {
        encoding: 'utf8',
        env: {
          PATH: `${labEnv()['KBUILD_LAB_BIN']}:${process.env['PATH']}`,
          KUBECONFIG: join(dir, 'kubeconfig'),
        },
      });
      if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    kubectl(
      'run',
      'sleeper',
      '--image=debian:bookworm',
      '--restart=Never',
      '--command',
      '--',
      'sleep',
      '3600',
    );
    await waitFor('pod sleeper Running in the private lab', 60_000, () =>
      kubectl('get', 'pod', 'sleeper', '-o', 'jsonpath={.status.phase}') === 'Running'
        ? true
        : undefined,
    );

    const pids = readPids(dir);
    assert.deepEqual(Object.keys(pids).sort(), [
      'etcd',
      'google',
      'kube-apiserver',
      'kube-controller-manager',
      'kube-scheduler',
      'kueue',
      'kwok',
      'runtime',
    ]);
    const components = Object.values(pids).map((pid) => procOf(pid));
    assert.ok(
      components.every((p) => p !== undefined),
      'every recorded PID runs',
    );
    const sandbox = descendants(pids['runtime']!);
    assert.ok(
      sandbox.some((p) => p.comm === 'sleep'),
      `the pod's sleep runs below the runtime: ${sandbox.map((p) => p.comm).join(', ')}`,
    );
    const rss = Object.entries(pids).map(([name, pid]) => [name, rssKiB(pid)] as const);
    const total = rss.reduce((sum, [, kib]) => sum + kib, 0);
    const sandboxRss = sandbox.reduce((sum, p) => sum + rssKiB(p.pid), 0);
    t.diagnostic(
      `resident memory (sum of VmRSS of the lab's PIDs): ${(total / 1024).toFixed(0)} MiB`,
    );
    t.diagnostic(
      `  ${rss.map(([name, kib]) => `${name} ${(kib / 1024).toFixed(0)} MiB`).join(', ')}`,
    );
    t.diagnostic(`  plus the sandbox of one sleeping pod: ${(sandboxRss / 1024).toFixed(1)} MiB`);
    assert.deepEqual(
      await openPorts(LISTENING),
      LISTENING.map((o) => BASE + o),
      'every component listens',
    );

    const stop = npm('lab:down');
    down = true;
    assert.equal(stop.status, 0, stop.stderr);
    const left = [...components, ...sandbox].filter((p) => p && stillRunning(p));
    assert.deepEqual(left, [], 'no recorded or sandbox process runs');
    assert.deepEqual(naming(dir), [], `no process names ${dir}`);
    const all = Array.from({ length: 81 }, (_, i) => i + 1);
    assert.deepEqual(
      await openPorts(all),
      [],
      `no port of ${BASE + 1}-${BASE + 81} accepts connections`,
    );
    assert.deepEqual(readdirSync(join(dir, 'pids')), [], 'no PID files are left');
    assert.notEqual(npm('lab:status').status, 0, 'status says the private lab is down');

    // The shared lab did not notice.
    for (const [name, pid] of Object.entries(shared)) {
      assert.ok(procOf(pid), `the shared lab's ${name} (pid ${pid}) still runs`);
    }
  } finally {
    if (!down)
      spawnSync('bash', [join(ROOT, 'lab/scripts/lab.sh'), 'down'], { env, stdio: 'ignore' });
    await rm(dir, { recursive: true, force: true });
  }
});

test('lab.sh up on the running lab returns 0 and changes nothing', (t) => {
  const envFile = join(ROOT, '.lab', 'env');
  const before = {
    pids: readPids(join(ROOT, '.lab')),
    env: readFileSync(envFile, 'utf8'),
    envMtime: statSync(envFile).mtimeMs,
    nodes: kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.uid}{"\\n"}{end}']),
  };
  const env = { ...process.env };
  delete env['KBUILD_LAB_DIR'];
  delete env['KBUILD_LAB_PORT_BASE'];
  const started = performance.now();
  const r = spawnSync('bash', [join(ROOT, 'lab/scripts/lab.sh'), 'up'], { env, encoding: 'utf8' });
  t.diagnostic(`lab.sh up on the running lab took ${Math.round(performance.now() - started)} ms`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /the lab is already up/);
  assert.doesNotMatch(r.stderr, /starting|building|compiling/);
  assert.deepEqual(readPids(join(ROOT, '.lab')), before.pids);
  for (const pid of Object.values(before.pids)) assert.ok(procOf(pid), `pid ${pid} runs`);
  assert.equal(readFileSync(envFile, 'utf8'), before.env);
  assert.equal(statSync(envFile).mtimeMs, before.envMtime);
  assert.equal(
    kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.uid}{"\\n"}{end}']),
    before.nodes,
  );
});
