/**
 * The run's side of the tarball queue: writing a tarball (its fixed members and the `.tar.gz`) and uploading
 * it, with the log lines and progress events that go with each.
 */
import { basename } from 'node:path';
import type { Logger } from 'pino';
import { messageOf } from '../errors.js';
import { closeTarball } from '../pack/close.js';
import type { ShipInfo, ShipResult, Shipper } from '../types.js';
import type { DeflateAhead } from './ahead.js';
import type { TarballJob } from './assemble.js';
import type { GatherEvent } from './events.js';
import type { Written } from './queue.js';

export interface WrittenTarball extends Written {
  info: ShipInfo;
}

export interface TarballIo {
  write(job: TarballJob): Promise<WrittenTarball>;
  ship?: (job: TarballJob, written: WrittenTarball) => Promise<ShipResult>;
}

export interface TarballIoOptions {
  config: { file: string; version: string };
  since: Date | null;
  until: Date;
  gzipLevel: number;
  signal: AbortSignal;
  /** Paths being written now, for the last-resort cleanup of a process that exits mid-write. */
  writing: Set<string>;
  shipper?: Shipper | undefined;
  /** Members deflated ahead of time, used when their tarball is written. */
  ahead?: DeflateAhead | undefined;
  logger: Logger;
  onEvent?: ((event: GatherEvent) => void) | undefined;
}

export function tarballIo(options: TarballIoOptions): TarballIo {
  const { logger, signal } = options;
  const write = async (job: TarballJob): Promise<WrittenTarball> => {
    options.writing.add(job.path);
    try {
      const members = await Promise.all(job.members.map(async (m) => ({ ...m, deflated: (await options.ahead?.segmentOf(m.file)) ?? undefined })));
      const closed = await closeTarball({
        path: job.path,
        members,
        config: options.config,
        rows: job.rows,
        mtime: options.until,
        gzipLevel: options.gzipLevel,
        signal,
      });
      options.onEvent?.({ type: 'tarball-written', path: job.path, bytes: closed.bytes });
      logger.info({ tarball: job.path, bytes: closed.bytes }, `wrote ${job.path}`);
      const info: ShipInfo = {
        fileName: basename(job.path),
        bytes: closed.bytes,
        members: closed.members,
        since: options.since,
        until: options.until,
        shippingGroup: job.group,
      };
      return { bytes: closed.bytes, members: closed.members.map((m) => m.name), info };
    } catch (err) {
      logger.error({ tarball: job.path }, `tarball ${job.path} not written: ${signal.aborted ? 'the run was stopped' : messageOf(err)}`);
      throw err;
    } finally {
      options.writing.delete(job.path);
      const ahead = options.ahead;
      if (ahead) await Promise.all(job.members.map((m) => ahead.release(m.file)));
    }
  };
  const shipper = options.shipper;
  if (!shipper) return { write };
  const ship = async (job: TarballJob, written: WrittenTarball): Promise<ShipResult> => {
    const result = await shipper.send(job.path, written.info, signal);
    const name = written.info.fileName;
    if (result.status === 'sent') logger.info({ tarball: job.path, requestId: result.requestId }, `shipped ${name}`);
    else logger.error({ tarball: job.path }, `upload of ${name} failed: ${result.error}`);
    options.onEvent?.({
      type: 'tarball-shipped',
      path: job.path,
      ok: result.status === 'sent',
      ...(result.status === 'sent' && result.requestId ? { requestId: result.requestId } : {}),
      ...(result.status !== 'sent' ? { error: result.error } : {}),
    });
    return result;
  };
  return { write, ship };
}
