import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOG_LEVEL_NAMES } from '../../src/cli/help.js';
import { didYouMean, editDistance } from '../../src/cli/suggest.js';
import { LOG_LEVELS } from '../../src/log.js';

describe('didYouMean', () => {
  it('finds the closest key within a few edits', () => {
    assert.equal(didYouMean('hots', ['config', 'hosts', 'events']), 'hosts');
    assert.equal(didYouMean('evnets', ['config', 'hosts', 'events']), 'events');
    assert.equal(didYouMean('Events', ['events']), 'events');
  });

  it('suggests nothing for a word unlike every candidate, or for the word itself', () => {
    assert.equal(didYouMean('jobs', ['config', 'hosts', 'events']), undefined);
    assert.equal(didYouMean('hosts', ['hosts']), undefined);
    assert.equal(didYouMean('x', []), undefined);
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
