// context-path.test.ts: input "context" must stay inside the workspace (build/context.ts
// checkInside): `../../../` would otherwise stage the runner's whole filesystem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkInside, listContext } from '../../src/core/build/context.ts';
import { InputError } from '../../src/core/base/errors.ts';

test('checkInside: the workspace and its subdirectories pass; paths leaving it name input "context"', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kbuild-ctx-'));
  const ws = join(root, 'ws');
  mkdirSync(join(ws, 'src', 'pkg'), { recursive: true });
  mkdirSync(join(root, 'other'));
  symlinkSync(join(root, 'other'), join(ws, 'link-out'));
  try {
    const cases: { dir: string; ok: boolean }[] = [
      { dir: ws, ok: true },
      { dir: join(ws, 'src', 'pkg'), ok: true },
      { dir: join(ws, 'src', '..'), ok: true },
      { dir: join(ws, '..'), ok: false },
      { dir: join(ws, '../../../'), ok: false },
      { dir: join(root, 'other'), ok: false },
      { dir: join(ws, 'link-out'), ok: false },
    ];
    for (const c of cases) {
      if (c.ok) await checkInside(c.dir, ws);
      else
        await assert.rejects(
          checkInside(c.dir, ws),
          (e: unknown) =>
            e instanceof InputError &&
            e.input === 'context' &&
            /outside the workspace .* for input "context": give a directory inside the workspace/.test(
              e.message,
            ),
          c.dir,
        );
    }
    // listContext checks it before listing anything.
    await assert.rejects(listContext(join(ws, '../../../'), ws), /for input "context"/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
