/** `promtool` (Debian package `prometheus`), when installed: the real parser for the metrics file and the rules. */
import { spawnSync } from 'node:child_process';

const installed = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
const ci = !['', '0', 'false'].includes((process.env.CI ?? '').trim().toLowerCase());

/** Run the promtool checks: when it is installed, and always in CI (where .ci/run installs it; missing is a failure). */
export const hasPromtool = installed || ci;

/** `promtool check metrics` on `text`: its exit status and what it said. */
export function checkMetrics(text: string): { status: number | null; output: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** `promtool check rules FILE`. */
export function checkRules(file: string): { status: number | null; output: string } {
  const run = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
