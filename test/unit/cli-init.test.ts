import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { schemaRef, schemaUrl, starterConfig, starterFiles } from '../../src/cli/commands/init.js';
import { validateConfig } from '../../src/config/schema.js';

describe('init starter files', () => {
  it('the starter configuration passes validation and points editors at the schema of this version', () => {
    const raw = JSON.parse(starterConfig('1.2.3')) as Record<string, unknown>;
    const checked = validateConfig(raw, 'analytics.config.json');
    assert.ok(checked.ok, checked.ok ? '' : checked.problems.join('\n'));
    assert.equal(raw.$schema, schemaUrl('1.2.3'));
    assert.match(String(raw.$schema), /analytics-collect@1\.2\.3\/schema\/analytics\.config\.schema\.json$/);
  });

  it('$schema is a relative path to the schema this CLI ships, else the published URL', () => {
    assert.equal(schemaRef('/srv/app', '1.2.3', '/srv/app/node_modules/analytics-collect/schema/s.json', () => true), './node_modules/analytics-collect/schema/s.json');
    assert.equal(schemaRef('/srv/app', '1.2.3', '/usr/lib/node_modules/analytics-collect/schema/s.json', () => true), '../../usr/lib/node_modules/analytics-collect/schema/s.json');
    assert.equal(schemaRef('/srv/app', '1.2.3', '/nonexistent/schema.json'), schemaUrl('1.2.3'));
  });

  it('writes a config collector and one TypeScript example that import analytics-collect', () => {
    const files = starterFiles('1.0.0');
    assert.deepEqual(Object.keys(files), ['analytics.config.json', 'collectors/config.ts', 'collectors/example.ts']);
    assert.match(files['collectors/config.ts']!, /config: true/);
    for (const name of ['collectors/config.ts', 'collectors/example.ts']) assert.match(files[name]!, /from 'analytics-collect'/);
  });
});
