import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { isCI, logLevelOf, terminalFeatures } from '../../src/cli/setup.js';
import { createLogger } from '../../src/log.js';

const tty = { interactive: true };

describe('terminalFeatures', () => {
  it('shows progress on a terminal only, and never with --quiet, a silent level, CI or TERM=dumb', () => {
    assert.equal(terminalFeatures({}, tty, {}).progress, true);
    assert.equal(terminalFeatures({}, { interactive: false }, {}).progress, false);
    assert.equal(terminalFeatures({ quiet: true }, tty, {}).progress, false);
    assert.equal(terminalFeatures({ logLevel: 'silent' }, tty, {}).progress, false);
    assert.equal(terminalFeatures({}, tty, { CI: 'true' }).progress, false);
    assert.equal(terminalFeatures({}, tty, { CI: '1' }).progress, false);
    assert.equal(terminalFeatures({}, tty, { TERM: 'dumb' }).progress, false);
    assert.equal(terminalFeatures({ verbose: true }, tty, { TERM: 'xterm-256color' }).progress, true);
  });

  it('respects NO_COLOR when set to anything but the empty string', () => {
    assert.equal(terminalFeatures({}, tty, {}).color, true);
    assert.equal(terminalFeatures({}, tty, { NO_COLOR: '1' }).color, false);
    assert.equal(terminalFeatures({}, tty, { NO_COLOR: '' }).color, true);
  });

  it('reads CI=false, CI=0 and an empty CI as "not CI"', () => {
    for (const value of ['', '0', 'false', 'FALSE']) assert.equal(isCI({ CI: value }), false, value);
    assert.equal(isCI({}), false);
    assert.equal(isCI({ CI: 'woodpecker' }), true);
  });
});

describe('logLevelOf', () => {
  it('takes --log-level over --verbose over --quiet over the default', () => {
    assert.equal(logLevelOf({ logLevel: 'error', verbose: true, quiet: true }), 'error');
    assert.equal(logLevelOf({ verbose: true, quiet: true }), 'debug');
    assert.equal(logLevelOf({ quiet: true }), 'warn');
    assert.equal(logLevelOf({}), 'info');
    assert.equal(logLevelOf({}, 'warn'), 'warn');
  });

  it('names the flag when the level is unknown', () => {
    assert.throws(() => logLevelOf({ logLevel: 'loud' }), /^AppError: --log-level: "loud" is not a level; use one of fatal, error/);
  });
});

describe('createLogger demoteInfo (routine lines while progress shows)', () => {
  function capture(): { stream: Writable; records: () => Record<string, unknown>[] } {
    let text = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    return { stream, records: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
  }
  const demoteInfo = (fields: Record<string, unknown>, bindings: Record<string, unknown>): boolean =>
    typeof fields.tarball === 'string' && bindings.collector === undefined;

  it('moves matching info events to debug, leaves warnings and collector lines alone', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination: out.stream, demoteInfo });
    logger.info({ tarball: '/o/a.tar.gz' }, 'wrote /o/a.tar.gz');
    logger.warn({ tarball: '/o/a.tar.gz' }, 'retrying');
    logger.child({ collector: 'jobs' }).info({ tarball: 'mine' }, 'a collector line');
    logger.info('plain');
    assert.deepEqual(out.records().map((r) => r.msg), ['retrying', 'a collector line', 'plain']);
  });

  it('still shows them at debug level, as debug events', () => {
    const out = capture();
    createLogger({ level: 'debug', pretty: false, destination: out.stream, demoteInfo }).info({ tarball: '/o/a.tar.gz' }, 'wrote');
    assert.deepEqual(out.records().map((r) => [r.level, r.msg]), [[20, 'wrote']]);
  });
});
