/**
 * `pg` and `pg-copy-streams` are optional peer dependencies: the CLI must start without them, so they are loaded
 * with a dynamic `import()` only when a PostgreSQL feature is actually used (contract §8).
 */
import type * as Pg from 'pg';
import type * as CopyStreams from 'pg-copy-streams';
import { usageError } from '../errors.js';

export type PgModule = typeof Pg;
export type CopyStreamsModule = typeof CopyStreams;

const INSTALL_HINT = 'npm install pg pg-copy-streams (beside analytics-collect; with -g when it is installed globally)';

/** The `pg` module, or AppError('USAGE') telling how to install it. */
export async function loadPg(feature: string): Promise<PgModule> {
  const mod = await importOptional('pg', feature);
  // pg ships an ESM wrapper with named exports; its CommonJS build only has them on `default`.
  return ((mod as { default?: PgModule }).default ?? mod) as PgModule;
}

/** The `pg-copy-streams` module, or AppError('USAGE') telling how to install it. */
export async function loadCopyStreams(feature: string): Promise<CopyStreamsModule> {
  const mod = await importOptional('pg-copy-streams', feature);
  return ((mod as { default?: CopyStreamsModule }).default ?? mod) as CopyStreamsModule;
}

/** Imports an optional package; a missing one is AppError('USAGE') with the install command. */
export async function importOptional(name: string, feature: string): Promise<unknown> {
  try {
    return await import(name);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw usageError(`${feature} needs the optional package "${name}", which is not installed: ${INSTALL_HINT}`, err);
    }
    throw err;
  }
}
