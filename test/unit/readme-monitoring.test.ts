/**
 * The README's Monitoring recipes, exercised where a tool exists: the two alert rules pass `promtool check rules`
 * and `promtool test rules` (they fire on series like the metrics file's, and stay quiet on healthy ones).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from '../helpers/fault-cli.js';
import { checkRules, hasPromtool } from '../helpers/promtool.js';

async function rulesFromReadme(): Promise<string> {
  const readme = await readFile(join(REPO, 'README.md'), 'utf8');
  const match = /<!-- monitoring-alert-rules -->\n```yaml\n([\s\S]*?)```/.exec(readme);
  assert.ok(match, 'the README has the alert rules block after <!-- monitoring-alert-rules -->');
  return match[1]!;
}

const UNIT_TESTS = `rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # ship runs stopped succeeding 30 h before the end; the last run still reports
      - series: 'analytics_collect_last_success_timestamp_seconds{command="gather",mode="ship",instance="stale"}'
        values: '0x2000'
      - series: 'analytics_collect_last_run_timestamp_seconds{command="gather",mode="ship",instance="stale"}'
        values: '0x2000'
      # a host that never succeeded
      - series: 'analytics_collect_last_run_timestamp_seconds{command="gather",mode="ship",instance="never"}'
        values: '0x2000'
      # a healthy host: last success follows the clock
      - series: 'analytics_collect_last_success_timestamp_seconds{command="gather",mode="ship",instance="fine"}'
        values: '0+60x2000'
      - series: 'analytics_collect_key_lag_seconds{key="events",instance="fine"}'
        values: '200000x2000'
      - series: 'analytics_collect_key_lag_seconds{key="jobs",instance="fine"}'
        values: '3600x2000'
    alert_rule_test:
      - eval_time: 27h
        alertname: AnalyticsCollectNotShipped
        exp_alerts:
          - exp_labels: { severity: warning, command: gather, mode: ship, instance: never }
            exp_annotations:
              summary: "analytics-collect on never: no successful gather --ship for over 26 hours"
              description: "Run \`analytics-collect status --max-age 26h\` and \`analytics-collect history\` on that host."
          - exp_labels: { severity: warning, command: gather, mode: ship, instance: stale }
            exp_annotations:
              summary: "analytics-collect on stale: no successful gather --ship for over 26 hours"
              description: "Run \`analytics-collect status --max-age 26h\` and \`analytics-collect history\` on that host."
      - eval_time: 1h
        alertname: AnalyticsCollectKeyLagging
        exp_alerts:
          - exp_labels: { severity: warning, key: events, instance: fine }
            exp_annotations:
              summary: "analytics-collect on fine: key events lags 2d 7h 33m 20s"
              description: "The collector of events keeps failing or is frozen behind a failed slice; see \`analytics-collect history --json\`."
`;

describe('README monitoring recipes', { skip: hasPromtool ? false : 'promtool is not installed (Debian package prometheus)' }, () => {
  it('the alert rules pass promtool check rules and fire exactly where they should (promtool test rules)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ac-rules-'));
    try {
      await writeFile(join(dir, 'rules.yml'), await rulesFromReadme());
      const check = checkRules(join(dir, 'rules.yml'));
      assert.equal(check.status, 0, check.output);
      assert.match(check.output, /SUCCESS: 2 rules found/);
      await writeFile(join(dir, 'tests.yml'), UNIT_TESTS);
      const test = spawnSync('promtool', ['test', 'rules', 'tests.yml'], { cwd: dir, encoding: 'utf8' });
      assert.equal(test.status, 0, `${test.stdout}${test.stderr}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
