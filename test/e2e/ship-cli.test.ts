import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startIngress } from '../helpers/ingress.js';
import { workspace, type Workspace } from '../helpers/gather.js';
import { cleanEnv, runCli } from '../helpers/fault-cli.js';

/** Runs the built CLI to its end in `cwd`, with a clean environment plus `env`. */
const cli = (args: string[], cwd: string, env: Record<string, string> = {}) => runCli(args, { cwd, env: cleanEnv({ CI: 'true', ...env }) }).exit;

async function project(t: { after(fn: () => Promise<void>): void }, config: object): Promise<Workspace> {
  const ws = await workspace();
  t.after(() => ws.cleanup());
  await ws.write(
    'm.ts',
    `import { register } from 'analytics-collect';
import { writeFileSync } from 'node:fs';
export const config = register({ key: 'config', version: '1', config: true }, async () => ({ product: 'p' }));
export const hosts = register({ key: 'hosts', version: '1' }, async () => { writeFileSync(${JSON.stringify(join(ws.dir, 'ran'))}, ''); return { n: 1 }; });\n`,
  );
  await writeFile(join(ws.dir, 'package.json'), '{}');
  await writeFile(join(ws.dir, 'analytics.config.json'), JSON.stringify({ collectors: './collectors', output: './out', stateFile: './state.json', ...config }));
  return ws;
}

test('gather --ship uploads, prints JSON with request ids, advances the state; `state` shows it', async (t) => {
  const ingress = await startIngress({ auth: { mode: 'identity', identity: 'eyJpZGVudGl0eSI6e319' } });
  t.after(() => ingress.close());
  const ws = await project(t, { ship: { url: ingress.url, contentType: 'application/vnd.redhat.tower.tower_payload+tgz', auth: 'identity' } });
  const result = await cli(['gather', '--ship', '--json'], ws.dir, { ANALYTICS_IDENTITY: 'eyJpZGVudGl0eSI6e319' });
  assert.equal(result.code, 0, result.stderr);
  const doc = JSON.parse(result.stdout);
  assert.equal(doc.mode, 'ship');
  assert.equal(doc.tarballs.length, 1);
  assert.equal(doc.tarballs[0].shipped, true);
  assert.equal(typeof doc.tarballs[0].requestId, 'string');
  assert.deepEqual(Object.keys(doc.tarballs[0]).sort(), ['bytes', 'disposition', 'error', 'members', 'path', 'requestId', 'shipped']);
  assert.deepEqual(Object.keys(doc.collections[0]).sort(), ['error', 'key', 'redaction', 'since', 'status', 'tarballs', 'until']);
  assert.equal(ingress.requests[0]!.headers['x-rh-identity'], 'eyJpZGVudGl0eSI6e319');
  assert.ok(!result.stderr.includes('eyJpZGVudGl0eSI6e319'), 'the identity never reaches the logs');
  const state = JSON.parse(await readFile(join(ws.dir, 'state.json'), 'utf8'));
  assert.equal(state.entries.hosts, doc.until);
  assert.equal(state.lastGather, doc.until);
  const shown = await cli(['state', '--json'], ws.dir);
  assert.equal(JSON.parse(shown.stdout).entries.hosts, doc.until);
});

test('gather --ship without a usable destination exits 4 before any collector runs', async (t) => {
  const ws = await project(t, {});
  const result = await cli(['gather', '--ship'], ws.dir);
  assert.equal(result.code, 4);
  assert.match(result.stderr, /shipping is not configured/);
  assert.deepEqual((await readdir(ws.dir)).includes('ran'), false);
});

test('a packager saying the license is invalid exits 4; its ship() replaces HTTP; `ship` never deletes', async (t) => {
  const ws = await project(t, { packager: './packager.ts' });
  const dropped = join(ws.dir, 'dropped');
  await mkdir(dropped);
  await writeFile(
    join(ws.dir, 'packager.ts'),
    `import { copyFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
export default {
  tarballBase: ({ until }: { until: Date }) => 'acme-' + until.toISOString().slice(0, 10),
  isLicenseValid: () => process.env.LICENSE !== 'expired',
  isShippingConfigured: () => true,
  ship: async (path: string) => { await copyFile(path, join(${JSON.stringify(dropped)}, basename(path))); return { ok: true, requestId: 'copied' }; },
};\n`,
  );
  const expired = await cli(['gather'], ws.dir, { LICENSE: 'expired' });
  assert.equal(expired.code, 4);
  assert.match(expired.stderr, /license is not valid/);

  const shipped = await cli(['gather', '--ship', '--keep'], ws.dir);
  assert.equal(shipped.code, 0, shipped.stderr);
  const [name] = await readdir(dropped);
  assert.match(name!, /^acme-\d{4}-\d\d-\d\d-0\.tar\.gz$/);

  const tarball = join(ws.dir, 'out', name!);
  const again = await cli(['ship', tarball, '--json'], ws.dir);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).tarballs[0].requestId, 'copied');
  assert.ok((await readdir(join(ws.dir, 'out'))).includes(name!), '`ship` never deletes');

  await writeFile(join(ws.dir, 'junk.tar.gz'), 'not a tarball');
  const junk = await cli(['ship', join(ws.dir, 'junk.tar.gz')], ws.dir);
  assert.equal(junk.code, 2);
  assert.match(junk.stderr, /junk\.tar\.gz/);
  const inspect = await cli(['inspect', join(ws.dir, 'junk.tar.gz')], ws.dir);
  assert.equal(inspect.code, 2);
});
