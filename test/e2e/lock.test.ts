import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { workspace } from '../helpers/gather.js';
import { cleanEnv, runCli, whenEntryAppears } from '../helpers/fault-cli.js';

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

  const run = (args: string[]) => runCli(args, { cwd: ws.dir, env: cleanEnv({ CI: 'true' }) });
  // The first run's collector marks that it started (the run holds the lock by then): a file-system event.
  const started = whenEntryAppears(ws.dir, (name) => name === 'ready');
  const first = run(['gather']);
  await started.appeared;
  const second = run(['gather']);
  const refused = await second.exit;
  assert.equal(refused.code, 3);
  const message = refused.stderr;
  assert.match(message, new RegExp(`pid ${first.child.pid}`));
  assert.match(message, new RegExp(hostname()));
  assert.equal(refused.stdout, '');

  await writeFile(go, '');
  const done = await first.exit;
  assert.equal(done.code, 0, done.stderr);
  assert.equal(existsSync(join(ws.dir, 'state', 'state.json.lock')), false, 'lock released');
  const third = run(['gather']);
  await writeFile(go, '');
  assert.equal((await third.exit).code, 0);
});
