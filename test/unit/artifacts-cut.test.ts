// artifacts-cut.test.ts: the runner path's copy of the artifacts (tar over exec, build/artifacts.ts)
// when the exec's stdout ends before the archive does while tar in the pod exits 0: the session
// counts as cut (a transient failure) and the copy starts again, instead of failing the build with
// tar-stream's "Unexpected end of data".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tar from 'tar-stream';
import { collectArtifacts } from '../../src/core/build/artifacts.ts';
import { kubeTransient, type ExecRequest, type KubeApi } from '../../src/core/kube/api.ts';

/** archive answers the bytes of a tar with the given files. */
async function archive(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, text] of Object.entries(files)) pack.entry({ name: `./${name}` }, text);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** fakeKube: exec answers `outputs` in turn for tar (each write ends the stream), exit 0 for touch. */
function fakeKube(outputs: Buffer[]): { kube: KubeApi; execs: string[] } {
  const execs: string[] = [];
  const kube = {
    exec: async (req: ExecRequest) => {
      execs.push(req.command[0] ?? '');
      if (req.command[0] === 'tar') {
        // The stream ends with whatever arrived; tar in the pod reports success all the same.
        (req.stdout as NodeJS.WritableStream).end(outputs.shift() ?? Buffer.alloc(0));
        await new Promise((r) => setImmediate(r));
      }
      return { exitCode: 0, message: '' };
    },
    retrying: async <T>(_what: string, fn: () => Promise<T>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn();
        } catch (err) {
          if (attempt >= 3 || !kubeTransient(err)) throw err;
        }
      }
    },
  } as unknown as KubeApi;
  return { kube, execs };
}

/** collect runs collectArtifacts on pod p's packages/ without a store (hashes only). */
const collect = (kube: KubeApi) =>
  collectArtifacts({
    kube,
    namespace: 'kbuild',
    pod: 'p',
    artifactsPath: 'packages',
    prefix: 'x',
    signal: new AbortController().signal,
  });

test('a tar stream cut on the way is copied again from the beginning', async () => {
  const whole = await archive({ 'a.txt': 'alpha\n', 'sub/b.txt': 'beta\n' });
  const { kube, execs } = fakeKube([whole.subarray(0, 700), whole]);
  const res = await collect(kube);
  assert.deepEqual(res.artifacts.map((a) => [a.name, a.size]).sort(), [
    ['a.txt', 6],
    ['sub/b.txt', 5],
  ]);
  assert.deepEqual(execs, ['tar', 'tar', 'touch']);
});

test('a stream cut every time fails after the retries, naming the cut', async () => {
  const whole = await archive({ 'a.txt': 'alpha\n' });
  const cut = whole.subarray(0, 100);
  const { kube } = fakeKube([cut, cut, cut]);
  await assert.rejects(
    collect(kube),
    /the tar stream of \/workspace\/packages from pod p ended before the archive did/,
  );
});
