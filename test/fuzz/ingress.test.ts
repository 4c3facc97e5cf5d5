/**
 * Fuzzing the ingress's answers (issue "Hardening, round two"): random statuses, headers, bodies (control
 * characters, echoed secrets, JSON or not, any size up to past 1 MiB) and endings (complete, reset mid-body,
 * a body shorter than its Content-Length). In process, through the real shipper against a real local server,
 * every case must end — within its bound — as `sent` or `failed` with a one-line message holding no control
 * character and no secret; through the real CLI (`ship TARBALL --json`), a sample must exit 0 or 1 with a
 * one-line message and no secret.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { clearSecrets } from '../../src/secrets/index.js';
import { createShipper } from '../../src/ship/index.js';
import type { ShipInfo } from '../../src/types.js';
import { captureLogger, makeShipConfig } from '../helpers/ingress.js';
import { cleanEnv, cli, makeProject, requireBuild, type Project } from '../helpers/fault-cli.js';
import { jsonSource } from '../helpers/fault-collectors.js';

const SECRET = { username: 'fz-user-Q7', password: "fz pass!'()-Wq9" };
const BASIC = Buffer.from(`${SECRET.username}:${SECRET.password}`).toString('base64');
const needles = [SECRET.password, encodeURIComponent(SECRET.password), new URLSearchParams({ p: SECRET.password }).toString().slice(2), BASIC, SECRET.username];

interface Case {
  status: number;
  headers: [string, string][];
  body: Buffer;
  ending: 'complete' | 'reset' | 'short';
}

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/).filter((n) => !['content-length', 'transfer-encoding', 'connection'].includes(n.toLowerCase()));
const headerValue = fc.string({ maxLength: 40 }).map((v) => v.replace(/[^\t\x20-\x7e]/g, ''));
/** What a body may hold: noise, terminal escapes, the request echoed, JSON with or without a request id. */
const bodyPart = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.constantFrom('\u001b]0;title\u0007', '\u001b[2J', '\u001b]52;c;ZXZpbA==\u0007', '\u009b31m', '\r', '\u202e'),
  fc.constantFrom(`Authorization: Basic ${BASIC}`, `password=${encodeURIComponent(SECRET.password)}`, SECRET.password, `{"user":"${SECRET.username}"}`),
  fc.constantFrom('{"request_id":"r-1","upload":{}}', '{"request_id":', '<html>login</html>', '{}', 'null'),
);
const body = fc.oneof(
  { weight: 8, arbitrary: fc.array(bodyPart, { maxLength: 6 }).map((parts) => Buffer.from(parts.join(''), 'latin1')) },
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(1024 * 1024 + 4096, 0x61)) },
);
const caseArb: fc.Arbitrary<Case> = fc.record({
  status: fc.oneof(fc.constantFrom(200, 201, 202, 204, 301, 400, 401, 403, 404, 408, 413, 429, 500, 503), fc.integer({ min: 200, max: 599 })),
  headers: fc.array(fc.tuple(token, headerValue), { maxLength: 4 }),
  body,
  ending: fc.constantFrom('complete', 'reset', 'short'),
});

let current: Case | null = null;
let server: http.Server;
let url = '';
let dir: string;
let tarball: string;
const info: ShipInfo = { fileName: 'f-0.tar.gz', bytes: 512, members: [], since: null, until: new Date(0), shippingGroup: 'default' };

function answer(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  req.on('end', () => {
    const c = current;
    if (!c) return void res.socket?.destroy();
    const headers: Record<string, string> = {};
    for (const [name, value] of c.headers) headers[name] = value;
    const noBody = c.status === 204 || c.status === 304;
    try {
      if (c.ending === 'short' && !noBody) headers['content-length'] = String(c.body.length + 10);
      res.writeHead(c.status, headers);
    } catch {
      res.writeHead(c.status);
    }
    if (noBody) return void res.end();
    if (c.ending === 'complete') return void res.end(c.body);
    res.write(c.body, () => res.socket?.destroy());
  });
}

before(async () => {
  server = http.createServer(answer);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/ingress/v1/upload`;
  dir = await mkdtemp(join(tmpdir(), 'ac-fuzz-'));
  tarball = join(dir, 'f-0.tar.gz');
  await writeFile(tarball, Buffer.alloc(512, 1));
});
after(async () => {
  server.closeAllConnections();
  server.close();
  clearSecrets();
  await rm(dir, { recursive: true, force: true });
});

function assertSafe(text: string, where: string): void {
  assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(text), `${where}: a control character or a line break in ${JSON.stringify(text)}`);
  for (const needle of needles) assert.ok(!text.includes(needle), `${where}: a secret in ${JSON.stringify(text)}`);
}

describe('fuzzed ingress answers', () => {
  it('the shipper always ends with sent or failed, one safe line, within its bound', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        current = c;
        const { logger, lines } = captureLogger();
        const shipper = await createShipper({
          config: makeShipConfig({ url, auth: 'basic', ...SECRET, retries: 1, timeoutMs: 2000 }),
          version: '0.0.0',
          logger,
          env: {},
          sleep: async () => {},
        });
        const started = Date.now();
        const result = await shipper.send(tarball, info);
        assert.ok(Date.now() - started < 2 * 2000 + 1000, 'bounded by the attempts');
        assert.ok(result.status === 'sent' || result.status === 'failed');
        if (result.status === 'failed') assertSafe(result.error, 'error');
        // The shipper's own log lines are JSON: each message must be safe too.
        for (const line of lines) assertSafe((JSON.parse(line) as { msg: string }).msg, 'log');
      }),
      { numRuns: 150, interruptAfterTimeLimit: 30_000 },
    );
  });

  describe('through the real CLI', () => {
    let p: Project;
    before(async () => {
      requireBuild();
      p = await makeProject({ ship: { url, contentType: 'application/vnd.redhat.tower.tower_payload+tgz', auth: 'basic', retries: 0, timeoutMs: 2000 } });
    });
    after(() => p.cleanup());

    it('`ship TARBALL --json` exits 0 or 1 with a one-line message and no secret', async () => {
      // A real tarball, written by a dry run.
      await p.collector('a.mjs', jsonSource('alpha', { n: 1 }));
      const dry = await cli(['gather'], { cwd: p.dir, env: cleanEnv() });
      assert.equal(dry.code, 0, dry.stderr);
      const file = dry.stdout.trim().split('\n')[0]!;
      await fc.assert(
        fc.asyncProperty(caseArb, async (c) => {
          current = c;
          const result = await cli(['ship', file, '--json'], { cwd: p.dir, env: cleanEnv({ ANALYTICS_USERNAME: SECRET.username, ANALYTICS_PASSWORD: SECRET.password }) });
          assert.ok(result.code === 0 || result.code === 1, `exit ${result.code}: ${result.stderr}`);
          for (const needle of needles) assert.ok(!(result.stdout + result.stderr).includes(needle), `a secret: ${result.stderr}`);
          const doc = JSON.parse(result.stdout) as { tarballs: { shipped: boolean; error: string | null }[] };
          const error = doc.tarballs[0]?.error;
          if (result.code === 1) assertSafe(error ?? '', 'tarballs[0].error');
        }),
        { numRuns: 8, interruptAfterTimeLimit: 25_000 },
      );
    });
  });
});
