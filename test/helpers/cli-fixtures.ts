/**
 * The set-up every CLI test file repeats, once: the built CLI is required before the file's tests, and the
 * projects and ingresses it makes are removed and closed after them. Call `cliFixtures()` at the top level of
 * the test file.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { cleanEnv, makeProject, requireBuild, type Project } from './fault-cli.js';
import { startIngress, type IngressOptions, type TestIngress } from './ingress.js';

export interface CliFixtures {
  /** A fresh project (see `makeProject`), removed after the file's tests. */
  project: (config?: Record<string, unknown>) => Promise<Project>;
  /** A fresh ingress, closed after the file's tests. */
  ingress: (options?: IngressOptions) => Promise<TestIngress>;
  /** The file's shared ingress (with `{ ingress: true }`), started before its tests. */
  readonly shared: TestIngress;
}

/** `ingress: true` starts one shared ingress before the file's tests (`fixtures.shared`). */
export function cliFixtures(options: { ingress?: boolean } = {}): CliFixtures {
  const projects: Project[] = [];
  const ingresses: TestIngress[] = [];
  let shared: TestIngress | null = null;
  before(async () => {
    requireBuild();
    if (options.ingress) shared = await startIngress();
  });
  after(async () => {
    await Promise.all([...ingresses, ...(shared ? [shared] : [])].map((i) => i.close()));
    await Promise.all(projects.map((p) => p.cleanup()));
  });
  return {
    project: async (config = {}) => {
      const p = await makeProject(config);
      projects.push(p);
      return p;
    },
    ingress: async (ingressOptions = {}) => {
      const ing = await startIngress(ingressOptions);
      ingresses.push(ing);
      return ing;
    },
    get shared(): TestIngress {
      if (shared === null) throw new Error('cliFixtures: no shared ingress (pass { ingress: true })');
      return shared;
    },
  };
}

/** A TypeScript helper module (`_word.ts` in the cache tests) exporting `word`. */
export const wordHelper = (word: string): string => `export const word: string = ${JSON.stringify(word)};\n`;

/** A package `tagger` exporting `tag`, in `<root>/node_modules`, which collectors import by bare name. */
export async function writeTagger(root: string, tag: string): Promise<void> {
  const dir = join(root, 'node_modules', 'tagger');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'tagger', type: 'module', exports: './index.js' }));
  await writeFile(join(dir, 'index.js'), `export const tag = ${JSON.stringify(tag)};\n`);
}

export interface CachedProject {
  readonly project: Project;
  /** The project's own cache folder (ANALYTICS_CACHE_DIR). */
  readonly cache: string;
  /** `cleanEnv` with ANALYTICS_CACHE_DIR set to the cache folder (`extra` may override it). */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
}

/**
 * The set-up of the cache tests (code cache, compiled TypeScript, relocated modules): before the file's tests, a
 * project with `collectors` written into its collectors directory (names to sources), the `tagger` package in its
 * node_modules when `tagger` is given, and a cache folder of its own; both are removed after the file's tests.
 * Call it at the top level of a `describe` or of the test file.
 */
export function cachedProject(options: { collectors?: Record<string, string>; tagger?: string } = {}): CachedProject {
  let project: Project | null = null;
  let cache: string | null = null;
  before(async () => {
    requireBuild();
    project = await makeProject();
    cache = await mkdtemp(join(tmpdir(), 'ac-cached-project-'));
    if (options.tagger !== undefined) await writeTagger(project.dir, options.tagger);
    for (const [name, source] of Object.entries(options.collectors ?? {})) await project.collector(name, source);
  });
  after(async () => {
    await project?.cleanup();
    if (cache !== null) await rm(cache, { recursive: true, force: true });
  });
  const made = <T>(value: T | null): T => {
    if (value === null) throw new Error('cachedProject: used before its before() ran');
    return value;
  };
  return {
    get project() {
      return made(project);
    },
    get cache() {
      return made(cache);
    },
    env: (extra = {}) => cleanEnv({ ANALYTICS_CACHE_DIR: made(cache), ...extra }),
  };
}
