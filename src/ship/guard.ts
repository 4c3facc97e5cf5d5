/**
 * The upload guard (contract §5): a tarball whose compressed size exceeds `ship.uploadLimit` is not sent — the
 * ingress would answer 413 after we pushed every byte. The message says what made it big.
 */
import { formatBytes } from '../format.js';
import type { ShipInfo, Shipper } from '../types.js';

const LARGEST_SHOWN = 3;
/** Members every tarball has; naming them as "largest" would not tell the user what to split. */
const FIXED_MEMBERS = new Set(['config.json', 'data_collection_status.csv', 'manifest.json']);

/** Null when the tarball may be sent, else the one-line reason it may not. Pure. */
export function uploadGuardProblem(tarballPath: string, info: ShipInfo, uploadLimit: number): string | null {
  if (info.bytes <= uploadLimit) return null;
  // The data members are what maxDataSize governs; the fixed ones only when there is nothing else.
  const data = info.members.filter((m) => !FIXED_MEMBERS.has(m.name));
  const largest = [...(data.length > 0 ? data : info.members)]
    .sort((a, b) => b.size - a.size)
    .slice(0, LARGEST_SHOWN)
    .map((m) => `${m.name} (${formatBytes(m.size)} uncompressed)`);
  const members = largest.length > 0 ? `; largest members: ${largest.join(', ')}` : '';
  return (
    `not sent: ${info.bytes} bytes (${formatBytes(info.bytes)}) compressed, over ship.uploadLimit ` +
    `${uploadLimit} bytes (${formatBytes(uploadLimit)})${members}; ` +
    'lower maxDataSize (or have the collector split its output) so tarballs stay under the limit'
  );
}

/** Wraps `shipper` so that oversized tarballs fail at once, without a request. */
export function withUploadGuard(shipper: Shipper, uploadLimit: number): Shipper {
  return {
    async send(tarballPath, info, signal) {
      const problem = uploadGuardProblem(tarballPath, info, uploadLimit);
      if (problem !== null) return { status: 'failed', error: problem };
      return shipper.send(tarballPath, info, signal);
    },
  };
}
