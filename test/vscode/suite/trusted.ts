import { runSuite } from './index';

export function run(): Promise<void> {
  return runSuite(() => {
    require('./trusted.test');
    require('./configSchema.test');
  });
}
