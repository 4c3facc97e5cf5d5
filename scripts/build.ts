/**
 * The build after `tsc` (`npm run build`; `--dist DIR` writes into another dist/, as bench/run.ts does):
 * - dist/bundle/cli.cjs: the CLI bundled by esbuild into one CommonJS file, with the dependencies it loads.
 *   CommonJS so that the bin can compile it with a V8 code cache (bin/analytics-collect; Node 20 has no code
 *   cache for ES modules): with the cache, start-up no longer parses the bundle. Each command's code, and every
 *   dependency only some commands use, is still evaluated only when a command needs it (esbuild wraps what is
 *   loaded by `import()` in functions run on first use). Its first line names the build (a hash of the rest),
 *   which keys the code cache.
 * - dist/bundle/<package>.cjs: the packages in CHUNKS (uploading, tarballs, metrics, CSV parsing), each bundled
 *   on its own and loaded when first used, through the same code cache: the commands that never use them (`list`,
 *   `state`, `check`…) do not read them at all. All files of one build carry the same build line.
 * - dist/bundle/index.js and postgres.js: what `analytics-collect` and `analytics-collect/postgres` resolve to
 *   inside collector modules — ES modules that take their exports from the running CLI's cli.cjs (one instance
 *   in Node's CommonJS cache), so that a collector's `register` is the one the loader watches. main.js does the
 *   same for the CLI's entry, for programs that import it.
 * - dist/bundle/redact-worker.js: the redaction thread's entry (src/redact/off-thread.ts starts it from beside
 *   cli.cjs), an ES module of its own with the redaction code it runs.
 * - dist/cli/help-texts.json: commander's help for every command rendered from the real program, which the bin
 *   prints for `--help` without loading the CLI (src/cli/static-help.ts).
 * tsc's dist/ stays what the package exports to programs that import it.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import ts from 'typescript';
import { renderHelpTexts } from '../src/cli/static-help.js';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({ options: { dist: { type: 'string' } } });
const DIST = values.dist === undefined ? join(ROOT, 'dist') : resolve(values.dist);
const BUNDLE = join(DIST, 'bundle');

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

/**
 * Built-in modules that dependencies load at start but use only in code the CLI never runs (or runs late):
 * commander's child_process (executable subcommands), sonic-boom's assert. Each becomes a stand-in that loads
 * the real module on first use: child_process alone brings net, dgram and more (a few ms at every start).
 */
const LAZY_BUILTINS = new Set(['child_process', 'assert']);

/**
 * The rest of what keeps worker_threads in start-up: pino's transports (worker threads; the CLI formats in its
 * own thread, src/log.ts), loaded only if ever used, and one question pino asks for asynchronous destinations.
 */
const lazyDependencies: Plugin = {
  name: 'lazy-dependencies',
  setup(plugin) {
    plugin.onResolve({ filter: /^(?:node:)?(?:child_process|assert)$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]/.test(args.importer)) return undefined;
      const name = args.path.replace(/^node:/, '');
      return LAZY_BUILTINS.has(name) ? { path: name, namespace: 'lazy-builtin' } : undefined;
    });
    plugin.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents: [
        `let real;`,
        `const load = () => (real ??= require('node:${args.path}'));`,
        `module.exports = new Proxy(function () {}, {`,
        `  apply: (_target, self, list) => Reflect.apply(load(), self, list),`,
        `  get: (_target, key) => load()[key],`,
        `  has: (_target, key) => key in load(),`,
        `});`,
      ].join('\n'),
      loader: 'js',
    }));
    // tools.js asks worker_threads whether it runs in the main thread, for asynchronous destinations only (the
    // CLI's are synchronous): asked when needed instead.
    plugin.onLoad({ filter: /[\\/]node_modules[\\/]pino[\\/]lib[\\/]tools\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const declaration = "const { isMainThread } = require('worker_threads')\n";
      const use = '!opts.sync && isMainThread)';
      if (!text.includes(declaration) || !text.includes(use)) throw new Error(`${args.path} changed: update lazyDependencies in scripts/build.ts`);
      return { contents: text.replace(declaration, '').replace(use, "!opts.sync && require('worker_threads').isMainThread)"), loader: 'js' };
    });
    plugin.onResolve({ filter: /^\.\/(?:lib\/)?transport$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]pino[\\/]/.test(args.importer)) return undefined;
      return { path: join(dirname(args.importer), `${args.path}.js`), namespace: 'lazy-transport' };
    });
    plugin.onLoad({ filter: /.*/, namespace: 'lazy-transport' }, (args) => ({
      contents: `module.exports = function transport(...list) { return require(${JSON.stringify(args.path)})(...list); };\n`,
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
};

/** Whether an `import()` of this argument stays an import at run time (not bundled by esbuild). */
function staysImport(argument: ts.Expression | undefined): boolean {
  if (argument === undefined || !ts.isStringLiteralLike(argument)) return true;
  const name = argument.text;
  return EXTERNAL.some((external) => name === external || name.startsWith(`${external}/`));
}

/**
 * Every `import()` that stays one at run time becomes `__acImport()`. V8 loses a script's dynamic-import host
 * options when it is compiled from a code cache (Node 20: "A dynamic import callback was not specified"), so
 * the bundle imports through a function of the bin, a module Node compiled itself; `import()`s that esbuild
 * bundles (our own `import('./commands/list.js')`) are left to it. Source text, not the output, is rewritten: a
 * parser tells an `import(` in code from one in a string (the module hooks' source, hooks.ts) or a comment.
 */
const importsThroughTheBin: Plugin = {
  name: 'imports-through-the-bin',
  setup(plugin) {
    plugin.onLoad({ filter: /\.(?:[cm]?[jt]s)$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import(')) return undefined;
      const kind = /\.[cm]?ts$/.test(args.path) ? ts.ScriptKind.TS : ts.ScriptKind.JS;
      const source = ts.createSourceFile(args.path, text, ts.ScriptTarget.Latest, false, kind);
      const starts: number[] = [];
      const visit = (node: ts.Node): void => {
        if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && staysImport(node.arguments[0])) {
          starts.push(node.expression.getStart(source));
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
      if (starts.length === 0) return undefined;
      let contents = text;
      for (const start of starts.reverse()) contents = `${contents.slice(0, start)}__acImport${contents.slice(start + 'import'.length)}`;
      const loader = kind === ts.ScriptKind.TS ? 'ts' : 'js';
      return { contents, loader, resolveDir: dirname(args.path) };
    });
  },
};

/**
 * Packages that only some commands load (got: uploads; tar: writing and reading tarballs; prom-client: the
 * metrics file; csv-parse: `inspect`), by the specifier our code imports, and the chunk file each becomes. They
 * are a third of the bundle, which every command would otherwise read at start. Not csv-stringify: collector
 * modules import CsvFileSplitter, so `list` loads it.
 */
const CHUNKS: Readonly<Record<string, string>> = { got: 'got', tar: 'tar', 'prom-client': 'prom-client', 'csv-parse/sync': 'csv-parse' };

/**
 * Our imports of a chunked package become a stand-in that takes it from its chunk (`__acChunk`, see PRELUDE) when
 * the importing module is evaluated: an ES module re-exporting the names the chunk has (so that a default import
 * stays the package's default export), or the chunk's exports as they are for a CommonJS package.
 */
function chunkStandIns(shapes: ReadonlyMap<string, { esm: boolean; names: string[] }>): Plugin {
  return {
    name: 'chunk-stand-ins',
    setup(plugin) {
      const specifiers = Object.keys(CHUNKS).map((name) => name.replace(/[/.-]/g, '\\$&'));
      plugin.onResolve({ filter: new RegExp(`^(?:${specifiers.join('|')})$`) }, (args) => {
        if (/[\\/]node_modules[\\/]/.test(args.importer)) return undefined;
        return { path: args.path, namespace: 'chunk' };
      });
      plugin.onLoad({ filter: /.*/, namespace: 'chunk' }, (args) => {
        const chunk = CHUNKS[args.path]!;
        const { esm, names } = shapes.get(chunk)!;
        const load = `__acChunk(${JSON.stringify(chunk)})`;
        if (!esm) return { contents: `module.exports = ${load};\n`, loader: 'js' };
        const named = names.filter((name) => name !== 'default');
        const lines = [`const chunk = ${load};`];
        if (names.includes('default')) lines.push('export default chunk.default;');
        if (named.length > 0) lines.push(`export const { ${named.join(', ')} } = chunk;`);
        return { contents: `${lines.join('\n')}\n`, loader: 'js' };
      });
    },
  };
}

/**
 * `import.meta` of the bundled ES modules, in CommonJS; `__acImport` is the bin's import (see above), or a plain
 * `import()` when cli.cjs is loaded by `require` (main.js, or a bin that predates the code cache).
 */
const PRELUDE = [
  "var __acUrl = require('node:url').pathToFileURL(__filename).href;",
  "var __acResolve = (specifier) => require('node:url').pathToFileURL(require.resolve(specifier)).href;",
  "var __acImport = typeof __acLoaderImport === 'function' ? __acLoaderImport : (specifier, options) => import(specifier, options);",
  "var __acChunk = typeof __acLoaderChunk === 'function' ? __acLoaderChunk : (name) => require(`./${name}.cjs`);",
].join('\n');

/** What every bundle of the CLI (cli.cjs and the chunks) is built with. */
const COMMON = {
  absWorkingDir: ROOT,
  write: false,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  // Every start reads the whole file (the code cache holds compiled code, not the source V8 compiles the rest
  // from): without indentation and comments it is a third smaller. Names stay as they are (stack traces, error
  // names, `constructor.name`).
  minifyWhitespace: true,
  define: {
    ANALYTICS_COLLECT_BUNDLED: 'true',
    'import.meta.url': '__acUrl',
    'import.meta.dirname': '__dirname',
    'import.meta.filename': '__filename',
    'import.meta.resolve': '__acResolve',
  },
  banner: { js: PRELUDE },
  logLevel: 'warning',
} as const satisfies BuildOptions;

// esbuild escapes every non-ASCII character in code but keeps comments as they are: an ASCII file is read as a
// one-byte string, several times faster than decoding UTF-8 into a two-byte one (2 MB at every start).
const ascii = (text: string): string => text.replace(/[^\x00-\x7f]/g, '?');

/**
 * Each file of the bundle is its own wrapper, so that the bin compiles the file's text as it is read (a string
 * built around a megabyte of source would be copied whole into V8's heap at every start): run as a script
 * (`this` is the global object) it hands the bin the module function, which takes the bin's `import()` and chunk
 * loader too (bin/analytics-collect); required as a CommonJS module (main.js) it runs itself.
 */
const wrapped = (text: string): string =>
  [
    '(function (body, self) { return self === globalThis ? body : body(exports, require, module, __filename, __dirname); })(',
    `function (exports, require, module, __filename, __dirname, __acLoaderImport, __acLoaderChunk) {${text}\n}, this);\n`,
  ].join('');

rmSync(BUNDLE, { recursive: true, force: true });
mkdirSync(BUNDLE, { recursive: true });
const chunks = new Map<string, string>();
const shapes = new Map<string, { esm: boolean; names: string[] }>();
for (const [specifier, chunk] of Object.entries(CHUNKS)) {
  const built = await build({
    ...COMMON,
    stdin: { contents: `module.exports = require(${JSON.stringify(specifier)});\n`, resolveDir: ROOT, sourcefile: `${chunk}-chunk.cjs`, loader: 'js' },
    outfile: join(BUNDLE, `${chunk}.cjs`),
    plugins: [lazyDependencies, importsThroughTheBin],
  });
  const code = wrapped(ascii(built.outputFiles[0]!.text));
  chunks.set(chunk, code);
  // Its shape, from the chunk itself (loading these packages has no side effects): an ES module's namespace
  // carries __esModule once bundled as CommonJS.
  const file = join(BUNDLE, `${chunk}.cjs`);
  writeFileSync(file, code);
  const exported = createRequire(file)(file) as Record<string, unknown>;
  shapes.set(chunk, { esm: exported.__esModule === true, names: Object.keys(exported).filter((name) => name !== '__esModule') });
}
const result = await build({
  ...COMMON,
  stdin: {
    // index and postgres are functions, so that the CLI evaluates them only when a collector imports them.
    contents: [
      "export { exitProcess, runCli } from './src/cli/main.ts';",
      "export const index = () => require('./src/index.ts');",
      "export const postgres = () => require('./src/postgres/index.ts');",
    ].join('\n'),
    resolveDir: ROOT,
    sourcefile: 'cli-entry.ts',
    loader: 'ts',
  },
  outfile: join(BUNDLE, 'cli.cjs'),
  plugins: [chunkStandIns(shapes), englishOnlyZod, lazyDependencies, importsThroughTheBin],
});
const code = wrapped(ascii(result.outputFiles[0]!.text));
// One build line for every file: the bin keys the code cache of each by it, and uses no cache for a chunk whose
// line differs from cli.cjs's (files of two builds mixed).
const hash = createHash('sha256').update(code);
for (const [chunk, text] of [...chunks].sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(`\0${chunk}\0${text}`);
const buildLine = `// analytics-collect build ${hash.digest('hex').slice(0, 32)}\n`;
writeFileSync(join(BUNDLE, 'cli.cjs'), `${buildLine}${code}`);
for (const [chunk, text] of chunks) writeFileSync(join(BUNDLE, `${chunk}.cjs`), `${buildLine}${text}`);

/** The names an entry point exports (types aside), as esbuild sees them. */
async function exportNames(entry: string): Promise<string[]> {
  const { metafile } = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    packages: 'external',
    format: 'esm',
    platform: 'node',
    write: false,
    outdir: join(BUNDLE, 'names'),
    metafile: true,
    logLevel: 'warning',
  });
  return Object.values(metafile.outputs).flatMap((output) => output.exports).sort();
}

const wrapper = (from: string, names: string[]): string =>
  [
    '// The running CLI\'s own instance (scripts/build.ts).',
    "import { createRequire } from 'node:module';",
    `export const { ${names.join(', ')} } = createRequire(import.meta.url)('./cli.cjs')${from};`,
    '',
  ].join('\n');
writeFileSync(join(BUNDLE, 'index.js'), wrapper('.index()', await exportNames('src/index.ts')));
writeFileSync(join(BUNDLE, 'postgres.js'), wrapper('.postgres()', await exportNames('src/postgres/index.ts')));
writeFileSync(join(BUNDLE, 'main.js'), wrapper('', ['exitProcess', 'runCli']));

await build({
  absWorkingDir: ROOT,
  entryPoints: ['src/redact/redact-worker.ts'],
  outfile: join(BUNDLE, 'redact-worker.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  define: { ANALYTICS_COLLECT_BUNDLED: 'true' },
  logLevel: 'warning',
});

mkdirSync(join(DIST, 'cli'), { recursive: true });
writeFileSync(join(DIST, 'cli', 'help-texts.json'), `${JSON.stringify(renderHelpTexts())}\n`);
