/**
 * The set-up every CLI test file repeats, once: the built CLI is required before the file's tests, and the
 * projects and ingresses it makes are removed and closed after them. Call `cliFixtures()` at the top level of
 * the test file.
 */
import { after, before } from 'node:test';
import { makeProject, requireBuild, type Project } from './fault-cli.js';
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
