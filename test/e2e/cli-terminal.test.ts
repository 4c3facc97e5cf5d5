/**
 * What a person at a terminal sees, under a real pseudo-terminal (`script` from util-linux): a progress line
 * redrawn in place and erased before the summary, readable log lines, colours — and none of that when stderr is
 * a pipe, nor progress when CI is set, nor colours with NO_COLOR.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(REPO, 'bin', 'analytics-collect');
const CLEAR_LINE = '\r\u001b[2K';
const ESC = '\u001b[';
const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;

const COLLECTORS: Record<string, string> = {
  'config.ts': `import { register } from 'analytics-collect';
export const config = register({ key: 'config', version: '1.0', config: true }, async () => ({ product: 'tty-test' }));
`,
  'host.ts': `import { register } from 'analytics-collect';
export const host = register({ key: 'host', version: '1.0' }, async (ctx) => {
  ctx.logger.info('hello from a collector');
  return { ok: true };
});
`,
  'events.ts': `import { join } from 'node:path';
import { CsvFileSplitter, register } from 'analytics-collect';
const DAY = 86_400_000;
function* days({ until }: { until: Date }) {
  const end = Math.floor(until.getTime() / DAY) * DAY;
  for (let d = 3; d > 0; d--) yield [new Date(end - d * DAY), new Date(end - (d - 1) * DAY)] as [Date, Date];
}
export const events = register({ key: 'events', version: '1.0', format: 'csv', slicing: days }, async (ctx) => {
  const out = new CsvFileSplitter({ path: join(ctx.outputDir, 'events.csv'), maxFileSize: ctx.maxDataSize, columns: ['day'] });
  await out.write([ctx.since.toISOString()]);
  return out.close();
});
`,
};

let dir: string;

/** The environment of a person's shell: no CI, no NO_COLOR, a capable terminal; then `extra`. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
  for (const name of ['CI', 'NO_COLOR', 'FORCE_COLOR']) delete base[name];
  for (const name of Object.keys(base)) if (name.startsWith('ANALYTICS_')) delete base[name];
  return { ...base, ...extra };
}

function collect(command: string, args: string[], childEnv: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `gather` with stderr on a pseudo-terminal; stdout goes to a file, so what the terminal shows is stderr
 * alone. Returns the terminal's text (with the pty's CR LF line ends) and the stdout file's.
 */
async function onTerminal(name: string, extraEnv: Record<string, string> = {}): Promise<{ code: number | null; terminal: string; stdout: string }> {
  const stdoutFile = join(dir, `${name}.stdout`);
  const command = `${quote(process.execPath)} ${quote(BIN)} gather --output ${quote(join(dir, name))} > ${quote(stdoutFile)}`;
  const run = await collect('script', ['-qec', command, '/dev/null'], env(extraEnv));
  return { code: run.code, terminal: run.stdout, stdout: await readFile(stdoutFile, 'utf8') };
}

const stripAnsi = (text: string): string => text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');

before(async () => {
  assert.ok(existsSync(join(REPO, 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build` first');
  dir = await mkdtemp(join(tmpdir(), 'ac-cli-tty-'));
  await mkdir(join(dir, 'collectors'));
  await writeFile(join(dir, 'package.json'), '{}');
  await writeFile(join(dir, 'analytics.config.json'), JSON.stringify({ tmpDir: './tmp' }));
  for (const [file, text] of Object.entries(COLLECTORS)) await writeFile(join(dir, 'collectors', file), text);
});
after(() => rm(dir, { recursive: true, force: true }));

describe('gather on a terminal', { skip: HAS_SCRIPT ? false : 'needs `script` from util-linux' }, () => {
  it('shows a progress line redrawn in place, readable colourful logs, and erases the line before the summary', async () => {
    const { code, terminal, stdout } = await onTerminal('tty');
    assert.equal(code, 0, terminal);
    assert.equal(stdout.trimEnd().split('\n').length, 3, 'three tarballs: host.json rides with the first slice');

    // The progress line: drawn after a clear-line, with the spinner and the elapsed time.
    assert.ok(terminal.includes(CLEAR_LINE), JSON.stringify(terminal));
    assert.match(stripAnsi(terminal), /\r[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \d:\d\d {2}\S/);
    // Erased before the summary, and never drawn again after it.
    const summary = terminal.indexOf('Dry run:');
    assert.ok(summary > 0, terminal);
    const lastClear = terminal.lastIndexOf(CLEAR_LINE);
    assert.ok(lastClear < summary, 'the progress line is cleared before the summary');
    assert.ok(stripAnsi(terminal.slice(lastClear + CLEAR_LINE.length)).startsWith('  tarball '), 'the summary starts on the cleared line');
    assert.match(stripAnsi(terminal).trimEnd().split('\n').at(-1)!, /^Dry run: 4 collections \(4 ok\)/, 'nothing is drawn after the summary');

    // Logs: one readable line per event, in colour, no JSON; routine "wrote" lines left to the progress line.
    const plain = stripAnsi(terminal);
    assert.match(plain, /\[\d\d:\d\d:\d\d\.\d{3}\] INFO: hello from a collector \{"collector":"host"\}/);
    assert.ok(!/^\{"level"/m.test(plain), 'no JSON log lines on a terminal');
    assert.ok(!plain.includes('wrote '), 'per-tarball lines are debug-level while progress shows');
    assert.ok(terminal.includes(`${ESC}36m`), 'colours');
  });

  it('shows no progress when CI is set, and no colours with NO_COLOR, but keeps logs readable', async () => {
    const { code, terminal } = await onTerminal('ci', { CI: '1', NO_COLOR: '1' });
    assert.equal(code, 0, terminal);
    assert.ok(!terminal.includes(CLEAR_LINE), 'no progress line in CI');
    assert.ok(!terminal.includes(ESC), 'no escape sequences at all with NO_COLOR');
    assert.match(terminal, /\] INFO: hello from a collector/);
    assert.match(terminal, /\] INFO: wrote /, 'without a progress line, tarballs are logged as usual');
    assert.match(terminal, /\nDry run: 4 collections/);
  });
});

describe('gather with stderr piped', () => {
  it('writes JSON log lines and the plain summary: no progress, no colours, even without NO_COLOR', async () => {
    const run = await collect(process.execPath, [BIN, 'gather', '--output', join(dir, 'piped')], env());
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stderr.includes('\r'), 'no carriage returns');
    assert.ok(!run.stderr.includes(ESC), 'no escape sequences');
    const logs = run.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; collector?: string });
    assert.ok(logs.some((r) => r.msg === 'hello from a collector' && r.collector === 'host'));
    assert.ok(logs.some((r) => r.msg.startsWith('wrote ')));
    assert.match(run.stderr, /\nDry run: 4 collections/);
  });
});
