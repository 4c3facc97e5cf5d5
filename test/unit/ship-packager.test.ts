import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../src/errors.js';
import { loadPackager, packagerShipper } from '../../src/packager.js';
import { createShipper } from '../../src/ship/index.js';
import { clearSecrets, registerSecret } from '../../src/secrets/index.js';
import { captureLogger, makeShipConfig } from '../helpers/ingress.js';
import type { ShipInfo } from '../../src/types.js';

let dir: string;
let counter = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ac-packager-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Writes a packager module and returns its path. */
async function module(source: string, ext = 'mjs'): Promise<string> {
  const path = join(dir, `packager-${++counter}.${ext}`);
  await writeFile(path, source);
  return path;
}

async function usageErrorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, 'USAGE');
    return err.message;
  }
  assert.fail('expected a usage error');
}

const info: ShipInfo = { fileName: 'x-0.tar.gz', bytes: 3, members: [], since: null, until: new Date(0), shippingGroup: 'default' };

describe('loadPackager', () => {
  it('loads every member, sync or async, and resolves values once', async () => {
    const path = await module(`
      export default {
        tarballBase: ({ until, shippingGroup }) => 'prod-' + shippingGroup + '-' + until.getUTCFullYear(),
        maxDataSize: async () => 1000,
        contentType: 'application/vnd.redhat.prod.data+tgz',
        headers: async () => ({ 'X-Product': 'prod' }),
        isLicenseValid: () => true,
        async isShippingConfigured() { return false; },
        ship: async (path, info) => ({ ok: true, requestId: 'r-' + info.fileName }),
      };`);
    const p = await loadPackager(path);
    assert.equal(p.file, path);
    assert.equal(p.maxDataSize, 1000);
    assert.equal(p.contentType, 'application/vnd.redhat.prod.data+tgz');
    assert.equal(await p.tarballBase!({ since: null, until: new Date(Date.UTC(2026, 0, 1)), shippingGroup: 'g' }), 'prod-g-2026');
    assert.deepEqual(await p.headers!(), { 'X-Product': 'prod' });
    assert.equal(await p.isLicenseValid!(), true);
    assert.equal(await p.isShippingConfigured!(), false);
    assert.deepEqual(await packagerShipper(p).send('/tmp/x-0.tar.gz', info), { status: 'sent', requestId: 'r-x-0.tar.gz' });
  });

  it('loads TypeScript packagers and an empty one', async () => {
    const p = await loadPackager(await module(`const size: number = 42;\nexport default { maxDataSize: size };`, 'ts'));
    assert.equal(p.maxDataSize, 42);
    const empty = await loadPackager(await module('export default {};'));
    assert.deepEqual(Object.keys(empty), ['file']);
  });

  it('rejects bad shapes, naming the file and the member', async () => {
    const cases: [string, RegExp][] = [
      ['export const x = 1;', /no default export/],
      ['export default 42;', /default export is 42/],
      ['export default { isLicenceValid: () => true };', /unknown member "isLicenceValid"/],
      ['export default { ship: "s3" };', /ship is "s3"; it must be a function/],
      ['export default { maxDataSize: -1 };', /maxDataSize is -1; it must be an integer > 0/],
      ['export default { maxDataSize: () => "big" };', /maxDataSize is "big"/],
      ['export default { contentType: "" };', /contentType is ""; it must be a non-empty string/],
      ['export default {', /cannot load it/],
    ];
    for (const [source, pattern] of cases) {
      const path = await module(source);
      const message = await usageErrorOf(loadPackager(path));
      assert.match(message, pattern, source);
      assert.ok(message.includes(path), message);
    }
    assert.match(await usageErrorOf(loadPackager(join(dir, 'missing.mjs'))), /cannot load it/);
  });

  it('checks what functions return', async () => {
    const p = await loadPackager(
      await module(`export default {
        tarballBase: () => '../escape',
        headers: () => ({ a: 1 }),
        isLicenseValid: () => 'yes',
        isShippingConfigured: () => { throw new Error('license server down'); },
      };`),
    );
    assert.match(await usageErrorOf(p.tarballBase!({ since: null, until: new Date(), shippingGroup: 'default' })), /tarballBase\(\) returned "\.\.\/escape"/);
    assert.match(await usageErrorOf(p.headers!()), /headers\(\) returned an object; return an object of strings/);
    assert.match(await usageErrorOf(p.isLicenseValid!()), /isLicenseValid\(\) returned "yes"; return true or false/);
    await assert.rejects(p.isShippingConfigured!(), (err: unknown) => err instanceof AppError && err.code === 'FAILED' && /license server down/.test(err.message));
  });
});

describe('packagerShipper', () => {
  it('maps answers, throws and malformed answers to the Shipper union, masking secrets', async (t) => {
    const p = await loadPackager(
      await module(`let n = 0;
        const answers = [
          { ok: false, error: 'bucket busy', retryable: true },
          { ok: false, error: 'denied for key AKIA-SECRET-1' },
          { ok: true },
          { yes: 1 },
          undefined,
        ];
        export default { ship: async () => { const i = n++; if (i < answers.length) return answers[i]; throw new Error('disk full'); } };`),
    );
    registerSecret('AKIA-SECRET-1');
    t.after(clearSecrets);
    const shipper = packagerShipper(p);
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await shipper.send('/tmp/x-0.tar.gz', info));
    assert.deepEqual(results.map((r) => r.status), ['retryable', 'failed', 'sent', 'failed', 'failed', 'failed']);
    const errors = results.map((r) => ('error' in r ? r.error : ''));
    assert.match(errors[0]!, /bucket busy/);
    assert.equal(errors[1], 'upload of x-0.tar.gz failed: denied for key ***');
    assert.match(errors[3]!, /ship\(\) returned an object; return \{ ok: true/);
    assert.match(errors[4]!, /ship\(\) returned undefined/);
    assert.match(errors[5]!, /ship\(\) failed: disk full/);
  });
});

describe('createShipper with a packager transport', () => {
  it('retries its retryable failures by the same rule and skips the upload guard', async () => {
    const p = await loadPackager(
      await module(`let n = 0; export default { ship: async (path, info) => (++n < 3 ? { ok: false, error: 'busy', retryable: true } : { ok: true, requestId: 'bucket-' + n }) };`),
    );
    const waits: number[] = [];
    const shipper = await createShipper({
      config: makeShipConfig({ retries: 3, uploadLimit: 1 }),
      packager: p,
      version: '0.1.0',
      logger: captureLogger().logger,
      sleep: async (ms) => void waits.push(ms),
      random: () => 0.5,
    });
    assert.deepEqual(await shipper.send('/tmp/x-0.tar.gz', info), { status: 'sent', requestId: 'bucket-3' });
    assert.deepEqual(waits, [500, 1000]);
  });
});
