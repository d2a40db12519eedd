import { runSuite } from './index';

export function run(): Promise<void> {
  return runSuite(() => {
    // First: the trusted suite ends by deactivating the extension.
    require('./dashboard.test');
    require('./trusted.test');
  });
}
