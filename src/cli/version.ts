/**
 * This package's version, read from its package.json without loading anything else (`--version` starts fast).
 * src/cli/version.ts, dist/cli/version.js and the bundled CLI's chunks (dist/bundle/, scripts/build.ts) all sit
 * two levels below the package root.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The path of a file this package ships, given from the package root (`schema/…`). */
export const packageFile = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));

let version: string | undefined;

export function toolVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}
