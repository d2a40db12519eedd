/** Every command the extension contributes; package.json declares the same ids. */
export const CommandId = {
  runTask: 'taskman.runTask',
  debugTask: 'taskman.debugTask',
  debugRerun: 'taskman.debugRerun',
  abortTask: 'taskman.abortTask',
  showResult: 'taskman.showResult',
  showError: 'taskman.showError',
  showLogs: 'taskman.showLogs',
  rerunTask: 'taskman.rerunTask',
  copyTaskId: 'taskman.copyTaskId',
  deleteTask: 'taskman.deleteTask',
  purgeEnded: 'taskman.purgeEnded',
  refresh: 'taskman.refresh',
  filter: 'taskman.filter',
  startScheduler: 'taskman.startScheduler',
  stopScheduler: 'taskman.stopScheduler',
  configureDatabase: 'taskman.configureDatabase',
  setDatabasePassword: 'taskman.setDatabasePassword',
  useEmbeddedDatabase: 'taskman.useEmbeddedDatabase',
  openTask: 'taskman.openTask',
  loadMore: 'taskman.loadMore',
  search: 'taskman.search',
  groupBy: 'taskman.groupBy',
  rerunFailed: 'taskman.rerunFailed',
  openDashboard: 'taskman.openDashboard',
} as const;

export type CommandId = (typeof CommandId)[keyof typeof CommandId];
