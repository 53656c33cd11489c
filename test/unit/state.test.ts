// state.test.ts: what the main step saves for the post step is read back, and anything
// malformed (a hand-edited or truncated state) is ignored rather than acted on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSavedBuild, parseSavedDispatch } from '../../src/action/state.ts';

test('parseSavedBuild: a saved build, defaults, and malformed values', () => {
  const cases: { name: string; input: string; want: ReturnType<typeof parseSavedBuild> }[] = [
    { name: 'absent', input: '', want: undefined },
    { name: 'not JSON', input: '{', want: undefined },
    { name: 'no job name', input: '{"namespace":"ci"}', want: undefined },
    {
      name: 'a Job',
      input: '{"namespace":"ci","jobName":"kb-zlib-amd64-1a2b3c4d","kind":"job","keep":false}',
      want: {
        namespace: 'ci',
        jobName: 'kb-zlib-amd64-1a2b3c4d',
        kind: 'job',
        keep: false,
        watch: true,
      },
    },
    {
      name: 'a Pod, watch false',
      input: '{"namespace":"ci","jobName":"kb-x","kind":"pod","keep":true,"watch":false}',
      want: { namespace: 'ci', jobName: 'kb-x', kind: 'pod', keep: true, watch: false },
    },
  ];
  for (const c of cases) assert.deepEqual(parseSavedBuild(c.input), c.want, c.name);
});

test('parseSavedDispatch: a saved dispatch, and malformed values', () => {
  const id = 'f0ecde56f7a8a82f508c1a9aa2589a98';
  const cases: { name: string; input: string; want: ReturnType<typeof parseSavedDispatch> }[] = [
    { name: 'absent', input: '', want: undefined },
    { name: 'not JSON', input: 'x', want: undefined },
    { name: 'no url', input: JSON.stringify({ id }), want: undefined },
    {
      name: 'an id that is not hex (never put in a path)',
      input: JSON.stringify({ url: 'https://d.example', id: '../../x' }),
      want: undefined,
    },
    {
      name: 'a dispatch',
      input: JSON.stringify({ url: 'https://d.example', id }),
      want: { url: 'https://d.example', id },
    },
  ];
  for (const c of cases) assert.deepEqual(parseSavedDispatch(c.input), c.want, c.name);
});
