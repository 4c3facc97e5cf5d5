/**
 * The example's data source: an SQLite file of "job events" that it seeds itself on first use, so the examples
 * run with no service. (Files starting with `_` are helpers, not collectors.)
 */
import type Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

const DAY_MS = 24 * 60 * 60 * 1000;
const EVENTS_PER_DAY = 2000;
const DAYS = 35;
const KINDS = ['job.started', 'job.finished', 'job.failed', 'host.added', 'inventory.synced'];
const USERS = ['admin', 'ops-bot', 'alice', 'bob', 'ci, "nightly"'];

/**
 * Opens the example database, creating and filling it (35 days of events up to today) on first use.
 * The driver is imported here, when a collection runs, not when the module loads: `list` and `check` load every
 * collector module and should not pay for a native driver they never use.
 */
export async function openExampleDb(): Promise<Database.Database> {
  const { default: Sqlite } = await import('better-sqlite3');
  const file = fileURLToPath(new URL('../.analytics-collect/example-events.sqlite', import.meta.url));
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const db = new Sqlite(file);
  db.pragma('journal_mode = WAL');
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").get();
  if (!exists) seed(db);
  return db;
}

function seed(db: Database.Database): void {
  db.exec(`CREATE TABLE events (
    id INTEGER PRIMARY KEY, created TEXT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL,
    duration_ms INTEGER, note TEXT)`);
  db.exec('CREATE INDEX events_created ON events (created)');
  const insert = db.prepare('INSERT INTO events (created, kind, actor, duration_ms, note) VALUES (?, ?, ?, ?, ?)');
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  let seedValue = 42;
  const random = (): number => ((seedValue = (seedValue * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  db.transaction(() => {
    for (let day = DAYS; day >= 0; day--) {
      for (let i = 0; i < EVENTS_PER_DAY; i++) {
        const created = new Date(today - day * DAY_MS + Math.floor(random() * DAY_MS)).toISOString();
        const kind = KINDS[Math.floor(random() * KINDS.length)]!;
        const note = kind === 'job.failed' ? 'exit status 2\nsee the job log' : null;
        insert.run(created, kind, USERS[Math.floor(random() * USERS.length)]!, Math.floor(random() * 60_000), note);
      }
    }
  })();
}
