import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, isLogLevel } from '../../src/log.js';
import { clearSecrets, registerSecret } from '../../src/secrets/index.js';

/** A destination keeping every chunk written to it, synchronously. */
function capture(): { stream: Writable; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

const SECRET = 's3cr3t-"quoted"\\value';
const TOKEN = 'tok_0123456789';

/** The process's registry holds these while a test runs. */
function plant(t: { after(fn: () => void): void }, ...secrets: string[]): void {
  for (const secret of secrets) registerSecret(secret);
  t.after(clearSecrets);
}

describe('createLogger (JSON)', () => {
  it('writes one JSON object per line, at or above the level', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination: out.stream });
    logger.debug('hidden');
    logger.info({ key: 'jobs' }, 'collected');
    logger.warn('careful');
    const records = out.lines().map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      records.map((r) => [r.level, r.msg, r.key]),
      [
        [30, 'collected', 'jobs'],
        [40, 'careful', undefined],
      ],
    );
  });

  it('writes nothing when silent', () => {
    const out = capture();
    createLogger({ level: 'silent', pretty: false, destination: out.stream }).fatal('nothing');
    assert.deepEqual(out.lines(), []);
  });

  it('masks secret fields by name and literal secret values anywhere in a line', (t) => {
    plant(t, SECRET, TOKEN, 'abc');
    const out = capture();
    const logger = createLogger({ level: 'trace', pretty: false, destination: out.stream });
    logger.info({ ship: { password: 'pw-by-field', url: 'https://x' }, headers: { authorization: 'Basic Zm9vOmJhcg==' } }, 'sending');
    logger.info({ note: `value ${SECRET} inside` }, `token is ${TOKEN}`);
    logger.error(new Error(`upload failed with ${TOKEN}`), 'failed');
    logger.info({ encoded: encodeURIComponent(SECRET), b64: Buffer.from(TOKEN).toString('base64') }, 'forms');
    logger.info('abc is too short to be masked');
    const text = out.lines().join('\n');
    for (const leak of ['pw-by-field', 'Zm9vOmJhcg', TOKEN, 's3cr3t', encodeURIComponent(SECRET), Buffer.from(TOKEN).toString('base64')]) {
      assert.ok(!text.includes(leak), `${leak} leaked:\n${text}`);
    }
    const records = out.lines().map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(records[0]?.ship, { password: '***', url: 'https://x' });
    assert.equal(records[1]?.note, 'value *** inside');
    assert.equal(records[1]?.msg, 'token is ***');
    assert.equal(records[4]?.msg, 'abc is too short to be masked');
  });

  it('writes to a file descriptor synchronously', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ac-log-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'log.ndjson');
    plant(t, TOKEN);
    const fd = openSync(file, 'w');
    try {
      createLogger({ level: 'info', pretty: false, destination: fd }).info(`fd ${TOKEN}`);
      // No flush, no await: the line is on disk when info() returns.
      assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { msg: string }).msg, 'fd ***');
    } finally {
      closeSync(fd);
    }
  });
});

describe('createLogger (pretty)', () => {
  it('writes one readable line per event, in this thread, without colours when asked', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: true, colorize: false, destination: out.stream });
    logger.info({ key: 'jobs' }, 'collected');
    logger.error(new Error('boom'), 'collector failed');
    // Written before the calls returned: no worker thread, no async transport.
    const lines = out.lines();
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: collected \{"key":"jobs"\}$/);
    assert.match(lines[1]!, /^\[\d\d:\d\d:\d\d\.\d{3}\] ERROR: collector failed \{"err":\{"type":"Error","message":"boom"\}\}$/);
    assert.ok(!lines.join('').includes('\u001b['), 'no ANSI escapes');
  });

  it('shows error stacks at debug level', () => {
    const out = capture();
    createLogger({ level: 'debug', pretty: true, colorize: false, destination: out.stream }).error(new Error('boom'), 'failed');
    assert.match(out.lines()[0]!, /"stack":"Error: boom\\n/);
  });

  it('masks secrets in readable lines too', (t) => {
    plant(t, SECRET, TOKEN);
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: true, colorize: true, destination: out.stream });
    logger.info({ ship: { token: 'field-token-value' }, detail: SECRET }, `using ${TOKEN} and ${SECRET}`);
    const text = out.lines().join('\n');
    assert.ok(text.includes('\u001b['), 'colours when asked');
    for (const leak of ['field-token-value', TOKEN, 's3cr3t']) assert.ok(!text.includes(leak), `${leak} leaked:\n${text}`);
    assert.match(text, /using \*\*\* and \*\*\*/);
  });

  it('honours NO_COLOR by default', (t) => {
    const previous = process.env.NO_COLOR;
    t.after(() => {
      if (previous === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = previous;
    });
    process.env.NO_COLOR = '1';
    const out = capture();
    createLogger({ level: 'info', pretty: true, destination: out.stream }).info('plain');
    assert.ok(!out.lines()[0]!.includes('\u001b['));
  });
});

describe('log helpers', () => {
  it('recognises log levels', () => {
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) assert.ok(isLogLevel(level));
    assert.ok(!isLogLevel('verbose'));
  });
});
