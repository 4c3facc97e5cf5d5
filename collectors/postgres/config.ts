/** The config collector this folder needs (a collectors directory has exactly one `config: true` collector). */
import { register } from 'analytics-collect';

export const config = register(
  { key: 'config', version: '1.0', config: true, description: 'what product and version produced this data' },
  async () => ({ product: 'postgres-events-example', version: '1.0.0' }),
);
