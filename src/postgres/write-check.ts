/**
 * What a failed state read or write check means, in words an operator can act on (contract §8: a table of
 * another shape, a missing privilege, a read-only server or transaction, a lock name too long to index, are
 * configuration errors found before anything is gathered).
 */
import { Buffer } from 'node:buffer';

const OTHER_SHAPE =
  'that table is not an analytics-collect state table (id text PRIMARY KEY, state jsonb, updated_at timestamptz, updated_by text) — set coordination.table to another name, or drop that table';

/** SQLSTATEs of problems with the table, role or server (not with the network or the row's content). */
const ADVICE: Record<string, (context: { stateId: string; user: string | undefined }) => string> = {
  '3F000': () => 'create the schema, or set coordination.table to a table in an existing schema',
  '42703': () => OTHER_SHAPE, // a column is missing
  '42804': () => OTHER_SHAPE, // a column of another type
  '22P02': () => OTHER_SHAPE,
  '42883': () => OTHER_SHAPE,
  '42P10': () => OTHER_SHAPE, // no unique key on id for ON CONFLICT
  '23502': () => OTHER_SHAPE, // a NOT NULL column we do not fill
  '42809': () => OTHER_SHAPE, // a view, not a table
  '42501': ({ user }) =>
    `the role${user === undefined ? '' : ` ${JSON.stringify(user)}`} may not write it: GRANT SELECT, INSERT, UPDATE on the table (and CREATE on the schema if the table is to be created) to that role`,
  '25006': () =>
    'the server or the session is read-only (a standby, or default_transaction_read_only): point coordination.postgres at the primary, or allow writes for that role',
  '54000': ({ stateId }) =>
    `coordination.lockName (${Buffer.byteLength(stateId)} bytes) is too long to be the state row's key: use a shorter name`,
};

export function isWriteProblem(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code in ADVICE;
}

export function explainWriteProblem(err: unknown, context: { stateId: string; user: string | undefined }): string {
  const code = String((err as { code?: unknown }).code);
  return ADVICE[code]?.(context) ?? '';
}
