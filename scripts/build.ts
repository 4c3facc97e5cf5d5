/**
 * The build after `tsc` (`npm run build`; `--dist DIR` writes into another dist/, as bench/run.ts does):
 * - dist/bundle/: the CLI bundled by esbuild, with the dependencies it loads (start-up time: Node 20 loads an ES
 *   module graph of hundreds of files — zod alone is about a hundred — far slower than a few big files). The
 *   entry points are `main.js` (the bin imports it), `index.js` and `postgres.js` (what `analytics-collect` and
 *   `analytics-collect/postgres` resolve to inside collector modules, so that they share the loader's
 *   `register`); each command's code stays in its own chunk, loaded only when the command runs. tsc's dist/ stays
 *   what the package exports to programs that import it.
 * - dist/cli/help-texts.json: commander's help for every command rendered from the real program, which the bin
 *   prints for `--help` without loading the CLI (src/cli/static-help.ts).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { renderHelpTexts } from '../src/cli/static-help.js';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({ options: { dist: { type: 'string' } } });
const DIST = values.dist === undefined ? join(ROOT, 'dist') : resolve(values.dist);

/**
 * Left to Node's own resolution: esbuild (a native binary, compiles collectors), tsx and typescript (loaded on
 * demand for a TypeScript configuration), and the optional peer dependencies the user installs.
 */
const EXTERNAL = ['esbuild', 'tsx', 'typescript', 'pg', 'pg-copy-streams'];

/**
 * zod's error messages in some forty languages are half of zod (330 KiB to parse at every start); the CLI
 * uses zod's default, English, which zod itself imports from locales/en.js. Only `z.locales` loses the others.
 */
const englishOnlyZod: Plugin = {
  name: 'zod-english-only',
  setup(plugin) {
    plugin.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: "export { default as en } from './en.js';\n",
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

rmSync(join(DIST, 'bundle'), { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: { main: 'src/cli/main.ts', index: 'src/index.ts', postgres: 'src/postgres/index.ts' },
  outdir: join(DIST, 'bundle'),
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  plugins: [englishOnlyZod],
  define: { ANALYTICS_COLLECT_BUNDLED: 'true' },
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __analyticsCollectRequire } from 'node:module'; const require = __analyticsCollectRequire(import.meta.url);" },
  logLevel: 'warning',
});

mkdirSync(join(DIST, 'cli'), { recursive: true });
writeFileSync(join(DIST, 'cli', 'help-texts.json'), `${JSON.stringify(renderHelpTexts())}\n`);
