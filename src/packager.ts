/**
 * Packagers (contract §6): a module whose default export adapts the tool to one product — tarball names,
 * limits, headers, a license check, or a whole custom transport. Loaded by path and shape-checked once, so a
 * typo fails before anything runs instead of being silently ignored.
 */
import { resolve } from 'node:path';
import { ContainedError, contained } from './collect/contain.js';
import { DEFAULT_LOAD_TIMEOUT_MS, importUserModule } from './collect/load.js';
import { describeThrown, locationSuffix } from './collect/where.js';
import { AppError, messageOf, usageError } from './errors.js';
import { escapeControlLine, redactSecrets } from './secrets/index.js';
import type { ShipInfo, ShipResult, Shipper } from './types.js';

type MaybePromise<T> = T | Promise<T>;

/** What `tarballBase()` is told about the tarball being named. */
export interface TarballBaseArgs {
  since: Date | null;
  until: Date;
  shippingGroup: string;
}

/** What a packager's `ship()` answers. `retryable` failures follow the retry rule. */
export type PackagerShipResult = { ok: true; requestId?: string } | { ok: false; error: string; retryable?: boolean };

/** What a packager's `check()` answers (for `check --ship`): a throw counts as `{ ok: false }` with its message. */
export type PackagerCheckResult = { ok: true; message?: string } | { ok: false; error: string };

/** The default export of a packager module: every member optional, each function possibly async. */
export interface PackagerModule {
  /** The tarball name stem (before `-<n>.tar.gz`); no slashes. */
  tarballBase?(args: TarballBaseArgs): MaybePromise<string>;
  /** Bytes of uncompressed data per tarball; a number or a function returning one. */
  maxDataSize?: number | (() => MaybePromise<number>);
  /** The upload part's Content-Type; a string or a function returning one. */
  contentType?: string | (() => MaybePromise<string>);
  /** Extra request headers, merged under `ship.headers`. */
  headers?(): MaybePromise<Record<string, string>>;
  /** False stops the run before any collector runs (exit 4). */
  isLicenseValid?(): MaybePromise<boolean>;
  /** Replaces the built-in "is shipping configured" check. */
  isShippingConfigured?(): MaybePromise<boolean>;
  /** A custom transport replacing HTTP. */
  ship?(tarballPath: string, info: ShipInfo): MaybePromise<PackagerShipResult>;
  /** For `check --ship`: tests the custom transport without sending data. */
  check?(): MaybePromise<PackagerCheckResult>;
}

/** A loaded packager: values resolved, functions made async and their answers checked. */
export interface Packager {
  /** The module's absolute path, for messages. */
  file: string;
  tarballBase?(args: TarballBaseArgs): Promise<string>;
  maxDataSize?: number;
  contentType?: string;
  headers?(): Promise<Record<string, string>>;
  isLicenseValid?(): Promise<boolean>;
  isShippingConfigured?(): Promise<boolean>;
  ship?(tarballPath: string, info: ShipInfo): Promise<PackagerShipResult>;
  check?(): Promise<PackagerCheckResult>;
}

const FUNCTION_MEMBERS = ['tarballBase', 'headers', 'isLicenseValid', 'isShippingConfigured', 'ship', 'check'] as const;
const VALUE_MEMBERS = ['maxDataSize', 'contentType'] as const;
const KNOWN = new Set<string>([...FUNCTION_MEMBERS, ...VALUE_MEMBERS]);

const describe = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
};

/** Why a packager hook failed, in one line with the place in the packager's source. */
const hookFailure = (err: unknown): string =>
  err instanceof ContainedError ? err.message : `${describeThrown(err)}${locationSuffix(err)}`;

/**
 * Calls a packager function, contained like collector code (bounded by `collectorTimeoutMs`, `process.exit()`
 * and stray errors fail it); a failure becomes an AppError naming the file and member.
 */
async function call<T>(file: string, member: string, timeoutMs: number, fn: () => MaybePromise<T>): Promise<T> {
  try {
    return await contained(fn, { label: `packager ${file}: ${member}()`, timeoutMs });
  } catch (err) {
    throw new AppError('FAILED', `packager ${file}: ${member}() failed: ${hookFailure(err)}`, { cause: err });
  }
}

async function resolveValue(file: string, member: string, raw: unknown, timeoutMs: number): Promise<unknown> {
  return typeof raw === 'function' ? call(file, member, timeoutMs, () => (raw as () => unknown)()) : raw;
}

async function importDefault(file: string, timeoutMs: number): Promise<unknown> {
  let mod: Record<string, unknown>;
  try {
    // Like a collector: an ES module whatever surrounds it, TypeScript without a build, `analytics-collect` resolvable.
    mod = await importUserModule(file, { timeoutMs, label: `packager ${file}` });
  } catch (err) {
    throw usageError(`packager ${file}: cannot load it (${messageOf(err)}); check the packager setting`, err);
  }
  if (!('default' in mod) || mod.default === undefined) {
    throw usageError(`packager ${file}: no default export; write \`export default { ... }\``);
  }
  return mod.default;
}

/**
 * Imports the packager module at `path` and checks its default export's shape. Throws AppError('USAGE')
 * naming the file and the member at fault. `maxDataSize` and `contentType` are resolved here, once.
 */
export async function loadPackager(path: string, options: { timeoutMs?: number } = {}): Promise<Packager> {
  const file = resolve(path);
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
  const raw = await importDefault(file, timeoutMs);
  if (raw === null || typeof raw !== 'object') {
    throw usageError(`packager ${file}: the default export is ${describe(raw)}; export an object with the packager members`);
  }
  const members = raw as Record<string, unknown>;
  for (const name of Object.keys(members)) {
    if (!KNOWN.has(name)) {
      throw usageError(`packager ${file}: unknown member "${name}"; known members are ${[...KNOWN].join(', ')}`);
    }
  }
  for (const name of FUNCTION_MEMBERS) {
    const value = members[name];
    if (value !== undefined && typeof value !== 'function') {
      throw usageError(`packager ${file}: ${name} is ${describe(value)}; it must be a function`);
    }
  }
  const mod = raw as PackagerModule;
  const packager: Packager = { file };

  const maxDataSize = await resolveValue(file, 'maxDataSize', mod.maxDataSize, timeoutMs);
  if (maxDataSize !== undefined) {
    if (typeof maxDataSize !== 'number' || !Number.isInteger(maxDataSize) || maxDataSize <= 0) {
      throw usageError(`packager ${file}: maxDataSize is ${describe(maxDataSize)}; it must be an integer > 0 (bytes)`);
    }
    packager.maxDataSize = maxDataSize;
  }
  const contentType = await resolveValue(file, 'contentType', mod.contentType, timeoutMs);
  if (contentType !== undefined) {
    if (typeof contentType !== 'string' || contentType.trim() === '') {
      throw usageError(`packager ${file}: contentType is ${describe(contentType)}; it must be a non-empty string`);
    }
    packager.contentType = contentType;
  }

  if (mod.tarballBase) {
    const fn = mod.tarballBase.bind(mod);
    packager.tarballBase = async (args) => {
      const base = await call(file, 'tarballBase', timeoutMs, () => fn(args));
      if (typeof base !== 'string' || base === '' || base === '.' || base === '..' || /[/\\\0]/.test(base)) {
        throw usageError(`packager ${file}: tarballBase() returned ${describe(base)}; return a file name stem without slashes`);
      }
      return base;
    };
  }
  if (mod.headers) {
    const fn = mod.headers.bind(mod);
    packager.headers = async () => {
      const headers = await call(file, 'headers', timeoutMs, fn);
      const ok =
        headers !== null &&
        typeof headers === 'object' &&
        !Array.isArray(headers) &&
        Object.values(headers).every((v) => typeof v === 'string');
      if (!ok) throw usageError(`packager ${file}: headers() returned ${describe(headers)}; return an object of strings`);
      return { ...headers };
    };
  }
  for (const name of ['isLicenseValid', 'isShippingConfigured'] as const) {
    const member = mod[name];
    if (!member) continue;
    const fn = member.bind(mod);
    packager[name] = async () => {
      const answer = await call(file, name, timeoutMs, fn);
      if (typeof answer !== 'boolean') {
        throw usageError(`packager ${file}: ${name}() returned ${describe(answer)}; return true or false`);
      }
      return answer;
    };
  }
  if (mod.ship) {
    const fn = mod.ship.bind(mod);
    packager.ship = async (tarballPath, info) => {
      let answer: unknown;
      try {
        answer = await contained(() => fn(tarballPath, info), { label: `packager ${file}: ship()`, timeoutMs });
      } catch (err) {
        // A ship() that timed out may have sent part of it: final, so the tarball is kept as failed, not sent twice.
        return { ok: false, error: `packager ${file}: ship() failed: ${hookFailure(err)}` };
      }
      return checkShipAnswer(file, answer);
    };
  }
  if (mod.check) {
    const fn = mod.check.bind(mod);
    packager.check = async () => {
      let answer: unknown;
      try {
        answer = await contained(fn, { label: `packager ${file}: check()`, timeoutMs });
      } catch (err) {
        return { ok: false, error: hookFailure(err) };
      }
      const a = (answer ?? {}) as { ok?: unknown; message?: unknown; error?: unknown };
      if (a.ok === true) return typeof a.message === 'string' ? { ok: true, message: a.message } : { ok: true };
      if (a.ok === false && typeof a.error === 'string') return { ok: false, error: a.error };
      return { ok: false, error: `check() returned ${describe(answer)}; return { ok: true, message? } or { ok: false, error }` };
    };
  }
  return packager;
}

/** A malformed answer from `ship()` is a failed upload (not a crash): the tarball is kept as failed. */
function checkShipAnswer(file: string, answer: unknown): PackagerShipResult {
  const bad = (): PackagerShipResult => ({
    ok: false,
    error: `packager ${file}: ship() returned ${describe(answer)}; return { ok: true, requestId? } or { ok: false, error, retryable? }`,
  });
  if (answer === null || typeof answer !== 'object') return bad();
  const a = answer as { ok?: unknown; requestId?: unknown; error?: unknown; retryable?: unknown };
  if (a.ok === true) {
    if (a.requestId === undefined || a.requestId === null) return { ok: true };
    return typeof a.requestId === 'string' || typeof a.requestId === 'number' ? { ok: true, requestId: String(a.requestId) } : bad();
  }
  if (a.ok === false) {
    const error = typeof a.error === 'string' ? a.error : a.error instanceof Error ? a.error.message : undefined;
    if (error === undefined) return bad();
    return { ok: false, error, retryable: a.retryable === true };
  }
  return bad();
}

/**
 * Adapts a packager's `ship()` to the Shipper union, so the retry wrapper and the pipeline treat it like HTTP.
 * Its error messages are redacted (a transport may report its own credentials) and control characters escaped.
 */
export function packagerShipper(packager: Packager): Shipper {
  const ship = packager.ship;
  if (!ship) throw new TypeError(`packager ${packager.file} has no ship()`);
  return {
    async send(tarballPath, info): Promise<ShipResult> {
      const answer = await ship(tarballPath, info);
      if (answer.ok) return answer.requestId === undefined ? { status: 'sent' } : { status: 'sent', requestId: answer.requestId };
      const error = escapeControlLine(redactSecrets(`upload of ${info.fileName} failed: ${messageOf(answer.error)}`));
      return answer.retryable ? { status: 'retryable', error } : { status: 'failed', error };
    },
  };
}
