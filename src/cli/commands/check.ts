/**
 * `analytics-collect check [--ship] [--json]` (contract §9): will tonight's run work? Nothing is gathered. It
 * reports the effective settings and their sources, the config file, the collectors and what the loader skipped,
 * whether output, tmpDir and the state can be written, and who holds the lock; with `--ship` also whether shipping
 * is configured and how the ingress answers its test request. Every section is reported, then the exit status is
 * the first of: 2 (configuration, collectors, locations, state), 4 (shipping not configured, license), 1 (the
 * connection test failed), 0.
 */
import { loadCollectors, type LoadedCollector } from '../../collect/load.js';
import { AppError, messageOf } from '../../errors.js';
import { pgCoordination } from '../../postgres/coordination.js';
import { fileLocker, fileStateStore } from '../../state/index.js';
import type { Locker, StateStore } from '../../types.js';
import { checkFolder, type LocationCheck } from '../check/locations.js';
import { skippedEntries, type SkippedEntry } from '../check/collectors.js';
import { settingRows, type SettingRow } from '../check/settings.js';
import { describeCheck } from '../check/describe.js';
import { collectorRows, type CollectorRow } from '../collector-rows.js';
import { ReportedError } from '../json-error.js';
import type { Outcome } from '../outcome.js';
import type { Output } from '../output.js';
import { checkAllowed, checkShipSettings } from '../preflight.js';
import { setup, type CommonFlags, type Setup } from '../setup.js';
import type { IngressVerdict } from '../check/ingress.js';

export interface CheckFlags extends CommonFlags {
  ship?: boolean;
}

export interface CheckReport {
  config: { file: string | null; searched: { from: string; to: string } | null };
  settings: SettingRow[];
  collectors: {
    dir: string;
    list: CollectorRow[];
    skipped: SkippedEntry[];
    error: string | null;
  };
  locations: LocationCheck[];
  state: { store: string; ok: boolean; detail: string };
  lock: { held: boolean; detail: string };
  ship: ShipCheck | null;
  exitCode: number;
  /** Present when the exit status is 2 or 4 (contract §7's JSON error). */
  error?: { exitCode: number; message: string };
}

export interface ShipCheck {
  /** Shipping settings usable and shipping configured (and the license valid). */
  configured: boolean;
  problem: string | null;
  transport: 'http' | 'packager';
  /** The connection test: null when it was not made (not configured) or cannot be (a packager without check()). */
  ok: boolean | null;
  verdict: string;
  detail: Partial<IngressVerdict> | null;
}

export async function checkCommand(flags: CheckFlags, out: Output, signal: AbortSignal): Promise<Outcome> {
  const ready = await setup(flags, out, { defaultLevel: 'warn' });
  const { config } = ready;
  const problems: { exitCode: number; message: string }[] = [];
  const problem = (exitCode: number, message: string): void => void problems.push({ exitCode, message });

  const collectors = await checkCollectors(config.collectors, config.collectorTimeoutMs);
  if (collectors.error !== null) problem(2, collectors.error);

  const locations = [await checkFolder('output', config.output), await checkFolder('tmpDir', config.tmpDir)];
  // A signal ends a wait on PostgreSQL at once (exit 130/143), as for gather.
  const coordination = pgCoordination(config.coordination, { signal });
  const store: StateStore = coordination?.store ?? fileStateStore(config.stateFile);
  const locker: Locker = coordination?.locker ?? fileLocker(`${config.stateFile}.lock`);
  if (coordination === null) locations.push(await checkFolder('state folder', dirnameOf(config.stateFile)));
  for (const l of locations.filter((l) => !l.ok)) problem(2, `${l.name} ${l.path}: ${l.detail}`);
  const state = await checkState(store, flags.ship === true);
  if (!state.ok) problem(2, state.detail);
  const lock = await checkLock(locker);
  if (lock.error !== null) problem(2, lock.error);

  const ship = flags.ship ? await checkShipping(ready, signal) : null;
  if (ship?.problem != null) problem(ship.configured ? 2 : 4, ship.problem);
  if (ship?.ok === false && ship.configured) problem(1, `connection test: ${ship.verdict}`);

  const exitCode = [2, 4, 1].find((code) => problems.some((p) => p.exitCode === code)) ?? 0;
  const report: CheckReport = {
    config: { file: ready.file, searched: ready.searched },
    settings: settingRows(config, ready.sources),
    collectors,
    locations,
    state,
    lock: { held: lock.held, detail: lock.detail },
    ship,
    exitCode,
  };
  const fatal = problems.filter((p) => p.exitCode === exitCode).map((p) => p.message);
  if (exitCode === 2 || exitCode === 4) report.error = { exitCode, message: fatal.join('; ') };
  out.result(flags.json ? JSON.stringify(report) : describeCheck(report));
  if (exitCode === 2) throw new ReportedError('USAGE', `check: ${fatal.join('; ')}`);
  if (exitCode === 4) throw new ReportedError('NOT_CONFIGURED', `check: ${fatal.join('; ')}`);
  return exitCode === 1 ? 'failed' : 'ok';
}

const dirnameOf = (file: string): string => file.slice(0, Math.max(1, file.lastIndexOf('/')));

async function checkCollectors(dir: string, timeoutMs: number): Promise<CheckReport['collectors']> {
  let loaded: LoadedCollector[] = [];
  let error: string | null = null;
  try {
    loaded = await loadCollectors(dir, { timeoutMs });
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    error = err.message;
  }
  const skipped = error === null ? await skippedEntries(dir, new Set(loaded.map((l) => l.file))) : [];
  const list = collectorRows(loaded);
  return { dir, list, skipped, error };
}

async function checkState(store: StateStore, ship: boolean): Promise<CheckReport['state']> {
  try {
    const state = await store.read();
    // A ship run proves it can write the state before gathering (§8); check does the same.
    const writable = (store as { checkWritable?: () => Promise<void> }).checkWritable;
    if (ship && writable) await writable.call(store);
    const keys = Object.keys(state.entries).length;
    return {
      store: store.describe(),
      ok: true,
      detail: `readable; ${keys} ${keys === 1 ? 'entry' : 'entries'}, last gather ${state.lastGather?.toISOString() ?? 'never'}`,
    };
  } catch (err) {
    if (!(err instanceof AppError) || err.code === 'INTERRUPTED') throw err;
    return { store: store.describe(), ok: false, detail: err.message };
  }
}

/**
 * Who holds the lock, by trying to take it and giving it back at once: the lock's own rules (a holder that is
 * gone, a stale lock) decide, and the PostgreSQL lock is checked the same way. A held lock is reported, not an
 * error; one that cannot be taken for another reason (permissions, the database) is exit 2.
 */
async function checkLock(locker: Locker): Promise<{ held: boolean; detail: string; error: string | null }> {
  try {
    const lock = await locker.acquire();
    await lock.release();
    return { held: false, detail: 'free: a gather could start now', error: null };
  } catch (err) {
    if (err instanceof AppError && err.code === 'LOCKED') return { held: true, detail: err.message, error: null };
    if (err instanceof AppError && err.code !== 'INTERRUPTED') return { held: false, detail: err.message, error: `lock: ${err.message}` };
    throw err;
  }
}

async function checkShipping({ config, packager, version }: Setup, signal: AbortSignal): Promise<ShipCheck> {
  const transport = packager?.ship ? 'packager' : 'http';
  const notChecked = (configured: boolean, problem: string, verdict: string): ShipCheck => ({
    configured,
    problem,
    transport,
    ok: null,
    verdict,
    detail: null,
  });
  try {
    if (transport === 'http') await checkShipSettings(config);
  } catch (err) {
    return notChecked(true, messageOf(err), 'not checked: the ship settings are not usable');
  }
  try {
    await checkAllowed(config, packager, { shipping: true, nothing: 'nothing would be gathered' });
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return notChecked(false, err.message, 'not checked: shipping is not configured');
  }
  if (packager?.ship) {
    if (!packager.check) return { configured: true, problem: null, transport, ok: null, verdict: `not checked: packager ${packager.file} has ship() but no check()`, detail: null };
    const answer = await packager.check();
    return {
      configured: true,
      problem: null,
      transport,
      ok: answer.ok,
      verdict: answer.ok ? `OK: packager check() passed${answer.message ? `: ${answer.message}` : ''}` : `packager check() failed: ${answer.error}`,
      detail: null,
    };
  }
  const { testIngress } = await import('../check/ingress.js');
  try {
    const result = await testIngress(config.ship, { version, env: process.env, signal });
    return { configured: true, problem: null, transport, ok: result.ok, verdict: result.verdict, detail: result };
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return notChecked(true, err.message, 'not checked: the ship settings are not usable');
  }
}
