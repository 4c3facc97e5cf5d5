import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostname } from 'node:os';
import { workspace } from '../helpers/gather.js';

const BIN = fileURLToPath(new URL('../../bin/analytics-collect', import.meta.url));

function run(args: string[], cwd: string): { child: ChildProcess; stdout: Promise<string>; stderr: Promise<string>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (s: NodeJS.ReadableStream) => new Promise<string>((done) => { let t = ''; s.on('data', (c) => (t += c)); s.on('end', () => done(t)); });
  return { child, stdout: collect(child.stdout!), stderr: collect(child.stderr!), exit: once(child, 'exit').then(([code]) => code as number | null) };
}

test('a second gather exits 3 naming the holder while the first holds the lock; the lock is released after', async (t) => {
  const ws = await workspace();
  t.after(() => ws.cleanup());
  const ready = join(ws.dir, 'ready');
  const go = join(ws.dir, 'go');
  await ws.write(
    'm.ts',
    `import { register } from 'analytics-collect';
import { existsSync, writeFileSync, watch } from 'node:fs';
export const config = register({ key: 'config', version: '1', config: true }, async () => ({}));
export const slow = register({ key: 'slow', version: '1' }, async () => {
  writeFileSync(${JSON.stringify(ready)}, '');
  await new Promise<void>((done) => { const w = watch(${JSON.stringify(ws.dir)}, () => { if (existsSync(${JSON.stringify(go)})) { w.close(); done(); } }); if (existsSync(${JSON.stringify(go)})) { w.close(); done(); } });
  return { ok: true };
});\n`,
  );
  await writeFile(join(ws.dir, 'analytics.config.json'), JSON.stringify({ collectors: './collectors', output: './out', stateFile: './state/state.json' }));
  await writeFile(join(ws.dir, 'package.json'), '{}');

  const first = run(['gather'], ws.dir);
  // Wait for the first run's collector to start (it holds the lock by then) without sleeping.
  await new Promise<void>((done) => {
    const check = setInterval(() => { if (existsSync(ready)) { clearInterval(check); done(); } }, 20);
  });
  const second = run(['gather'], ws.dir);
  assert.equal(await second.exit, 3);
  const message = await second.stderr;
  assert.match(message, new RegExp(`pid ${first.child.pid}`));
  assert.match(message, new RegExp(hostname()));
  assert.equal(await second.stdout, '');

  await writeFile(go, '');
  assert.equal(await first.exit, 0, await first.stderr);
  assert.equal(existsSync(join(ws.dir, 'state', 'state.json.lock')), false, 'lock released');
  const third = run(['gather'], ws.dir);
  await writeFile(go, '');
  assert.equal(await third.exit, 0);
});
