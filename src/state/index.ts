/** Time windows, the state and the single-run lock (contract §4). */
export { advanceState } from './advance.js';
export { checkPositions, fileStateStore } from './file-store.js';
export { fileLocker } from './lock.js';
export { collectorWindow, collectSlices, parseDateFlag, resolveRunWindow, sliceRequest } from './window.js';
export { cleanLeftovers } from './leftovers.js';
