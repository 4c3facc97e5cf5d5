/**
 * The upload guard (contract §5): a tarball whose compressed size exceeds `ship.uploadLimit` is not sent — the
 * ingress would answer 413 after we pushed every byte. The message says what made it big.
 */
import type { ShipInfo, Shipper } from '../types.js';

/** `1536` → `1.5 KiB`; exact bytes are given next to it where it matters. */
export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

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
    .map((m) => `${m.name} (${humanBytes(m.size)} uncompressed)`);
  const members = largest.length > 0 ? `; largest members: ${largest.join(', ')}` : '';
  return (
    `${tarballPath} is ${info.bytes} bytes (${humanBytes(info.bytes)}) compressed, over ship.uploadLimit ` +
    `${uploadLimit} bytes (${humanBytes(uploadLimit)}), so it was not sent${members}; ` +
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
