import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { CLEAR_LINE, createOutput, formatBytes, formatDuration, table } from '../../src/cli/output.js';

function recorder(): { stream: Writable; text: () => string } {
  let written = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written += chunk.toString();
      done();
    },
  });
  return { stream, text: () => written };
}

describe('createOutput', () => {
  it('sends results to stdout and notes and logs to stderr, one line each', () => {
    const stdout = recorder();
    const stderr = recorder();
    const out = createOutput({ stdout: stdout.stream, stderr: stderr.stream, interactive: false });
    out.result('/o/a.tar.gz');
    out.note('summary\n');
    out.log('{"level":30}\n');
    out.status('ignored: not a terminal');
    assert.equal(stdout.text(), '/o/a.tar.gz\n');
    assert.equal(stderr.text(), 'summary\n{"level":30}\n');
  });

  it('on a terminal, lifts the status line out of the way of every other line and puts it back', () => {
    const stdout = recorder();
    const stderr = recorder();
    const out = createOutput({ stdout: stdout.stream, stderr: stderr.stream, interactive: true, stdoutInteractive: true });
    out.status('working');
    out.log('a log line');
    out.result('/o/a.tar.gz');
    out.status('working');
    out.status('');
    out.note('done');
    assert.equal(stderr.text(), `${CLEAR_LINE}working${CLEAR_LINE}a log line\nworking${CLEAR_LINE}working${CLEAR_LINE}done\n`);
    assert.equal(stdout.text(), '/o/a.tar.gz\n');
  });

  it('leaves stdout alone when it is not the terminal (a pipe or a file)', () => {
    const stdout = recorder();
    const stderr = recorder();
    const out = createOutput({ stdout: stdout.stream, stderr: stderr.stream, interactive: true });
    out.status('working');
    out.result('/o/a.tar.gz');
    assert.equal(stderr.text(), `${CLEAR_LINE}working`);
  });

  it('reports 80 columns for a terminal of unknown width', () => {
    const out = createOutput({ stdout: recorder().stream, stderr: recorder().stream, interactive: true, columns: 0 });
    assert.equal(out.columns, 80);
  });
});

describe('formatting helpers', () => {
  it('pads table columns and trims trailing blanks', () => {
    assert.equal(table(['a', 'bb'], [['xxx', ''], ['y', 'z']], '  '), '  a    bb\n  xxx\n  y    z');
  });

  it('formats sizes and durations', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(5 * 1024 ** 3), '5.0 GiB');
    assert.equal(formatDuration(950), '950 ms');
    assert.equal(formatDuration(4_250), '4.3s');
    assert.equal(formatDuration(61_500), '1m 2s');
    assert.equal(formatDuration(3_660_000), '1h 1m');
  });
});
