/**
 * A separate process appending history entries, for the test of concurrent appends across real processes.
 *
 *   node --import tsx test/helpers/history-appender.ts FILE COUNT TAG
 *
 * Waits for a line on stdin (so every appender starts at once), appends COUNT entries tagged TAG-<i>, exits 0.
 */
import { once } from 'node:events';
import { fileHistoryStore } from '../../src/history/file-store.js';
import { sampleEntry } from './history.js';

const [file, countText, tag] = process.argv.slice(2);
if (file === undefined || countText === undefined || tag === undefined) {
  process.stderr.write('usage: history-appender.ts FILE COUNT TAG\n');
  process.exit(64);
}
process.stdout.write('ready\n');
await once(process.stdin, 'data');
const store = fileHistoryStore(file);
for (let i = 0; i < Number(countText); i++) await store.append(sampleEntry({ id: `${tag}-${i}` }), 100_000);
process.exit(0);
