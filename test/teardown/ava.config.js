// Config for the check that runs after the shared test cluster was stopped.
export default {
  files: ['test/teardown/*.check.ts'],
  extensions: { ts: 'module' },
  workerThreads: false,
};
