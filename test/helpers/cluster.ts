/**
 * Cluster (§8) e2e projects: a throw-away project whose state and lock live in the local PostgreSQL (or behind a
 * test proxy in front of it), shipping to a local test ingress, run through the real CLI.
 */
import pg from 'pg';
import { advisoryLockKey } from '../../src/postgres/lock.js';
import { startIngress, type TestIngress } from './ingress.js';
import { cleanEnv, makeProject, type Project } from './fault-cli.js';
import { PG_URL, uniqueName, withPg } from './pg.js';

export const IDENTITY = 'eyJpZGVudGl0eSI6e319';
export const CONTENT_TYPE = 'application/vnd.redhat.tower.tower_payload+tgz';

export interface ClusterProject extends Project {
  ingress: TestIngress;
  table: string;
  lockName: string;
  /** Rewrites the config: coordination through `postgres` (default: the local server), with `timeoutMs`. */
  coordinate(options?: { postgres?: string; timeoutMs?: number; extra?: Record<string, unknown> }): Promise<void>;
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** The state row's document, or null. */
  stateRow(): Promise<{ lastGather: string | null; entries: Record<string, string> } | null>;
  /** Terminates the backend holding the advisory lock (pg_terminate_backend); resolves to how many were ended. */
  terminateLockHolder(): Promise<number>;
  /** Resolves once the advisory lock is free (waits for it on the server, at most 10 s), and frees it again. */
  lockIsFree(): Promise<boolean>;
  close(): Promise<void>;
}

/** A json collector that writes one value; `marker` goes to stderr when it runs. */
export const HOSTS_COLLECTOR = `import { register } from 'analytics-collect';
export const hosts = register({ key: 'hosts', version: '1.0' }, async (ctx) => { console.error('collector hosts ran'); return { n: 1, until: ctx.until.toISOString() }; });
`;

export async function clusterProject(): Promise<ClusterProject> {
  const ingress = await startIngress({ auth: { mode: 'identity', identity: IDENTITY } });
  const base = await makeProject();
  await base.collector('10-hosts.mjs', HOSTS_COLLECTOR);
  const table = uniqueName('cl_state');
  const lockName = uniqueName('cl-lock');
  const project: ClusterProject = {
    ...base,
    ingress,
    table,
    lockName,
    coordinate: async (options = {}) => {
      await base.configure({
        ship: { url: ingress.url, contentType: CONTENT_TYPE, auth: 'identity' },
        coordination: { postgres: options.postgres ?? PG_URL, table, lockName, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) },
        ...options.extra,
      });
    },
    env: (extra = {}) => cleanEnv({ ANALYTICS_IDENTITY: IDENTITY, ...extra }),
    stateRow: () =>
      withPg(async (client) => {
        const exists = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
        if (exists.rows[0]?.present !== true) return null;
        const { rows } = await client.query<{ state: { lastGather: string | null; entries: Record<string, string> } }>(
          `SELECT state FROM "${table}" WHERE id = $1`,
          [lockName],
        );
        return rows[0]?.state ?? null;
      }),
    terminateLockHolder: () =>
      withPg(async (client) => {
        const key = BigInt.asUintN(64, advisoryLockKey(lockName));
        const { rows } = await client.query<{ ended: boolean }>(
          `SELECT pg_terminate_backend(pid) AS ended FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND classid = $1::oid AND objid = $2::oid`,
          [(key >> 32n).toString(), (key & 0xffffffffn).toString()],
        );
        return rows.filter((r) => r.ended).length;
      }),
    lockIsFree: () =>
      withPg(async (client) => {
        await client.query("SET lock_timeout = '10s'");
        const key = advisoryLockKey(lockName).toString();
        try {
          await client.query('SELECT pg_advisory_lock($1::bigint)', [key]);
        } catch {
          return false;
        }
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
        return true;
      }),
    close: async () => {
      await withPg((client) => client.query(`DROP TABLE IF EXISTS "${table}"`)).catch(() => undefined);
      await ingress.close();
      await base.cleanup();
    },
  };
  await project.coordinate();
  return project;
}

/** A client holding something (a row lock, a table lock) until `release()`. */
export async function holdingClient(statements: string[]): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: PG_URL });
  client.on('error', () => undefined);
  await client.connect();
  for (const sql of statements) await client.query(sql);
  return {
    release: async () => {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    },
  };
}

export { uniqueName };
