/**
 * This package's version, read from its package.json without loading anything else (`--version` starts fast).
 * src/cli/version.ts and dist/cli/version.js both sit two levels below the package root.
 */
import { readFileSync } from 'node:fs';

let version: string | undefined;

export function toolVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}
