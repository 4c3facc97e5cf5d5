/**
 * The published JSON Schema of the configuration file, generated from the zod schema so the two cannot drift.
 * Regenerate `schema/analytics.config.schema.json` after changing src/config/schema.ts:
 *
 *     node --import tsx src/config/write-schema.ts        (npm run schema)
 *
 * test/unit/config-schema.test.ts fails while the committed file differs from what this returns.
 */
import { z } from 'zod';
import { configSchema } from './schema.js';

/** The JSON Schema (draft 2020-12) describing what a configuration file may hold, defaults included. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, {
    target: 'draft-2020-12',
    // The schema describes what a user writes: keys with defaults are optional there.
    io: 'input',
    override: ({ jsonSchema }) => {
      // z.int() bounds every integer to the safe range; that adds noise and says nothing a user needs.
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
    },
  });
}

/** The file's text: two-space JSON with a final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
