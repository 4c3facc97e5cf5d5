import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unpack, workspace } from '../helpers/gather.js';

const BIN = fileURLToPath(new URL('../../bin/analytics-collect', import.meta.url));

test('the CLI loads TypeScript collectors and their helpers anywhere on disk, with no build and no install', async (t) => {
  const ws = await workspace();
  t.after(() => ws.cleanup());
  // A CommonJS package around the collectors must not matter; helpers are found the TypeScript way.
  await writeFile(join(ws.collectors, 'package.json'), JSON.stringify({ type: 'commonjs' }));
  await mkdir(join(ws.collectors, 'lib'));
  await writeFile(join(ws.collectors, 'lib', 'index.ts'), `export enum Unit { Bytes = 'bytes' }\nexport const double = (n: number): number => n * 2;\n`);
  await ws.write('_shared.mts', `export { double, Unit } from './lib';\n`);
  await ws.write(
    'a.ts',
    `import { register } from 'analytics-collect';
import { double, Unit } from './_shared.mjs';
export const config = register({ key: 'config', version: '1.0', config: true }, async () => ({ p: 1 }));
export const doubled = register({ key: 'doubled', version: '2.0' }, async (): Promise<{ n: number; unit: Unit }> => ({ n: double(21), unit: Unit.Bytes }));\n`,
  );
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'gather', '--collectors', ws.collectors, '--output', ws.output], {
    cwd: ws.dir,
    env: { ...process.env, CI: 'true' },
  });
  const [path] = stdout.trim().split('\n');
  const { files } = await unpack(path!);
  assert.deepEqual(JSON.parse(files['doubled.json']!.toString()), { n: 42, unit: 'bytes' });
});
