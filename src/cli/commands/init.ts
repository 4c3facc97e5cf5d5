/**
 * `analytics-collect init [DIR]`: a starter configuration and collectors folder that gathers at once, with no
 * `npm install` in DIR — the collectors import 'analytics-collect', which resolves to the running CLI.
 */
import { existsSync } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { packageFile, toolVersion } from '../version.js';
import { messageOf, usageError } from '../../errors.js';
import type { Outcome } from '../outcome.js';
import type { Output } from '../output.js';

/** The published schema of this version, for when this CLI's own copy cannot be found. */
export const schemaUrl = (version: string): string => `https://unpkg.com/analytics-collect@${version}/schema/analytics.config.schema.json`;

/** The schema this CLI ships. */
export const SCHEMA_FILE = packageFile('schema/analytics.config.schema.json');

/**
 * `$schema` for a config file in `dir`: a relative path to the schema this CLI ships (for a local install,
 * `./node_modules/analytics-collect/schema/analytics.config.schema.json`), so that an editor completes and checks
 * the file offline, with the schema of the version that reads it. The published URL only when the file is missing.
 */
export function schemaRef(dir: string, version: string, schemaFile = SCHEMA_FILE, exists: (path: string) => boolean = existsSync): string {
  if (!exists(schemaFile)) return schemaUrl(version);
  const rel = relative(dir, schemaFile).split(sep).join('/');
  return rel.startsWith('../') ? rel : `./${rel}`;
}

/** The starter configuration: valid as it is for dry runs; `--ship` needs a real url, content type and credentials. */
export function starterConfig(version: string, schema = schemaUrl(version)): string {
  const config = {
    $schema: schema,
    collectors: './collectors',
    output: './analytics-out',
    stateFile: './.analytics-collect/state.json',
    maxDataSize: 209715200,
    collectorTimeoutMs: 3600000,
    ship: {
      url: 'https://ingress.example.com/api/ingress/v1/upload',
      contentType: 'application/vnd.redhat.myproduct.analytics+tgz',
      auth: 'basic',
    },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

const CONFIG_COLLECTOR = `import { register } from 'analytics-collect';

/**
 * The config collector: exactly one per collectors folder. Its output is config.json in every tarball; when it
 * fails or returns nothing, no tarball is written and the run exits 1. Keep it small and fast.
 */
export const config = register(
  { key: 'config', version: '1.0', config: true, description: 'product and installation' },
  async () => ({ product: 'my-product', version: '1.0.0', installId: 'replace-me' }),
);
`;

const EXAMPLE_COLLECTOR = `import { arch, cpus, platform, release, totalmem } from 'node:os';
import { register } from 'analytics-collect';

/**
 * A JSON collector: whatever it returns is written as host.json (null or undefined: nothing collected).
 * ctx.since / ctx.until is the window to collect; ctx.signal aborts on Ctrl-C and on collectorTimeoutMs.
 * For CSV output (CsvFileSplitter), day slicing and full syncs, see the README's "Writing collectors".
 */
export const host = register(
  { key: 'host', version: '1.0', description: 'operating system, CPUs and memory of this host' },
  async (ctx) => {
    ctx.logger.debug({ since: ctx.since, until: ctx.until }, 'collecting host facts');
    return { platform: platform(), release: release(), arch: arch(), cpus: cpus().length, memoryBytes: totalmem() };
  },
);
`;

/** The files `init` writes, relative to DIR. */
export function starterFiles(version: string, schema = schemaUrl(version)): Record<string, string> {
  return {
    'analytics.config.json': starterConfig(version, schema),
    'collectors/config.ts': CONFIG_COLLECTOR,
    'collectors/example.ts': EXAMPLE_COLLECTOR,
  };
}

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

export async function initCommand(dir: string, out: Output): Promise<Outcome> {
  const root = resolve(dir);
  const files = starterFiles(toolVersion(), schemaRef(root, toolVersion()));
  const existing: string[] = [];
  for (const name of Object.keys(files)) if (await exists(join(root, name))) existing.push(join(root, name));
  if (existing.length > 0) {
    throw usageError(
      `init writes nothing: ${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; choose another DIR or move ${existing.length === 1 ? 'it' : 'them'} away`,
    );
  }
  try {
    await mkdir(join(root, 'collectors'), { recursive: true });
  } catch (err) {
    throw usageError(`init: cannot create ${join(root, 'collectors')} (${messageOf(err)}); choose another DIR`, err);
  }
  for (const [name, text] of Object.entries(files)) {
    // 'wx': should a file appear between the check and now, fail rather than overwrite it.
    await writeFile(join(root, name), text, { flag: 'wx' });
    out.result(join(root, name));
  }
  const rel = relative(process.cwd(), root);
  const cd = rel.startsWith('..') ? root : rel;
  out.note(
    [
      `Wrote a starter setup in ${root}:`,
      '  analytics.config.json   the configuration (editors check and complete it through "$schema")',
      '  collectors/config.ts    the config collector: config.json in every tarball',
      '  collectors/example.ts   a JSON collector to start from',
      '',
      `Next: ${cd === '' ? '' : `cd ${cd} && `}analytics-collect check && analytics-collect gather    (a dry run: tarballs land in analytics-out/)`,
      'To upload: set ship.url and ship.contentType, then ANALYTICS_USERNAME and ANALYTICS_PASSWORD;',
      'analytics-collect check --ship tests them (nothing is stored), then run gather --ship.',
    ].join('\n'),
  );
  return 'ok';
}
