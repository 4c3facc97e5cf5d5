/**
 * Writes schema/analytics.config.schema.json from the zod schema: `node --import tsx src/config/write-schema.ts`
 * (npm run schema). Run it after any change to src/config/schema.ts; the schema test checks they agree.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from './json-schema.js';

/** The committed schema file, two levels above this module (src/config/ or dist/config/). */
const SCHEMA_FILE = fileURLToPath(new URL('../../schema/analytics.config.schema.json', import.meta.url));

writeFileSync(SCHEMA_FILE, configJsonSchemaText());
process.stderr.write(`wrote ${SCHEMA_FILE}\n`);
