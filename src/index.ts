/**
 * analytics-collect — the API that collector modules import.
 *
 * @example
 * import { register, CsvFileSplitter } from 'analytics-collect';
 */
export { register, isCollector } from './collect/register.js';
export type {
  Collector,
  CollectorContext,
  CollectorMeta,
  CollectorFunction,
  SliceRequest,
  SlicingFunction,
  JsonCollectorResult,
  CsvCollectorResult,
} from './collect/register.js';
export { CsvFileSplitter } from './collect/csv-splitter.js';
export type { CsvFileSplitterOptions } from './collect/csv-splitter.js';
export type { PackagerModule, PackagerShipResult, TarballBaseArgs } from './packager.js';
export type { ShipInfo } from './types.js';
