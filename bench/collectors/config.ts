import { register } from 'analytics-collect';

export const config = register({ key: 'config', version: '1.0', config: true }, () => ({
  product: 'analytics-collect-bench',
  version: '1.0.0',
  nodes: 3,
}));
