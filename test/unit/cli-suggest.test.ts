import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOG_LEVEL_NAMES } from '../../src/cli/help.js';
import { closest, editDistance } from '../../src/collect/suggest.js';
import { LOG_LEVELS } from '../../src/log.js';

describe('closest (did you mean)', () => {
  it('finds the closest key within a few edits', () => {
    assert.equal(closest('hots', ['config', 'hosts', 'events']), 'hosts');
    assert.equal(closest('evnets', ['config', 'hosts', 'events']), 'events');
    assert.equal(closest('Events', ['events']), 'events');
  });

  it('suggests nothing for a word unlike every candidate, ', () => {
    assert.equal(closest('jobs', ['config', 'hosts', 'events']), null);
    assert.equal(closest('x', []), null);
  });

  it('counts a transposition as one edit', () => {
    assert.equal(editDistance('hsot', 'host'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });
});

it("the help's log levels are pino's (kept apart so --help does not load pino)", () => {
  assert.deepEqual([...LOG_LEVEL_NAMES], [...LOG_LEVELS]);
});
