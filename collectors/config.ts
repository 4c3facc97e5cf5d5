import { register } from 'analytics-collect';
import { readFile } from 'node:fs/promises';

/**
 * The config collector: describes the installation. Its output is `config.json` in every tarball; if it fails,
 * nothing is written at all, so keep it simple and fast.
 */
export const config = register(
  { key: 'config', version: '1.0', config: true, description: 'product, version and installation id' },
  async (ctx) => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    return {
      product: 'analytics-collect-example',
      version: pkg.version,
      installId: '00000000-0000-4000-8000-000000000000',
      window: { since: ctx.since.toISOString(), until: ctx.until.toISOString() },
    };
  },
);
