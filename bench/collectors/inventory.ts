/** Five JSON collectors of about 100 keys each. */
import { register, type CollectorFunction } from 'analytics-collect';

function inventory(n: number): CollectorFunction {
  return () => {
    const out: Record<string, unknown> = {};
    for (let k = 0; k < 100; k++) {
      const name = `setting_${n}_${String(k).padStart(3, '0')}`;
      out[name] = k % 4 === 0 ? k * n : k % 4 === 1 ? `value-${n}-${k}` : k % 4 === 2 ? k % 3 === 0 : { enabled: true, weight: k / 7 };
    }
    return out;
  };
}

export const inventory1 = register({ key: 'inventory_1', version: '1.0' }, inventory(1));
export const inventory2 = register({ key: 'inventory_2', version: '1.0' }, inventory(2));
export const inventory3 = register({ key: 'inventory_3', version: '1.0' }, inventory(3));
export const inventory4 = register({ key: 'inventory_4', version: '1.0' }, inventory(4));
export const inventory5 = register({ key: 'inventory_5', version: '1.0' }, inventory(5));
