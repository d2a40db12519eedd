import { runSuite } from './index';

export function run(): Promise<void> {
  // trusted.test ends by deactivating the extension: it comes last.
  return runSuite(() => {
    require('./dashboard.test');
    require('./taskView.test');
    require('./taskPage.test');
    require('./sourceLinks.test');
    require('./configSchema.test');
    require('./pause.test');
    require('./retries.test');
    require('./schedules.test');
    require('./flow.test');
    require('./trusted.test');
  });
}
