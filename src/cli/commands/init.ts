/**
 * `analytics-collect init [DIR]`: a starter configuration and collectors folder that gathers at once.
 */
import { mkdir, writeFile, access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { usageError } from '../../errors.js';
import type { Output } from '../output.js';

const SCHEMA_URL = 'https://unpkg.com/analytics-collect/schema/analytics.config.schema.json';

const FILES: Record<string, string> = {
  'analytics.config.json': `${JSON.stringify(
    {
      $schema: SCHEMA_URL,
      collectors: './collectors',
      output: './analytics-out',
      stateFile: './.analytics-collect/state.json',
      maxDataSize: 209715200,
      ship: {
        url: 'https://ingress.example.com/api/ingress/v1/upload',
        contentType: 'application/vnd.redhat.myproduct.analytics+tgz',
        auth: 'basic',
      },
    },
    null,
    2,
  )}\n`,
  'collectors/config.ts': `import { register } from 'analytics-collect';

/** Describes this installation; its output is config.json in every tarball. */
export const config = register({ key: 'config', version: '1.0', config: true, description: 'product and installation' },
  async () => ({ product: 'my-product', version: '1.0.0', installId: 'replace-me' }));
`,
  'collectors/example.ts': `import { hostname, cpus, totalmem } from 'node:os';
import { register } from 'analytics-collect';

/** A JSON collector: returns a value; null or undefined means nothing collected. */
export const host = register({ key: 'host', version: '1.0', description: 'facts about this host' },
  async (ctx) => {
    ctx.logger.debug({ since: ctx.since, until: ctx.until }, 'collecting host facts');
    return { hostname: hostname(), cpus: cpus().length, memoryBytes: totalmem(), collectedUntil: ctx.until.toISOString() };
  });
`,
};

export async function initCommand(dir: string, out: Output): Promise<number> {
  const root = resolve(dir);
  const existing: string[] = [];
  for (const name of Object.keys(FILES)) {
    if (await access(join(root, name)).then(() => true, () => false)) existing.push(join(root, name));
  }
  if (existing.length > 0) {
    throw usageError(`init writes nothing: ${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; choose another DIR or move them away`);
  }
  await mkdir(join(root, 'collectors'), { recursive: true });
  for (const [name, text] of Object.entries(FILES)) {
    await writeFile(join(root, name), text, { flag: 'wx' });
    out.result(join(root, name));
  }
  out.note(`Next: cd ${dir} && analytics-collect gather   (a dry run: tarballs land in ./analytics-out)`);
  return 0;
}
