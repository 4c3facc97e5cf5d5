/**
 * Creating a table that several nodes may create at the same moment (the state and history tables of a cluster).
 */
import type { Session } from './connection.js';
import type { TableName } from './identifier.js';

/**
 * What PostgreSQL answers a CREATE ... IF NOT EXISTS that raced another session creating the same table: both passed
 * the "if not exists" check, and the later one then collides in the catalog — on the unique index of pg_class or
 * pg_type (23505), on the relation (42P07) or on the table's row type, "type ... already exists" (42710).
 */
const CREATED_ELSEWHERE = new Set(['23505', '42P07', '42710']);

/** A race lost to a session that then rolled back is retried, at most this many times. */
const ATTEMPTS = 3;

/**
 * Creates `table` with `columns` (the SQL between the parentheses) when it is missing. Looking first keeps a role
 * without the CREATE privilege working on an existing table (CREATE ... IF NOT EXISTS still needs it). Several nodes
 * creating it at once is harmless: the losers' errors mean the table exists.
 */
export async function ensureTable(session: Session, table: TableName, columns: string, purpose: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (await tableExists(session, table, purpose)) return;
    try {
      await session.query(`CREATE TABLE IF NOT EXISTS ${table.quoted} (${columns})`, [], `creating the ${purpose}`);
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt >= ATTEMPTS || typeof code !== 'string' || !CREATED_ELSEWHERE.has(code)) throw err;
    }
  }
}

/** Whether `table` exists (and the role may see it). */
export async function tableExists(session: Session, table: TableName, purpose: string): Promise<boolean> {
  const rows = await session.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [table.quoted], `looking for the ${purpose}`);
  return rows[0]?.present === true;
}
