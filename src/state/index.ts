/** Time windows, the state and the single-run lock (contract §4). */
export { advanceState } from './advance.js';
export type { CollectionProgress, CollectorProgress, RunProgress } from './advance.js';
export { checkPositions, emptyState, FUTURE_TOLERANCE_MS, fileStateStore, keyRecord, parseState, serializeState } from './file-store.js';
export { fileLocker } from './lock.js';
export type { FileLockerOptions, LockHolder } from './lock.js';
export {
  collectorWindow,
  collectSlices,
  FOUR_WEEKS_MS,
  parseDateFlag,
  parseIsoDate,
  resolveRunWindow,
  sliceRequest,
} from './window.js';
export type { CollectorWindowInput, RunWindow, RunWindowInput, SliceRequestInput } from './window.js';
export { cleanLeftovers, createRunDir, RUN_DIR_PREFIX } from './leftovers.js';
export type { Leftovers } from './leftovers.js';
