/**
 * `inspect TARBALL... [--cat MEMBER] [--json]` through the real CLI (contract §7): several tarballs, one JSON
 * array, one member streamed to stdout, and bounded memory against tarballs that inflate far beyond their size.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeTarball } from '../../src/pack/write-tarball.js';
import { BIN, cleanEnv, cli, makeProject, requireBuild, type Project } from '../helpers/fault-cli.js';

const MIB = 1024 * 1024;
const PEAK_RSS = join(import.meta.dirname, '..', 'helpers', 'peak-rss.mjs');

/** Runs the CLI with its own node flag and the peak-RSS preload; resolves with the exit code and peak RSS. */
async function measured(args: string[], cwd: string): Promise<{ code: number; stdoutBytes: number; stderr: string; peak: number }> {
  const file = join(cwd, `rss-${Math.random().toString(36).slice(2)}`);
  const child = spawn(process.execPath, ['--max-semi-space-size=1', '--import', PEAK_RSS, BIN, ...args], {
    cwd,
    env: cleanEnv({ PEAK_RSS_FILE: file }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdoutBytes = 0;
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdoutBytes += chunk.length));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number];
  return { code, stdoutBytes, stderr, peak: Number(await readFile(file, 'utf8')) };
}

describe('inspect', () => {
  let project: Project;
  let first: string;
  let second: string;

  before(async () => {
    requireBuild();
    project = await makeProject();
    await project.collector('events.mjs', `import { register } from 'analytics-collect';
export const events = register({ key: 'events', version: '2.0' }, async () => ({ n: 42 }));\n`);
    const run = async (until: string): Promise<string> => {
      const result = await cli(['gather', '--until', until], { cwd: project.dir });
      assert.equal(result.code, 0, result.stderr);
      return result.stdout.trim();
    };
    first = await run('2026-11-28T00:00:00Z');
    second = await run('2026-11-29T00:00:00Z');
  });
  after(() => project.cleanup());

  it('shows several tarballs, each with members, manifest versions and status rows', async () => {
    const { code, stdout, stderr } = await cli(['inspect', first, second], { cwd: project.dir });
    assert.equal(code, 0, stderr);
    const blocks = stdout.split(/\n\n(?=\/)/);
    assert.equal(blocks.length, 2);
    assert.ok(blocks[0]!.startsWith(first));
    assert.ok(blocks[1]!.startsWith(second));
    for (const block of blocks) {
      assert.match(block, /events\.json\s+\d+ B\s+2\.0/);
      assert.match(block, /events\.json\s+ok\s+/);
    }
  });

  it('--json prints one array for several tarballs, and the object for one', async () => {
    const several = await cli(['inspect', first, second, '--json'], { cwd: project.dir });
    assert.equal(several.code, 0, several.stderr);
    const list = JSON.parse(several.stdout) as { path: string; manifest: Record<string, string> }[];
    assert.deepEqual(list.map((t) => t.path), [first, second]);
    assert.equal(list[1]!.manifest['events.json'], '2.0');
    const one = await cli(['inspect', first, '--json'], { cwd: project.dir });
    const doc = JSON.parse(one.stdout) as { path: string; members: { name: string }[] };
    assert.equal(doc.path, first);
    assert.deepEqual(doc.members.map((m) => m.name), ['events.json', 'config.json', 'data_collection_status.csv', 'manifest.json']);
  });

  it('--cat writes one member\'s bytes to stdout, exactly', async () => {
    const { code, stdout } = await cli(['inspect', first, '--cat', 'events.json'], { cwd: project.dir });
    assert.equal(code, 0);
    assert.equal(stdout, '{"n":42}');
    const status = await cli(['inspect', first, '--cat', './data_collection_status.csv'], { cwd: project.dir });
    assert.match(status.stdout, /^collection_start_timestamp,since,until,file_name,status,elapsed\n/);
  });

  it('--cat of a missing member, or with two tarballs, is exit 2 saying what to do', async () => {
    const missing = await cli(['inspect', first, '--cat', 'hosts.csv'], { cwd: project.dir });
    assert.equal(missing.code, 2);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /has no member hosts\.csv; its members are events\.json, config\.json/);
    const two = await cli(['inspect', first, second, '--cat', 'events.json', '--json'], { cwd: project.dir });
    assert.equal(two.code, 2);
    assert.deepEqual(JSON.parse(two.stdout), {
      error: { exitCode: 2, message: 'inspect --cat reads one member of one tarball; give one TARBALL (got 2)' },
    });
  });

  it('an unreadable tarball among several is exit 2 naming it, with nothing printed for the others', async () => {
    const bad = join(project.dir, 'not-a-tarball.tar.gz');
    await writeFile(bad, 'hello, I am text');
    const { code, stdout, stderr } = await cli(['inspect', first, bad], { cwd: project.dir });
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, new RegExp(`cannot read tarball ${bad.replace(/[.+]/g, '\\$&')}`));
  });

  it('a manifest.json that would inflate past 16 MiB is exit 2 at once, without being read into memory', async () => {
    // 40 MiB of spaces compress to ~40 KiB: a small file that a careless reader would blow up into memory.
    const spaces = join(project.dir, 'spaces');
    const stream = createWriteStream(spaces);
    const block = Buffer.alloc(MIB, 0x20);
    for (let i = 0; i < 40; i++) if (!stream.write(block)) await once(stream, 'drain');
    stream.end();
    await once(stream, 'close');
    const bomb = join(project.dir, 'bomb.tar.gz');
    await writeTarball({ path: bomb, members: [{ name: 'manifest.json', file: spaces }], mtime: new Date(0), gzipLevel: 9 });

    const baseline = await measured(['inspect', first], project.dir);
    assert.equal(baseline.code, 0, baseline.stderr);
    const result = await measured(['inspect', bomb], project.dir);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /manifest\.json would inflate to 41943040 bytes, over the 16 MiB/);
    // Holding the manifest would cost at least 40 MiB (more as a string); reading it not at all costs nothing.
    assert.ok(result.peak < baseline.peak + 16 * MIB, `peak RSS ${result.peak} vs ${baseline.peak} for a small tarball`);
  });

  it('--cat streams a member that inflates past 64 MiB, holding only a little of it', async () => {
    // 72 MiB of base64 text: it does not compress to nothing, so the tarball is an honest ~55 MiB.
    const big = join(project.dir, 'big.csv');
    const stream = createWriteStream(big);
    let written = 0;
    for (let i = 0; i < 72; i++) {
      const chunk = randomBytes((3 * MIB) / 4).toString('base64');
      written += chunk.length;
      if (!stream.write(chunk)) await once(stream, 'drain');
    }
    stream.end();
    await once(stream, 'close');
    const tarball = join(project.dir, 'big.tar.gz');
    await writeTarball({ path: tarball, members: [{ name: 'events.csv', file: big }], mtime: new Date(0), gzipLevel: 1 });

    const baseline = await measured(['inspect', first], project.dir);
    const result = await measured(['inspect', tarball, '--cat', 'events.csv'], project.dir);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdoutBytes, written);
    assert.ok(result.peak < baseline.peak + 48 * MIB, `peak RSS ${result.peak} vs ${baseline.peak} for a small tarball`);
  });
});
